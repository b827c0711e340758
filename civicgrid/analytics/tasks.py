"""Background work of the analytics app, run by ``manage.py db_worker``.

``export_run_task`` writes one export. ``early_warning_task`` scans for early warnings and
re-enqueues itself ``EARLY_WARNING_SECONDS`` later (default 600) in a ``finally``, like the SLA
sweep; ``manage.py early_warning_scan`` runs one scan now and makes sure a chain is queued.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone
from django_tasks import default_task_backend, task

from civicgrid.core.conf import options
from civicgrid.core.locks import serialized
from civicgrid.ops.replica import replica_reads

from . import early_warning, exports

logger = logging.getLogger(__name__)


@task()
@replica_reads()
def export_run_task(export_id: int) -> str:
    return exports.run(export_id).state


def scan_interval() -> int:
    return options().EARLY_WARNING_SECONDS


@task()
def early_warning_task() -> int:
    try:
        return len(early_warning.scan())
    finally:
        schedule_next()


def _pending_scans() -> int:
    try:
        from django_tasks_db.models import DBTaskResult
    except ImportError:
        return 0
    from django_tasks import TaskResultStatus

    return DBTaskResult.objects.filter(
        status=TaskResultStatus.READY, task_path=early_warning_task.module_path
    ).count()


def schedule_next(delay: int | None = None) -> bool:
    """Queue the next scan unless one is waiting; False on backends that cannot defer."""
    if not default_task_backend.supports_defer:
        return False
    with serialized("early_warning_schedule"):  # two workers finishing together queue one chain
        if _pending_scans():
            return False
        run_after = timezone.now() + dt.timedelta(
            seconds=scan_interval() if delay is None else delay
        )
        early_warning_task.using(run_after=run_after).enqueue()
    return True
