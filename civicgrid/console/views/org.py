"""Working together: department tasks (compose, list, progress board) and the admission list
(propose, approve, refuse, retire). Every write goes through the cases services; the views
only read forms and show the DomainError next to the field it names."""

from __future__ import annotations

import json
import uuid

import shapely
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from civicgrid.cases import admission, taskboard
from civicgrid.cases.gridtasks import department_task_compose, grid_task_cancel
from civicgrid.cases.models import AdmissionState, GridTask
from civicgrid.core.errors import DomainError
from civicgrid.people.access import principal_of
from civicgrid.people.models import Department
from civicgrid.territory.models import Grid

COMPOSE_FIELDS = ("department", "item", "title", "deadline", "instructions", "area", "client_id")


def _dept_grids(principal, department: Department):
    if principal.is_superuser:
        q = Q(code__startswith=department.area.prefix)
    else:
        q = Q(pk__in=[])
        for d, p in principal.handler_pairs:
            if d == department.pk:
                q |= Q(code__startswith=p)
    return Grid.objects.filter(q).select_related("area").order_by("code")


def _compose_context(request, values: dict, errors: dict, chosen: list[str]) -> dict:
    principal = principal_of(request)
    departments = admission.departments_for(principal)
    dept = next((d for d in departments if str(d.pk) == str(values.get("department"))), None)
    if dept is None and departments:
        dept = departments[0]
    items = list(admission.admitted_items().filter(department=dept)) if dept else []
    grids = list(_dept_grids(principal, dept)[: taskboard_max()]) if dept else []
    areas = sorted({g.area_id: g.area for g in grids}.values(), key=lambda a: a.code)
    features = []
    for g in grids:
        geom = g.geometry
        if geom is None:
            continue
        features.append(
            {
                "code": g.code,
                "name": g.name,
                "area": g.area.code,
                "geometry": json.loads(shapely.to_geojson(shapely.simplify(geom, 0.00005))),
            }
        )
    return {
        "values": values,
        "errors": errors,
        "departments": departments,
        "department": dept,
        "items": items,
        "grids": grids,
        "areas": areas,
        "chosen": set(chosen),
        "map_config": {
            "grids": features,
            "tile_url": settings.MAP_TILE_URL,
            "tile_attribution": settings.MAP_TILE_ATTRIBUTION,
        },
    }


def taskboard_max() -> int:
    from civicgrid.cases.gridtasks import MAX_GRIDS

    return MAX_GRIDS


@login_required
@require_http_methods(["GET", "POST"])
def task_compose(request):
    principal = principal_of(request)
    if not admission.departments_for(principal):
        raise Http404("task")
    if request.method == "GET":
        values = {"client_id": str(uuid.uuid4()), "department": request.GET.get("department")}
        return render(
            request, "console/tasks/compose.html", _compose_context(request, values, {}, [])
        )
    post = request.POST
    values = {k: (post.get(k) or "").strip() for k in COMPOSE_FIELDS}
    chosen = [c for c in post.getlist("grids") if c]
    errors: dict[str, str] = {}
    dept = next(
        (d for d in admission.departments_for(principal) if str(d.pk) == values["department"]),
        None,
    )
    if dept is None:
        errors["department"] = _("Choose your department.")
    else:
        try:
            order = department_task_compose(
                actor=request.user,
                department=dept,
                item=values["item"],
                grids=chosen,
                title=values["title"],
                deadline=values["deadline"] or None,
                instructions=values["instructions"],
                attachments=request.FILES.getlist("attachments"),
                client_id=values["client_id"],
            )
        except DomainError as exc:
            errors[exc.field or "all"] = exc.message
        else:
            messages.success(
                request,
                _("Task pushed down to %(n)s grids.") % {"n": order.grid_tasks.count()},
            )
            return redirect("console:task_board", pk=order.pk)
    return render(
        request,
        "console/tasks/compose.html",
        _compose_context(request, values, errors, chosen),
        status=400,
    )


@login_required
def task_list(request):
    principal = principal_of(request)
    qs = taskboard.orders_for(principal)
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    summaries = taskboard.order_summaries(list(page.object_list), principal)
    rows = [{"order": o, "counts": summaries.get(o.pk, {})} for o in page]
    return render(
        request,
        "console/tasks/list.html",
        {
            "page": page,
            "rows": rows,
            "can_compose": bool(admission.departments_for(principal)),
            "now": timezone.now(),
        },
    )


