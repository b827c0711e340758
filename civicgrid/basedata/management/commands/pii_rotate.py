"""Re-encrypt ID numbers and phones under the active key (PII_ACTIVE_KEY), resumably."""

from django.core.management.base import BaseCommand

from civicgrid.basedata import crypto, rotation


class Command(BaseCommand):
    help = "Re-encrypt persons' ID numbers and phones under the active personal-data key."

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=1000)
        parser.add_argument("--limit", type=int, default=None, help="stop after this many rows")

    def handle(self, *args, batch, limit, **options):
        active = crypto.keyring().active
        self.stdout.write(f"active key {active}: {rotation.remaining()} persons to re-encrypt")
        n = rotation.rotate(
            batch=batch,
            limit=limit,
            progress=lambda d: (
                self.stdout.write(f"  {d} done") if options["verbosity"] > 1 else None
            ),
        )
        left = rotation.remaining()
        self.stdout.write(f"re-encrypted {n}; {left} left" + ("" if left else " (complete)"))
