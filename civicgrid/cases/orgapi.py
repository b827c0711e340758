"""Working-together API, mounted at /api/org/: department tasks and the admission list.

Thin: reads through ``taskboard`` / ``admission`` selectors (scoped: out of scope answers
404), writes through ``gridtasks.department_task_compose`` and the admission workflow. The
firewall error (``not_admitted``) is the same here as in the console and the demo.
"""

import json

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status

from civicgrid.core.errors import DomainError, Forbidden
from civicgrid.core.files import file_url
from civicgrid.people.access import principal_of
from civicgrid.people.models import Department

from . import admission, taskboard
from .gridtasks import department_task_compose
from .models import DepartmentTask

router = Router()


class AdmissionProposeIn(Schema):
    department: int
    name: str
    legal_basis: str
    why_grid: str
    workload: str
    item_class: str = ""
    code: str = ""


class AdmissionActIn(Schema):
    reason: str = ""
    version: int | None = None


def _item(i) -> dict:
    return {
        "id": i.pk,
        "code": i.code,
        "name": i.name,
        "item_class": i.item_class,
        "department": {"id": i.department_id, "code": i.department.code, "name": i.department.name},
        "legal_basis": i.legal_basis,
        "why_grid": i.why_grid,
        "workload": i.workload,
        "state": i.state,
        "state_label": str(i.get_state_display()),
        "version": i.version,
        "decided_at": i.decided_at,
    }


@router.get("/admission/public", auth=None, summary="The current admission list (public)")
def admission_public(request: HttpRequest):
    return [_item(i) for i in admission.admitted_items()[:2000]]


@router.get("/admission", summary="Admission items I propose for or keep (every state)")
def admission_list(request: HttpRequest, state: str = ""):
    qs = admission.items_for(principal_of(request)).order_by("department__code", "code")
    if state:
        qs = qs.filter(state=state)
    return [_item(i) for i in qs[:2000]]


@router.post("/admission", response={201: dict}, summary="Propose an item (a department)")
def admission_propose(request: HttpRequest, payload: AdmissionProposeIn):
    dept = next(
        (d for d in admission.departments_for(principal_of(request)) if d.pk == payload.department),
        None,
    )
    if dept is None:
        raise Forbidden(_("Choose one of your departments."), code="invalid", field="department")
    item = admission.admission_propose(
        actor=request.user,
        department=dept,
        name=payload.name,
        legal_basis=payload.legal_basis,
        why_grid=payload.why_grid,
        workload=payload.workload,
        item_class=payload.item_class,
        code=payload.code,
    )
    return Status(201, _item(item))


@router.post("/admission/{item_id}/{action}", summary="Approve, refuse or retire an item")
def admission_act(request: HttpRequest, item_id: int, action: str, payload: AdmissionActIn):
    item = admission.item_get_for(principal_of(request), item_id)
    admission.admission_act(
        item=item,
        action=action,
        actor=request.user,
        reason=payload.reason,
        expected_version=payload.version,
    )
    item.refresh_from_db()
    return _item(item)


def _order(o, counts: dict | None = None) -> dict:
    return {
        "id": o.pk,
        "title": o.title,
        "department": {"id": o.department_id, "code": o.department.code, "name": o.department.name},
        "item": {"code": o.item.code, "name": o.item.name},
        "instructions": o.instructions,
        "deadline": o.deadline,
        "created_at": o.created_at,
        "counts": counts,
    }


@router.get("/tasks", summary="Department tasks in my scope, newest first, with progress")
def task_list(request: HttpRequest, limit: int = 50, offset: int = 0):
    principal = principal_of(request)
    limit = max(1, min(int(limit), 200))
    orders = list(taskboard.orders_for(principal)[max(0, offset) : max(0, offset) + limit])
    counts = taskboard.order_summaries(orders, principal)
    return [_order(o, counts.get(o.pk)) for o in orders]


@router.post(
    "/tasks",
    response={201: dict, 200: dict},
    summary="Compose a department task (JSON, or multipart with attachments; client_id retries)",
)
def task_compose(request: HttpRequest):
    """Fields: department (id), item (code), grids (codes; a list, or comma-separated in a form),
    title, deadline (ISO), instructions, client_id; files ``attachments`` (multipart)."""
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            raise DomainError("invalid", _("The body is not JSON."), field="body") from None
        if not isinstance(data, dict):
            raise DomainError("invalid", _("The body must be a JSON object."), field="body")
        grids = data.get("grids") or []
        files = []
    else:
        data = request.POST
        grids = [c for v in data.getlist("grids") for c in str(v).split(",") if c.strip()]
        files = request.FILES.getlist("attachments")
    if not isinstance(grids, list):
        raise DomainError("invalid", _("grids must be a list of grid codes."), field="grids")
    principal = principal_of(request)
    dept_id = str(data.get("department") or "")
    dept = next((d for d in admission.departments_for(principal) if str(d.pk) == dept_id), None)
    if dept is None:
        if not Department.objects.filter(pk=dept_id if dept_id.isdigit() else 0).exists():
            raise DomainError("required", _("department is required."), field="department")
        raise Forbidden(
            _("Only a handler of the department may push tasks down to grids."),
            code="permission_denied",
            field="department",
        )
    client_id = str(data.get("client_id") or "")
    existed = bool(client_id) and DepartmentTask.objects.filter(client_id=client_id).exists()
    order = department_task_compose(
        actor=request.user,
        department=dept,
        item=str(data.get("item") or ""),
        grids=[str(g) for g in grids],
        title=str(data.get("title") or ""),
        deadline=data.get("deadline") or None,
        instructions=str(data.get("instructions") or ""),
        attachments=files,
        client_id=client_id or None,
    )
    counts = taskboard.order_summaries([order], principal).get(order.pk)
    return Status(200 if existed else 201, _order(order, counts))


@router.get("/tasks/{order_id}", summary="A department task's progress board (per grid)")
def task_board(request: HttpRequest, order_id: int):
    principal = principal_of(request)
    order = taskboard.order_get_for(principal, order_id)
    board = taskboard.board_for(principal, order)
    out = _order(order, board.counts)
    out["attachments"] = [file_url(a) for a in order.attachments.all()]
    out["grids"] = [
        {
            "grid": r["grid"].code,
            "grid_name": r["grid"].name,
            "task_id": r["task"].pk,
            "worker": r["worker"].display_name if r["worker"] else None,
            "status": r["status"],
            "completed_at": r["task"].completed_at,
            "late": r["late"],
            "result": r["task"].result,
        }
        for r in board.rows
    ]
    return out
