"""Notify overdue visits now and make sure the periodic chain is queued."""

from django.utils.translation import gettext_lazy

from civicgrid.basedata.tasks import schedule_next, visit_sweep
from civicgrid.core.management.base import TranslatedCommand


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Notify grid workers and chiefs of overdue visits now and queue the periodic sweep."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-schedule",
            action="store_true",
            help=gettext_lazy("Only sweep; do not queue the chain."),
        )

    def handle(self, *args, **opts):
        counts = visit_sweep()
        queued = False if opts["no_schedule"] else schedule_next(delay=0)
        self.stdout.write(
            f"visit_sweep: {counts['tags']} overdue visits, {counts['notices']} notices; "
            f"periodic sweep {'queued' if queued else 'already queued or not deferrable'}"
        )
