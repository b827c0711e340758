"""Grid tasks (下派任务) on the workflow engine: their own action table and log.

A department's handler pushes an item of its admission list (准入清单) down to a grid's
worker (``create``); the worker completes it with a result and evidence (``complete``); the
handler may cancel an open task (``cancel``). The admission list is the firewall: an item not
on the department's list cannot be pushed down.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicgrid.core.errors import DomainError, Forbidden, NotFound
from civicgrid.core.workflow import Action, Input, Step, Workflow
from civicgrid.people.models import Department, GridMember, Role, RoleAssignment, User
from civicgrid.territory.models import Grid

from .models import AdmissionItem, GridTask, GridTaskAction, GridTaskState

T = GridTaskState
ASSIGNEE, HANDLER = "assignee", "handler"
LABELS = {ASSIGNEE: gettext_lazy("Assigned worker"), HANDLER: gettext_lazy("Handler")}


def _is_handler(user, department_id: int, code: str) -> bool:
    if user.is_superuser:
        return True
    return any(
        code.startswith(ra.area.prefix)
        for ra in RoleAssignment.objects.filter(
            user=user, role=Role.HANDLER, department_id=department_id
        ).select_related("area")
    )


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
    """Push an admitted item to a grid's worker. Refused (``not_admitted``) off the list.

    The actor must be a handler of ``department`` whose scope covers the grid.
    """
    if not _is_handler(actor, department.pk, grid.code):
        raise Forbidden(
            _("Only a handler of %(d)s serving this grid may push tasks to it.")
            % {"d": department.name},
            code="permission_denied",
            field="department",
        )
    code = item.code if isinstance(item, AdmissionItem) else str(item)
    admitted = AdmissionItem.objects.filter(
        department=department, code=code, is_active=True
    ).first()
    if admitted is None or (
        isinstance(item, AdmissionItem) and item.department_id != department.pk
    ):
        name = item.name if isinstance(item, AdmissionItem) else code
        raise DomainError(
            "not_admitted",
            _(
                "“%(item)s” is not on the admission list of %(d)s, so it cannot be pushed down "
                "to grid workers."
            )
            % {"item": name, "d": department.name},
            field="item",
            details={"item": code, "department": department.code},
        )
    title = (title or "").strip()
    if not title:
        raise DomainError("required", _("title is required."), field="title")
    from .handlers import as_datetime, notify

    deadline = as_datetime(deadline, "deadline")
    if deadline <= timezone.now():
        raise DomainError("invalid", _("deadline must be in the future."), field="deadline")
    if worker is None:
        member = (
            GridMember.objects.filter(grid=grid, user__is_active=True)
            .order_by("-is_leader", "pk")
            .select_related("user")
            .first()
        )
        if member is None:
            raise DomainError(
                "no_worker", _("Grid %(g)s has no worker.") % {"g": grid.name}, field="worker"
            )
        worker = member.user
    elif not GridMember.objects.filter(grid=grid, user=worker).exists():
        raise DomainError(
            "worker_out_of_scope",
            _("%(w)s is not a member of grid %(g)s.") % {"w": worker, "g": grid.name},
            field="worker",
        )
    task = GridTask(
        department=department,
        item=admitted,
        grid=grid,
        scope_code=grid.code,
        worker=worker,
        title=title[:200],
        description=description or "",
        deadline=deadline,
        created_by=actor,
    )
    step = Step(
        obj=task,
        actor=actor,
        role=HANDLER,
        inputs={},
        now=timezone.now(),
        transition=GRID_TASKS.creation(),
        workflow=GRID_TASKS,
        data={"item": admitted.code, "worker": worker.pk},
    )
    step.effects.append(
        lambda: notify(
            users=[worker],
            kind="grid_task",
            title=_("New task: %(t)s") % {"t": task.title},
            body=f"{department.name} · {admitted.name}",
        )
    )
    GRID_TASKS.create(step)
    return task


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
