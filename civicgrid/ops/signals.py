"""Carry the enqueuing request's id into the task's log lines."""

from __future__ import annotations

import logging
import threading

from django.core.signals import request_finished
from django.dispatch import receiver
from django_tasks.signals import task_enqueued, task_finished, task_started

from .context import request_id_var

logger = logging.getLogger(__name__)
_tokens = threading.local()


def _is_db_backend(sender) -> bool:
    from django_tasks_db.backend import DatabaseBackend

    return isinstance(sender, type) and issubclass(sender, DatabaseBackend)


@receiver(task_enqueued, dispatch_uid="civicgrid.ops.task_enqueued")
def remember_origin(sender, task_result, **kwargs):
    rid = request_id_var.get()
    if not rid or not _is_db_backend(sender):
        return
    from .models import TaskOrigin

    try:
        TaskOrigin.objects.create(task_id=task_result.id, request_id=rid)
    except Exception:  # tracing must never make an enqueue fail
        logger.warning("could not record the origin of task %s", task_result.id, exc_info=True)


@receiver(task_started, dispatch_uid="civicgrid.ops.task_started")
def adopt_origin(sender, task_result, **kwargs):
    rid = ""
    if _is_db_backend(sender):
        from .models import TaskOrigin

        rid = (
            TaskOrigin.objects.filter(task_id=task_result.id)
            .values_list("request_id", flat=True)
            .first()
            or ""
        )
    if not rid:
        rid = request_id_var.get() or f"task-{task_result.id}"
    stack = getattr(_tokens, "stack", None) or []
    stack.append(request_id_var.set(rid))
    _tokens.stack = stack


@receiver(task_finished, dispatch_uid="civicgrid.ops.task_finished")
def restore_request_id(sender, task_result, **kwargs):
    """Failures are counted from the database at scrape time (civicgrid_task_failures_last_hour)."""
    stack = getattr(_tokens, "stack", None)
    if stack:
        request_id_var.reset(stack.pop())


@receiver(request_finished, dispatch_uid="civicgrid.ops.request_finished")
def clear_request_id(sender, **kwargs):
    request_id_var.set("")
