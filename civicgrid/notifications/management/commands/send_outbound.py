"""Send outbound messages still queued (e.g. enqueued while the worker was down)."""

from django.core.management.base import BaseCommand

from civicgrid.notifications.services import outbound_deliver


class Command(BaseCommand):
    help = "Hand queued SMS to the configured sender; --retry-failed also retries failed ones."

    def add_arguments(self, parser):
        parser.add_argument("--retry-failed", action="store_true")

    def handle(self, *args, **options):
        counts = outbound_deliver(retry_failed=options["retry_failed"])
        self.stdout.write(f"sent {counts['sent']}, failed {counts['failed']}")
