"""Walk the audit chain and report the first broken row (exit status 1 when broken)."""

from django.core.management.base import CommandError
from django.utils.translation import gettext_lazy

from civicgrid.audit import services
from civicgrid.core.management.base import TranslatedCommand


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Verify the SM3 hash chain of the audit trail; report the first broken row."
    )

    def handle(self, *args, **options):
        checked, broken = services.verify()
        if broken is not None:
            raise CommandError(
                f"audit chain BROKEN at {broken} ({checked} rows verified before it)"
            )
        self.stdout.write(f"audit chain intact: {checked} rows verified")
