"""Walk the audit chain and report the first broken row (exit status 1 when broken)."""

from django.core.management.base import BaseCommand, CommandError

from civicgrid.audit import services


class Command(BaseCommand):
    help = "Verify the SM3 hash chain of the audit trail; report the first broken row."

    def handle(self, *args, **options):
        checked, broken = services.verify()
        if broken is not None:
            raise CommandError(
                f"audit chain BROKEN at {broken} ({checked} rows verified before it)"
            )
        self.stdout.write(f"audit chain intact: {checked} rows verified")
