"""Give back the tasks of a worker that died mid-task (kill -9, power loss): run them again.

django-tasks' db_worker marks a claimed task RUNNING and only a finished run changes that, so a
worker killed in the middle leaves the task RUNNING for ever. ``manage.py worker`` calls
``reclaim_orphans`` at start, under an advisory lock: a RUNNING task is orphaned when it was claimed
by this very worker id (it is starting, so it runs nothing) or by a worker whose heartbeat is older
than WORKER_HEARTBEAT_MAX_AGE or gone. Orphans go back to READY. An export whose task is reclaimed
goes back from ``running`` to ``queued`` so the new run writes it from the start; its file is only
attached when complete, so nothing half-written is ever served. A base-data import job goes back
to ``queued`` the same way: its rows and its ``done`` state are committed in one transaction, so a
job still ``running`` wrote nothing, and the new run imports the file from the start.
"""

from __future__ import annotations

import logging

from django.utils import timezone

from civicgrid.core.conf import options
from civicgrid.core.locks import serialized

logger = logging.getLogger(__name__)
EXPORT_TASK = "civicgrid.analytics.tasks.export_run_task"
IMPORT_TASK = "civicgrid.basedata.tasks.import_run_task"


def reclaim_orphans(worker_id: str) -> int:
    from django_tasks_db.models import DBTaskResult

    from .models import WorkerHeartbeat

    cutoff = timezone.now() - timezone.timedelta(seconds=options().WORKER_HEARTBEAT_MAX_AGE)
    with serialized("task_reclaim"):
        alive = set(
            WorkerHeartbeat.objects.filter(seen_at__gte=cutoff)
            .exclude(worker_id=worker_id)
            .values_list("worker_id", flat=True)
        )
        orphans = [
            r
            for r in DBTaskResult.objects.select_for_update(skip_locked=True).filter(
                status="RUNNING"
            )
            if not r.worker_ids or r.worker_ids[-1] not in alive
        ]
        for r in orphans:
            logger.warning(
                "re-queueing task %s (%s) left running by worker %s",
                r.id,
                r.task_path,
                (r.worker_ids or ["?"])[-1],
            )
            DBTaskResult.objects.filter(pk=r.pk, status="RUNNING").update(
                status="READY", started_at=None
            )
            requeue = REQUEUE.get(r.task_path)
            if requeue is not None:
                requeue(r.args_kwargs.get("args") or [])
    return len(orphans)


def _requeue_export(args: list) -> None:
    from civicgrid.analytics.models import Export, ExportState

    if args:
        Export.objects.filter(pk=args[0], state=ExportState.RUNNING).update(
            state=ExportState.QUEUED, done=0, started_at=None
        )


def _requeue_import(args: list) -> None:
    from civicgrid.basedata import importjobs

    if args:
        importjobs.requeue(args[0])


# Task path → what puts the task's own record back to "queued" when the task is reclaimed.
REQUEUE = {EXPORT_TASK: _requeue_export, IMPORT_TASK: _requeue_import}
