"""The overdue-visit sweep, run by the django-tasks worker.

A tag whose ``next_visit_due`` has passed notifies the grid's workers (the grid team without the
police members) and the grid chiefs over it, once per tag and due date: a ``VisitNotice`` row
(unique on tag + due date) is written before the notice, so a second sweep, or two workers
sweeping at once, never notify twice. A visit moves the due date; if that one passes too, a new
notice follows. Each recipient gets one summary per grid and sweep, not one per tag.

``visit_sweep_task`` re-enqueues itself ``INTERVAL`` seconds later; ``manage.py visit_sweep``
runs one sweep now and queues the chain (the ``worker`` command calls it at start).

``import_run_task`` runs one large Excel import (``importjobs``).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import default_task_backend, task

from civicgrid.core.locks import serialized
from civicgrid.notifications.services import notify
from civicgrid.people.access import codes_over
from civicgrid.people.models import GridMember, Role, RoleAssignment, User

from .models import PersonTag, VisitNotice

logger = logging.getLogger(__name__)
BATCH = 500
INTERVAL = 3600
KIND = "visit_overdue"
POLICE = ("police", "aux_police")


def recipients(grid_code: str) -> tuple[list[User], list[User]]:
    """(the grid's workers, the grid chiefs over it): active users, two queries."""
    workers = list(
        User.objects.filter(
            pk__in=GridMember.objects.filter(grid__code=grid_code)
            .exclude(worker_type__in=POLICE)
            .values("user_id"),
            is_active=True,
        ).order_by("pk")
    )
    chiefs = list(
        User.objects.filter(
            pk__in=RoleAssignment.objects.filter(
                role=Role.GRID_CHIEF, area__code__in=codes_over(grid_code)
            ).values("user_id"),
            is_active=True,
        ).order_by("pk")
    )
    return workers, chiefs


def _pending(today: dt.date):
    noticed = VisitNotice.objects.filter(tag=OuterRef("pk"), due=OuterRef("next_visit_due"))
    return (
        PersonTag.objects.filter(next_visit_due__lt=today)
        .exclude(Exists(noticed))
        .select_related("person", "kind")
        .order_by("scope_code", "next_visit_due", "pk")
    )


def _claim(tag: PersonTag) -> bool:
    """Write the notice row for this tag and due date; False when it already exists."""
    try:
        with transaction.atomic():
            VisitNotice.objects.create(tag=tag, due=tag.next_visit_due)
        return True
    except IntegrityError:
        return False


def visit_sweep(now: dt.datetime | None = None) -> dict[str, int]:
    """Notify overdue visits up to ``now``; returns counts (tags noticed, notices sent)."""
    today = timezone.localdate(now or timezone.now())
    counts = {"tags": 0, "notices": 0}
    while True:
        batch = list(_pending(today)[:BATCH])
        if not batch:
            break
        by_grid: dict[str, list[PersonTag]] = {}
        for tag in batch:
            if _claim(tag):
                by_grid.setdefault(tag.scope_code, []).append(tag)
        for code, tags in by_grid.items():
            counts["tags"] += len(tags)
            workers, chiefs = recipients(code)
            lines = [
                _("%(name)s (%(tag)s), due %(due)s")
                % {"name": t.person.name, "tag": t.kind.name, "due": t.next_visit_due.isoformat()}
                for t in tags[:20]
            ]
            if len(tags) > 20:
                lines.append(_("… and %(n)d more") % {"n": len(tags) - 20})
            title = _("%(n)d visits overdue in grid %(g)s") % {"n": len(tags), "g": code}
            body = "\n".join(lines)
            sent = notify(
                users=workers,
                kind=KIND,
                title=title,
                body=body,
                url=reverse("basedata_field:visits"),
            )
            sent += notify(
                users=[u for u in chiefs if u not in workers],
                kind=KIND,
                title=title,
                body=body,
                url=reverse("basedata:tags") + f"?area={code}&overdue=1",
            )
            counts["notices"] += len(sent)
            VisitNotice.objects.filter(tag__in=tags, due__lt=today).filter(recipients=0).update(
                recipients=len(sent)
            )
    return counts


@task()
def visit_sweep_task() -> dict[str, int]:
    try:
        return visit_sweep()
    finally:
        schedule_next()


def _pending_sweeps() -> int:
    try:
        from django_tasks_db.models import DBTaskResult
    except ImportError:
        return 0
    from django_tasks import TaskResultStatus

    return DBTaskResult.objects.filter(
        status=TaskResultStatus.READY, task_path=visit_sweep_task.module_path
    ).count()


def schedule_next(delay: int | None = None) -> bool:
    """Queue the next sweep unless one is waiting; False on backends that cannot defer."""
    if not default_task_backend.supports_defer:
        return False
    with serialized("visit_sweep_schedule"):
        if _pending_sweeps():
            return False
        run_after = timezone.now() + dt.timedelta(seconds=INTERVAL if delay is None else delay)
        visit_sweep_task.using(run_after=run_after).enqueue()
    return True


@task()
def import_run_task(job_id: int) -> str:
    from . import importjobs

    job = importjobs.run(job_id)
    return job.state if job is not None else "gone"
