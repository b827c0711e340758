"""Background work of the party app, run by ``manage.py db_worker``.

``liaison_remind_task`` sends the month-end 包联 reminders and re-enqueues itself
``REMIND_INTERVAL`` seconds later in a ``finally`` (like the early-warning scan);
``manage.py liaison_remind`` runs one pass now and makes sure a chain is queued. Each reminder
is sent once per assignment, grid and month, so extra passes cost nothing.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django_tasks import default_task_backend, task

from civicgrid.core.locks import serialized

from . import services

REMIND_INTERVAL = 6 * 3600


@task()
def liaison_remind_task() -> int:
    try:
        return services.liaison_remind()
    finally:
        schedule_next()


def _pending() -> int:
    try:
        from django_tasks_db.models import DBTaskResult
    except ImportError:
        return 0
    from django_tasks import TaskResultStatus

    return DBTaskResult.objects.filter(
        status=TaskResultStatus.READY, task_path=liaison_remind_task.module_path
    ).count()


def schedule_next(delay: int | None = None) -> bool:
    """Queue the next pass unless one is waiting; False on backends that cannot defer."""
    if not default_task_backend.supports_defer:
        return False
    with serialized("liaison_remind_schedule"):
        if _pending():
            return False
        run_after = timezone.now() + dt.timedelta(
            seconds=REMIND_INTERVAL if delay is None else delay
        )
        liaison_remind_task.using(run_after=run_after).enqueue()
    return True
