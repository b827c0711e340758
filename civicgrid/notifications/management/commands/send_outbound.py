"""Send outbound messages still queued (e.g. enqueued while the worker was down)."""

from django.utils.translation import gettext_lazy

from civicgrid.core.management.base import TranslatedCommand
from civicgrid.notifications.services import outbound_deliver


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Hand queued SMS to the configured sender; --retry-failed also retries failed ones."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--retry-failed",
            action="store_true",
            help=gettext_lazy("Also retry messages whose sending failed."),
        )

    def handle(self, *args, **options):
        counts = outbound_deliver(retry_failed=options["retry_failed"])
        self.stdout.write(f"sent {counts['sent']}, failed {counts['failed']}")
