"""The dispute part of the SLA sweep: an open dispute past its deadline is supervised once.

``civicgrid.cases.tasks.sla_sweep`` calls ``dispute_sweep`` on every run. Going overdue is an
engine action (``supervise`` by the system), so it is version-checked and logged once: two
sweeps at once cannot both supervise one dispute.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.core.errors import DomainError

from .models import OPEN_STATES, Dispute
from .workflow import DISPUTES, SYSTEM

logger = logging.getLogger(__name__)
BATCH = 500


def dispute_sweep(now: dt.datetime | None = None) -> dict[str, int]:
    """Supervise the open disputes whose deadline passed before ``now``; returns counts."""
    now = now or timezone.now()
    counts = {"overdue": 0, "skipped": 0}
    failed: set[int] = set()
    while True:
        batch = list(
            Dispute.objects.filter(state__in=OPEN_STATES, due_at__lt=now, overdue=False)
            .exclude(pk__in=failed)
            .order_by("due_at")[:BATCH]
        )
        if not batch:
            break
        for d in batch:
            try:
                DISPUTES.act(
                    obj=d,
                    action="supervise",
                    actor=None,
                    role=SYSTEM,
                    extra_caps=[SYSTEM],
                    expected_version=d.version,
                    inputs={
                        "note": _("Automatic supervision: the deadline %(due)s has passed.")
                        % {"due": timezone.localtime(d.due_at).strftime("%Y-%m-%d %H:%M")}
                    },
                )
                counts["overdue"] += 1
            except DomainError as exc:  # changed meanwhile: the next sweep looks again
                logger.info("dispute sweep skipped %s: %s", d.pk, exc.code)
                failed.add(d.pk)
                counts["skipped"] += 1
    return counts
