"""Department tasks (下派任务) as their senders and supervisors see them: lists, the progress
board (per grid: pending, done, overdue) and the reminders the sweep sends before deadlines.

Who sees a department task: handlers of its department whose assignment covers one of its
grids, and operators, leaders, grid chiefs and administrators whose area covers one of them;
the board then lists only the grids inside the viewer's scope. Everyone else gets 404.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from civicgrid.core.errors import NotFound
from civicgrid.people.access import VIEW_ROLES, Principal

from .models import DepartmentTask, GridTask, GridTaskState

# A reminder goes to the worker of an open task once, this long before its deadline.
REMIND_BEFORE = dt.timedelta(hours=24)

OVERSEER_ROLES = [r for r in VIEW_ROLES if r != "grid_worker"]
PENDING, DONE, OVERDUE, CANCELLED = "pending", "done", "overdue", "cancelled"
STATUS_LABELS = {
    PENDING: pgettext_lazy("task", "Pending"),
    DONE: pgettext_lazy("task", "Done"),
    OVERDUE: pgettext_lazy("task", "Overdue"),
    CANCELLED: pgettext_lazy("task", "Cancelled"),
}


def grid_task_scope_q(principal: Principal, prefix: str = "") -> Q:
    """Grid tasks the principal oversees: their department's within each handler assignment,
    and any inside their operator/leader/chief/admin area."""
    if principal.is_superuser:
        return Q()
    q = principal.scope_q(f"{prefix}scope_code", OVERSEER_ROLES)
    for dept_id, pre in principal.handler_pairs:
        q |= Q(**{f"{prefix}department_id": dept_id, f"{prefix}scope_code__startswith": pre})
    return q


def orders_for(principal: Principal) -> QuerySet[DepartmentTask]:
    qs = DepartmentTask.objects.select_related("department", "item", "created_by")
    if not principal.is_authenticated:
        return qs.none()
    if principal.is_superuser:
        return qs
    inner = GridTask.objects.filter(order_id=OuterRef("pk")).filter(grid_task_scope_q(principal))
    return qs.filter(Exists(inner))


def order_get_for(principal: Principal, pk: int) -> DepartmentTask:
    order = orders_for(principal).filter(pk=pk).first()
    if order is None:
        raise NotFound(_("task"))
    return order


def can_send(principal: Principal, order: DepartmentTask) -> bool:
    """A handler of the task's department (may cancel its grids' tasks)."""
    return principal.is_superuser or any(
        d == order.department_id for d, _p in principal.handler_pairs
    )


def status_of(task: GridTask, now: dt.datetime) -> str:
    if task.state == GridTaskState.DONE:
        return DONE
    if task.state == GridTaskState.CANCELLED:
        return CANCELLED
    return OVERDUE if task.deadline <= now else PENDING


@dataclass
class Board:
    order: DepartmentTask
    rows: list[dict] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def done_pct(self) -> int:
        live = self.total - self.counts.get(CANCELLED, 0)
        return round(100 * self.counts.get(DONE, 0) / live) if live else 0


def board_for(principal: Principal, order: DepartmentTask, now=None) -> Board:
    """The progress board: one row per grid of the order inside the principal's scope."""
    now = now or timezone.now()
    tasks = (
        order.grid_tasks.filter(grid_task_scope_q(principal))
        .select_related("grid", "grid__area", "worker")
        .defer("grid__boundary", "grid__area__boundary")
        .order_by("grid__code")
    )
    board = Board(order=order, counts={PENDING: 0, DONE: 0, OVERDUE: 0, CANCELLED: 0})
    for t in tasks:
        st = status_of(t, now)
        board.counts[st] += 1
        board.rows.append(
            {
                "task": t,
                "grid": t.grid,
                "worker": t.worker,
                "status": st,
                "status_label": str(STATUS_LABELS[st]),
                "late": bool(t.completed_at and t.completed_at > t.deadline),
            }
        )
    return board


def order_summaries(orders: list[DepartmentTask], principal: Principal, now=None) -> dict:
    """{order id: {pending, done, overdue, cancelled}} for a page of orders: one query."""
    now = now or timezone.now()
    out = {o.pk: {PENDING: 0, DONE: 0, OVERDUE: 0, CANCELLED: 0} for o in orders}
    rows = (
        GridTask.objects.filter(order_id__in=list(out))
        .filter(grid_task_scope_q(principal))
        .values("order_id", "state")
        .annotate(
            n=Count("pk"),
            late=Count("pk", filter=Q(deadline__lte=now, state=GridTaskState.OPEN)),
        )
    )
    for r in rows:
        c = out[r["order_id"]]
        if r["state"] == GridTaskState.DONE:
            c[DONE] += r["n"]
        elif r["state"] == GridTaskState.CANCELLED:
            c[CANCELLED] += r["n"]
        else:
            c[OVERDUE] += r["late"]
            c[PENDING] += r["n"] - r["late"]
    return out


# --- reminders (run by the SLA sweep) ---------------------------------------------------------


def grid_task_remind(now: dt.datetime | None = None) -> int:
    """Remind the worker of each open task due within ``REMIND_BEFORE``, once per task.

    The claim (``reminded_at`` set where it was empty) comes first, so two sweeps at once send
    one notice. Returns the number of reminders sent.
    """
    from .handlers import notify

    now = now or timezone.now()
    due = list(
        GridTask.objects.filter(
            state=GridTaskState.OPEN,
            reminded_at__isnull=True,
            deadline__gt=now,
            deadline__lte=now + REMIND_BEFORE,
        )
        .select_related("worker", "department")
        .order_by("deadline")[:500]
    )
    sent = 0
    for t in due:
        if not GridTask.objects.filter(pk=t.pk, reminded_at__isnull=True).update(reminded_at=now):
            continue
        notify(
            users=[t.worker],
            kind="grid_task",
            title=_("Task due %(when)s: %(t)s")
            % {"when": timezone.localtime(t.deadline).strftime("%m-%d %H:%M"), "t": t.title},
            body=t.department.name,
        )
        sent += 1
    return sent
