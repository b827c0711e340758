"""Re-encrypt ID numbers and phones under the active key (PII_ACTIVE_KEY), resumably."""

from django.utils.translation import gettext_lazy

from civicgrid.basedata import crypto, rotation
from civicgrid.core.management.base import TranslatedCommand


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Re-encrypt persons' ID numbers and phones under the active personal-data key."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch", type=int, default=1000, help=gettext_lazy("Rows per transaction.")
        )
        parser.add_argument(
            "--limit", type=int, default=None, help=gettext_lazy("Stop after this many rows.")
        )

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
