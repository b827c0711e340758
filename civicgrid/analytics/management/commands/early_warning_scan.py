"""Run one early-warning scan now and make sure the periodic chain is queued for the worker."""

from django.utils.translation import gettext_lazy

from civicgrid.analytics import early_warning
from civicgrid.analytics.tasks import schedule_next
from civicgrid.core.management.base import TranslatedCommand


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Flag category × area counts far above their 28-day baseline today; notify once."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-schedule",
            action="store_true",
            help=gettext_lazy("Only scan; do not queue the chain."),
        )

    def handle(self, *args, **opts):
        rows = early_warning.scan()
        queued = False if opts["no_schedule"] else schedule_next(delay=0)
        for r in rows:
            self.stdout.write(
                f"  {r.area_code} {r.category.code} {r.category.name}: {r.count} today, "
                f"baseline {r.baseline:.2f}/day, p={r.p_value:.2g}, {r.notified} notified"
            )
        state = "queued" if queued else "already queued or not deferrable"
        self.stdout.write(f"early_warning_scan: {len(rows)} new warnings; periodic scan {state}")
