"""Grid tasks (下派任务) on the workflow engine: their own action table and log.

A department's handler pushes an item of its admission list (准入清单) down to a grid's
worker (``create``); the worker completes it with a result and evidence (``complete``); the
handler may cancel an open task (``cancel``). The admission list is the firewall: an item not
on the department's list cannot be pushed down.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicgrid.core.errors import DomainError, Forbidden, NotFound
from civicgrid.core.workflow import Action, Input, Step, Workflow
from civicgrid.people.access import Principal
from civicgrid.people.models import Department, GridMember, User, WorkerType
from civicgrid.territory.models import Grid

from .models import (
    AdmissionItem,
    AdmissionState,
    DepartmentTask,
    GridTask,
    GridTaskAction,
    GridTaskState,
)

T = GridTaskState
ASSIGNEE, HANDLER = "assignee", "handler"
LABELS = {ASSIGNEE: gettext_lazy("Assigned worker"), HANDLER: gettext_lazy("Handler")}


MAX_GRIDS = 500
# Police officers and volunteers are on the team but take no department tasks.
NOT_TASKED = (WorkerType.POLICE, WorkerType.AUX_POLICE, WorkerType.VOLUNTEER)


def _is_handler(user, department_id: int, code: str) -> bool:
    p = Principal.of(user)
    if p.is_superuser:
        return True
    return any(d == department_id and code.startswith(pre) for d, pre in p.handler_pairs)


def grid_task_capacities(user, task: GridTask) -> set[str]:
    """What ``user`` is for ``task``: its worker, or a handler of its department over its grid."""
    if user is None or not user.is_authenticated or not user.is_active:
        return set()
    caps = set()
    if task.worker_id == user.pk:
        caps.add(ASSIGNEE)
    if _is_handler(user, task.department_id, task.scope_code):
        caps.add(HANDLER)
    return caps


GRID_TASKS = Workflow(
    name="grid_task",
    model=GridTask,
    log_model=GridTaskAction,
    log_fk="task",
    capacities=grid_task_capacities,
    capacity_labels=LABELS,
    updated_field=None,
    noun=gettext_lazy("task"),
    state_label=lambda task, state: str(GridTaskState(state).label),
)
# fmt: off
GRID_TASKS.add(
    Action("create", (), T.OPEN, (HANDLER,), creation=True, endpoint="none",
           inputs=(Input("item", "select", True, gettext_lazy("Admitted item")),
                   Input("title", "text", True, gettext_lazy("Title"), max_length=200),
                   Input("deadline", "datetime", True, gettext_lazy("Deadline"))),
           label=gettext_lazy("Push down a task")),
    Action("complete", (T.OPEN,), T.DONE, (ASSIGNEE,), style="primary", endpoint="none",
           inputs=(Input("result", "textarea", True, gettext_lazy("Result")),
                   Input("attachments", "files", False, gettext_lazy("Photos (evidence)"))),
           field_app=True, label=gettext_lazy("Complete")),
    Action("cancel", (T.OPEN,), T.CANCELLED, (HANDLER,), style="danger", endpoint="none",
           inputs=(Input("reason", "textarea", True, gettext_lazy("Reason")),),
           label=gettext_lazy("Cancel")),
)
# fmt: on


@GRID_TASKS.handler("complete")
def plan_complete(step: Step) -> None:
    from .attachments import attachment_save, attachments_prepare

    result = (step.inputs.get("result") or "").strip()
    prepared = attachments_prepare(step.inputs["attachments"], field="attachments")
    step.note = result
    step.changes.update(result=result, completed_at=step.now)
    step.data["attachments"] = len(prepared)

    def save(row) -> None:
        for p in prepared:
            attachment_save(p, task=step.obj, uploaded_by=step.actor)

    step.after.append(save)


@GRID_TASKS.handler("cancel")
def plan_cancel(step: Step) -> None:
    step.note = (step.inputs.get("reason") or "").strip()


def admitted_item(department: Department, item: AdmissionItem | str) -> AdmissionItem:
    """The firewall (准入防火墙): ``item`` as an admitted item of ``department``'s list, or the
    ``not_admitted`` error naming the item and the list."""
    code = item.code if isinstance(item, AdmissionItem) else str(item or "").strip()
    admitted = AdmissionItem.objects.filter(department=department, code=code).first()
    if (
        admitted is None
        or admitted.state != AdmissionState.ADMITTED
        or (isinstance(item, AdmissionItem) and item.department_id != department.pk)
    ):
        name = (
            item.name if isinstance(item, AdmissionItem) else (admitted.name if admitted else code)
        )
        raise DomainError(
            "not_admitted",
            _(
                "“%(item)s” is not on the admission list of %(d)s, so it cannot be pushed down "
                "to grid workers."
            )
            % {"item": name, "d": department.name},
            field="item",
            details={
                "item": code,
                "department": department.code,
                "list": str(_("admission list of %(d)s") % {"d": department.name}),
                "state": admitted.state if admitted is not None else None,
            },
        )
    return admitted


def _grid_worker(grid: Grid) -> User | None:
    member = (
        GridMember.objects.filter(grid=grid, user__is_active=True)
        .exclude(worker_type__in=NOT_TASKED)
        .order_by("-is_leader", "pk")
        .select_related("user")
        .first()
    )
    return member.user if member else None


def department_task_compose(
    *,
    actor: User,
    department: Department,
    item: AdmissionItem | str,
    grids: list[Grid] | list[str],
    title: str,
    deadline,
    instructions: str = "",
    attachments: list | None = None,
    client_id: str | None = None,
    worker: User | None = None,
    now: dt.datetime | None = None,
) -> DepartmentTask:
    """Compose a department task (下派任务): an admitted item pushed to every chosen grid.

    The actor must be a handler of ``department`` whose assignment covers every grid; ``item``
    must be admitted on the department's list (else ``not_admitted``). Each grid's task goes to
    its team leader (else its first worker). A retry with the same ``client_id`` returns the
    task it created. ``now`` is the demo's clock (default: the real one).
    """
    principal = Principal.of(actor)
    if not principal.is_superuser and not any(
        d == department.pk for d, _p in principal.handler_pairs
    ):
        raise Forbidden(
            _("Only a handler of %(d)s may push tasks down to grids.") % {"d": department.name},
            code="permission_denied",
            field="department",
        )
    client_id = (str(client_id).strip() if client_id else "")[:64] or None
    if client_id:
        done = DepartmentTask.objects.filter(client_id=client_id).first()
        if done is not None:
            if done.created_by_id != actor.pk:
                raise DomainError(
                    "duplicate", _("This client id is already used."), field="client_id"
                )
            return done
    admitted = admitted_item(department, item)
    title = (title or "").strip()
    if not title:
        raise DomainError("required", _("title is required."), field="title")
    if len(title) > 200:
        raise DomainError("too_long", _("The title is longer than 200 characters."), field="title")
    from .handlers import as_datetime, notify

    now = now or timezone.now()
    deadline = as_datetime(deadline, "deadline")
    if deadline <= now:
        raise DomainError("invalid", _("deadline must be in the future."), field="deadline")
    grid_rows = _resolve_grids(principal, department, grids)
    targets = []
    empty = []
    for grid in grid_rows:
        w = worker if worker is not None else _grid_worker(grid)
        if w is None:
            empty.append(grid.name)
        targets.append((grid, w))
    if empty:
        raise DomainError(
            "no_worker",
            _("These grids have no worker to take the task: %(g)s.") % {"g": "、".join(empty)},
            field="grids",
            details={"grids": empty},
        )
    if (
        worker is not None
        and not GridMember.objects.filter(grid__in=grid_rows, user=worker).exists()
    ):
        raise DomainError(
            "worker_out_of_scope",
            _("%(w)s is not a member of grid %(g)s.") % {"w": worker, "g": grid_rows[0].name},
            field="worker",
        )
    from .attachments import attachment_save, attachments_prepare

    prepared = attachments_prepare(attachments or [], field="attachments")
    instructions = (instructions or "").strip()[:5000]
    order = DepartmentTask(
        department=department,
        item=admitted,
        title=title,
        instructions=instructions,
        deadline=deadline,
        client_id=client_id,
        created_by=actor,
        created_at=now,
    )
    try:
        with transaction.atomic():
            order.save(force_insert=True)
            for p in prepared:
                attachment_save(p, order=order, uploaded_by=actor)
            for grid, w in targets:
                _create_grid_task(order, grid, w, actor, now, notify)
    except IntegrityError:  # a concurrent retry with the same client id won
        done = DepartmentTask.objects.filter(client_id=client_id).first() if client_id else None
        if done is None:
            raise
        return done
    return order


def _resolve_grids(principal: Principal, department: Department, grids) -> list[Grid]:
    codes, rows = [], []
    for g in grids or []:
        if isinstance(g, Grid):
            rows.append(g)
        else:
            c = str(g or "").strip()
            if c:
                codes.append(c)
    if codes:
        found = {g.code: g for g in Grid.objects.filter(code__in=codes).defer("boundary")}
        missing = [c for c in codes if c not in found]
        if missing:
            raise DomainError(
                "unknown_grid",
                _("Unknown grid: %(c)s.") % {"c": ", ".join(missing[:10])},
                field="grids",
                details={"grids": missing[:50]},
            )
        rows += [found[c] for c in codes]
    seen: dict[int, Grid] = {}
    for g in rows:
        seen.setdefault(g.pk, g)
    rows = list(seen.values())
    if not rows:
        raise DomainError("required", _("Choose at least one grid."), field="grids")
    if len(rows) > MAX_GRIDS:
        raise DomainError(
            "too_many",
            _("At most %(n)s grids per task.") % {"n": MAX_GRIDS},
            field="grids",
        )
    if not principal.is_superuser:
        prefixes = [p for d, p in principal.handler_pairs if d == department.pk]
        outside = [g for g in rows if not any(g.code.startswith(p) for p in prefixes)]
        if outside:  # the same answer as an unknown grid: existence is not disclosed
            raise DomainError(
                "unknown_grid",
                _("Unknown grid: %(c)s.") % {"c": ", ".join(g.code for g in outside[:10])},
                field="grids",
                details={"grids": [g.code for g in outside[:50]]},
            )
    return rows


def _create_grid_task(order, grid, worker, actor, now, notify) -> GridTask:
    task = GridTask(
        order=order,
        department=order.department,
        item=order.item,
        grid=grid,
        scope_code=grid.code,
        worker=worker,
        title=order.title,
        description=order.instructions,
        deadline=order.deadline,
        created_by=actor,
    )
    step = Step(
        obj=task,
        actor=actor,
        role=HANDLER,
        inputs={},
        now=now,
        transition=GRID_TASKS.creation(),
        workflow=GRID_TASKS,
        data={"item": order.item.code, "worker": worker.pk, "order": order.pk},
    )
    step.effects.append(
        lambda: notify(
            users=[worker],
            kind="grid_task",
            title=_("New task: %(t)s") % {"t": task.title},
            body=f"{order.department.name} · {order.item.name}",
        )
    )
    GRID_TASKS.create(step)
    return task


def grid_task_create(
    *,
    actor: User,
    department: Department,
    item: AdmissionItem | str,
    grid: Grid,
    title: str,
    deadline: dt.datetime,
    description: str = "",
    worker: User | None = None,
) -> GridTask:
    """Push an admitted item to one grid: a department task with that one grid."""
    order = department_task_compose(
        actor=actor,
        department=department,
        item=item,
        grids=[grid],
        title=title,
        deadline=deadline,
        instructions=description,
        worker=worker,
    )
    return order.grid_tasks.get()


def grid_task_complete(
    *, task: GridTask, actor: User, result: str, attachments: list | None = None
) -> GridTask:
    """The assigned worker completes an open task with a result (and evidence)."""
    if task.worker_id != actor.pk:
        raise NotFound(_("task"))
    GRID_TASKS.act(
        obj=task,
        action="complete",
        actor=actor,
        inputs={"result": result, "attachments": list(attachments or [])},
    )
    return task


def grid_task_cancel(*, task: GridTask, actor: User, reason: str) -> GridTask:
    """A handler of the task's department cancels it while it is open."""
    GRID_TASKS.act(obj=task, action="cancel", actor=actor, inputs={"reason": reason})
    return task
