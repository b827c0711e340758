"""Send the month-end 包联 reminders now and make sure the periodic chain is queued."""

from django.utils.translation import gettext_lazy

from civicgrid.core.management.base import TranslatedCommand
from civicgrid.party import services
from civicgrid.party.tasks import schedule_next


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Remind cadres of assigned grids not yet visited this month (last days of the month)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-schedule",
            action="store_true",
            help=gettext_lazy("Only send; do not queue the chain."),
        )

    def handle(self, *args, **opts):
        sent = services.liaison_remind()
        queued = False if opts["no_schedule"] else schedule_next(delay=0)
        state = "queued" if queued else "already queued or not deferrable"
        self.stdout.write(f"liaison_remind: {sent} reminders sent; periodic pass {state}")
