"""The SLA sweep, run by the django-tasks worker.

``sla_sweep`` flags cases whose running clock passed its 80 % point (warning, 黄灯) or its
deadline (overdue, 红灯), then supervises whistle calls (吹哨报到) whose report-in is missing at
its deadline or came late (``whistles.whistle_sweep``). Going overdue is an engine action (an automatic ``supervise`` by the
system) so it is version-checked, logged, counted and notified exactly once per deadline: two
workers sweeping at once cannot both supervise one case.

Scheduling: ``sla_sweep_task`` re-enqueues itself ``SLA_SWEEP_SECONDS`` later (default 60) in a
``finally``, so a failing sweep does not end the chain. ``manage.py sla_sweep`` runs one sweep
immediately (catching up everything missed while no worker ran) and makes sure a chain is
queued; ``make run`` calls it before starting ``db_worker``. The sweep is idempotent, so a
duplicated chain wastes a query but never double-notifies.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import default_task_backend, task

from civicgrid.core.conf import options
from civicgrid.core.errors import DomainError
from civicgrid.core.locks import serialized

from .engine import SYSTEM, case_act
from .models import Case, SlaState, State

logger = logging.getLogger(__name__)
BATCH = 500


def sweep_interval() -> int:
    return options().SLA_SWEEP_SECONDS


def sla_sweep(now: dt.datetime | None = None) -> dict[str, int]:
    """Flag warnings and overdue cases up to ``now``; returns counts."""
    now = now or timezone.now()
    counts = {"overdue": 0, "warning": 0, "skipped": 0, "review": 0}
    failed: set[int] = set()
    while True:
        batch = list(
            Case.objects.overdue(now)
            .filter(sla_state__in=[SlaState.NORMAL, SlaState.WARNING])
            .exclude(pk__in=failed)
            .select_related("category")
            .order_by("sla_due_at")[:BATCH]
        )
        if not batch:
            break
        for case in batch:
            try:
                case_act(
                    case=case,
                    action="supervise",
                    actor=None,
                    role=SYSTEM,
                    _system=True,
                    note=_("Automatic supervision: the deadline %(due)s has passed.")
                    % {"due": timezone.localtime(case.sla_due_at).strftime("%Y-%m-%d %H:%M")},
                )
                counts["overdue"] += 1
            except DomainError as exc:  # changed meanwhile: the next sweep looks again
                logger.info("sla sweep skipped case %s: %s", case.pk, exc.code)
                failed.add(case.pk)
                counts["skipped"] += 1
    while True:
        batch = list(
            Case.objects.due_soon(now)
            .filter(sla_state=SlaState.NORMAL)
            .exclude(pk__in=failed)
            .select_related("category", "worker")
            .order_by("sla_warn_at")[:BATCH]
        )
        if not batch:
            break
        for case in batch:
            # The yellow light is a logged system event: versioned (pollers see it change) and
            # refused when the case moved meanwhile (a concurrent extension is not overwritten).
            try:
                case_act(
                    case=case,
                    action="warn",
                    actor=None,
                    role=SYSTEM,
                    _system=True,
                    expected_version=case.version,
                )
            except DomainError as exc:
                logger.info("sla sweep skipped warning %s: %s", case.pk, exc.code)
                failed.add(case.pk)
                counts["skipped"] += 1
                continue
            counts["warning"] += 1
    # 挂账复核: a suspended case whose review date has come shows yellow until someone acts.
    today = timezone.localdate(now)
    for case in Case.objects.filter(
        state=State.SUSPENDED, suspended_review_date__lte=today, sla_state=SlaState.NORMAL
    ).select_related("category")[:BATCH]:
        try:
            case_act(
                case=case,
                action="warn",
                actor=None,
                role=SYSTEM,
                _system=True,
                expected_version=case.version,
            )
        except DomainError:
            continue
        counts["review"] += 1
    counts.update(_dispute_sweep(now))
    # 吹哨报到: late or missing report-ins, supervised once per call (whistles.whistle_sweep).
    from .whistles import whistle_sweep

    counts.update(whistle_sweep(now))
    from .taskboard import grid_task_remind

    counts["task_reminders"] = grid_task_remind(now)
    return counts


def _dispute_sweep(now: dt.datetime) -> dict[str, int]:
    """The disputes' overdue supervision (civicgrid.mediation.sla), counted as ``dispute_*``."""
    from civicgrid.mediation.sla import dispute_sweep

    return {f"dispute_{k}": v for k, v in dispute_sweep(now).items()}


@task()
def sla_sweep_task() -> dict[str, int]:
    try:
        return sla_sweep()
    finally:
        schedule_next()


def _pending_sweeps() -> int:
    try:
        from django_tasks_db.models import DBTaskResult
    except ImportError:
        return 0
    from django_tasks import TaskResultStatus

    # Queued, due now or later; a RUNNING one (this very run, or one orphaned by a killed
    # worker) does not count.
    return DBTaskResult.objects.filter(
        status=TaskResultStatus.READY, task_path=sla_sweep_task.module_path
    ).count()


def schedule_next(delay: int | None = None) -> bool:
    """Queue the next sweep unless one is already waiting; False on backends that cannot
    defer (the immediate backend in tests would otherwise recurse)."""
    if not default_task_backend.supports_defer:
        return False
    with serialized("sla_sweep_schedule"):  # two workers finishing together queue one chain
        if _pending_sweeps():
            return False
        run_after = timezone.now() + dt.timedelta(
            seconds=sweep_interval() if delay is None else delay
        )
        sla_sweep_task.using(run_after=run_after).enqueue()
    return True
