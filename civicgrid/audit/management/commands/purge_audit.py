"""Delete audit rows older than the retention period, keeping the chain verifiable."""

import datetime as dt

from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.translation import gettext_lazy

from civicgrid.audit import services
from civicgrid.audit.context import Actor
from civicgrid.core.management.base import TranslatedCommand


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Delete audit events older than --days (at least the retention, AUDIT_RETENTION_DAYS, "
        "180 by default); refuses younger rows."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help=gettext_lazy("Age in days of the oldest row kept."),
        )

    def handle(self, *args, days=None, **options):
        days = services.retention_days() if days is None else days
        cutoff = timezone.now() - dt.timedelta(days=days)
        try:
            count = services.purge(
                before=cutoff, actor=Actor(user=None, label="manage.py purge_audit", ip="")
            )
        except services.RetentionError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"purged {count} audit rows created before {cutoff:%Y-%m-%d %H:%M}")