@login_required
def task_board(request, pk: int):
    principal = principal_of(request)
    order = taskboard.order_get_for(principal, pk)
    board = taskboard.board_for(principal, order)
    status = request.GET.get("status") or ""
    rows = [r for r in board.rows if not status or r["status"] == status]
    return render(
        request,
        "console/tasks/board.html",
        {
            "order": order,
            "board": board,
            "rows": rows,
            "status": status,
            "statuses": list(taskboard.STATUS_LABELS.items()),
            "can_cancel": taskboard.can_send(principal, order),
            "attachments": list(order.attachments.all()),
        },
    )


@login_required
@require_POST
def task_cancel(request, pk: int, task_pk: int):
    principal = principal_of(request)
    order = taskboard.order_get_for(principal, pk)
    task = (
        GridTask.objects.filter(order=order, pk=task_pk)
        .filter(taskboard.grid_task_scope_q(principal))
        .first()
    )
    if task is None:
        raise Http404("task")
    try:
        grid_task_cancel(task=task, actor=request.user, reason=request.POST.get("reason", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The grid's task is cancelled."))
    return redirect("console:task_board", pk=order.pk)


# --- admission list ---------------------------------------------------------------------------

PROPOSE_FIELDS = ("department", "name", "item_class", "legal_basis", "why_grid", "workload")


@login_required
@require_http_methods(["GET", "POST"])
def admission_list(request):
    principal = principal_of(request)
    departments = admission.departments_for(principal)
    qs = admission.items_for(principal)
    state = request.GET.get("state") or ""
    if state in AdmissionState.values:
        qs = qs.filter(state=state)
    values: dict = {}
    errors: dict = {}
    status = 200
    if request.method == "POST":
        values = {k: (request.POST.get(k) or "").strip() for k in PROPOSE_FIELDS}
        dept = next((d for d in departments if str(d.pk) == values["department"]), None)
        if dept is None:
            errors["department"] = _("Choose your department.")
            status = 400
        else:
            try:
                item = admission.admission_propose(
                    actor=request.user,
                    department=dept,
                    name=values["name"],
                    legal_basis=values["legal_basis"],
                    why_grid=values["why_grid"],
                    workload=values["workload"],
                    item_class=values["item_class"],
                )
            except DomainError as exc:
                errors[exc.field or "all"] = exc.message
                status = 400
            else:
                messages.success(
                    request, _("%(i)s is proposed for the admission list.") % {"i": item.name}
                )
                return redirect("console:admission")
    page = Paginator(qs.order_by("department__code", "code"), 50).get_page(request.GET.get("page"))
    rows = []
    for item in page:
        rows.append({"item": item, "actions": admission.ADMISSION.allowed(request.user, item)})
    return render(
        request,
        "console/admission.html",
        {
            "page": page,
            "rows": rows,
            "state": state,
            "states": AdmissionState.choices,
            "departments": departments,
            "values": values,
            "errors": errors,
            "pending": qs.filter(state=AdmissionState.PROPOSED).count() if not state else None,
        },
        status=status,
    )


@login_required
def admission_detail(request, pk: int):
    principal = principal_of(request)
    item = admission.item_get_for(principal, pk)
    return render(
        request,
        "console/admission_detail.html",
        {
            "item": item,
            "log": list(item.actions.select_related("actor")),
            "actions": [
                admission.ADMISSION.actions[a]
                for a in admission.ADMISSION.allowed(request.user, item)
            ],
        },
    )


@login_required
@require_POST
def admission_act(request, pk: int, action: str):
    principal = principal_of(request)
    item = admission.item_get_for(principal, pk)
    try:
        admission.admission_act(
            item=item,
            action=action,
            actor=request.user,
            reason=request.POST.get("reason", ""),
            expected_version=request.POST.get("version") or None,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("%(i)s: %(s)s.") % {"i": item.name, "s": item.get_state_display()},
        )
    return redirect(reverse("console:admission_detail", args=[item.pk]))
