"""Run one SLA sweep now (catch-up after downtime) and make sure the periodic chain is queued."""

from django.utils.translation import gettext_lazy

from civicgrid.cases.tasks import schedule_next, sla_sweep
from civicgrid.core.management.base import TranslatedCommand


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Flag SLA warnings/overdue cases now and queue the periodic sweep for the worker."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-schedule",
            action="store_true",
            help=gettext_lazy("Only sweep; do not queue the chain."),
        )

    def handle(self, *args, **opts):
        counts = sla_sweep()
        queued = False if opts["no_schedule"] else schedule_next(delay=0)
        self.stdout.write(
            f"sla_sweep: {counts['overdue']} overdue, {counts['warning']} warning, "
            f"{counts['skipped']} skipped; periodic sweep {'queued' if queued else 'already queued or not deferrable'}"
        )
