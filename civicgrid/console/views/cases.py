"""Case list (filters, sorts, keyset pages, bulk dispatch) and case detail with its actions.

Every write calls the matching ``civicgrid.cases.services`` function; the engine decides what is
allowed and its DomainError is shown under the field it names.
"""

from __future__ import annotations

import json
from typing import Any

import shapely
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from civicgrid.cases import engine, services
from civicgrid.cases.models import (
    Attachment,
    AttachmentKind,
    Case,
    ExtensionRequest,
    Flow,
    RequestState,
    Source,
    State,
    Supervision,
    SuspensionRequest,
)
from civicgrid.cases.selectors import case_duplicates_of, case_get_for, case_timeline
from civicgrid.core.errors import DomainError, NotFound
from civicgrid.people.access import principal_of
from civicgrid.people.models import Department
from civicgrid.security.urls import safe_next
from civicgrid.territory.selectors import grid_list_for

from .. import forms, queries
from ..services import REVEAL_CAPACITIES, reporter_phone_reveal
from .common import clean_choice
from .home import poll_seconds

BULK_MAX = 100

# --- list ----------------------------------------------------------------------------------------


def list_filters(request) -> tuple[dict[str, Any], dict[str, str]]:
    """Cleaned filters from the query string and the errors of those that made no sense."""
    g = request.GET
    f: dict[str, Any] = {}
    errors: dict[str, str] = {}
    f["state"] = clean_choice(g.get("state"), ["open", *State.values])
    f["source"] = clean_choice(g.get("source"), Source.values)
    f["flow"] = clean_choice(g.get("flow"), Flow.values)
    f["sla"] = clean_choice(g.get("sla"), queries.SLA_FILTERS)
    f["sort"] = clean_choice(g.get("sort"), queries.SORTS) or queries.DEFAULT_SORT
    f["category"] = (g.get("category") or "").strip()[:4]
    f["area"] = (g.get("area") or "").strip()[:12]
    f["q"] = (g.get("q") or "").strip()[:100]
    f["queue"] = (g.get("queue") or "").strip()[:30]
    f["scope"] = clean_choice(g.get("scope"), ("mine", "all"))
    f["supervised"] = "1" if g.get("supervised") == "1" else ""
    dept = (g.get("department") or "").strip()
    f["department"] = int(dept) if dept.isdigit() else None
    grid = (g.get("grid") or "").strip()[:50]
    f["grid_input"] = grid
    if grid and not grid.isdigit():
        # A grid name: the first grid in scope with that name (codes are prefixes).
        match = grid_list_for(principal_of(request), q=grid).first()
        if match is None:
            errors["grid"] = _("No grid in your scope is called “%(g)s”.") % {"g": grid}
            grid = ""
        else:
            grid = match.code
    f["grid"] = grid
    for name in ("date_from", "date_to"):
        raw = (g.get(name) or "").strip()
        f[name + "_input"] = raw
        try:
            value = parse_date(raw) if raw else None
        except ValueError:  # well formed but impossible, e.g. month 13
            value = None
        if raw and value is None:
            errors[name] = _("Enter a date as YYYY-MM-DD.")
        f[name] = value
    return f, errors


def _list_context(request) -> dict[str, Any]:
    f, errors = list_filters(request)
    page = None
    try:
        page = queries.case_page(
            principal_of(request),
            f,
            after=request.GET.get("after") or None,
            before=request.GET.get("before") or None,
        )
    except DomainError as exc:
        errors[exc.field or "all"] = exc.message
    now = timezone.now()
    rows = []
    if page is not None:
        for case in page.items:
            caps = engine.capacities(principal_of(request), case)
            rows.append(
                {
                    "case": case,
                    "can_dispatch": "dispatch"
                    in engine.allowed_actions(principal_of(request), case, caps),
                }
            )
    kinds = queries.home_kinds(principal_of(request))
    return {
        "f": f,
        "errors": errors,
        "page": page,
        "rows": rows,
        "now": now,
        "cap": queries.COUNT_CAP,
        "states": State.choices,
        "sources": Source.choices,
        "sorts": list(queries.SORTS.values()),
        "categories": queries.category_choices(),
        "areas": queries.area_choices(principal_of(request)),
        "departments": queries.department_choices_for(principal_of(request))
        if "operator" in kinds
        else [],
        "any_dispatchable": any(r["can_dispatch"] for r in rows),
    }


@login_required
@require_GET
def case_list(request):
    ctx = _list_context(request)
    if request.htmx and request.htmx.target == "case-results":
        return render(request, "console/cases/_results.html", ctx)
    return render(request, "console/cases/list.html", ctx)


@login_required
@require_POST
def bulk_dispatch(request):
    """Dispatch each selected case to one department; one result per case, none hidden."""
    ids = [int(x) for x in request.POST.getlist("ids") if x.isdigit()][:BULK_MAX]
    dept_raw = (request.POST.get("department") or "").strip()
    note = (request.POST.get("note") or "").strip()
    results = []
    error = ""
    if not ids:
        error = _("Select at least one case.")
    elif not dept_raw.isdigit() or not Department.objects.filter(pk=int(dept_raw)).exists():
        error = _("Choose a department.")
    else:
        dept = Department.objects.select_related("area").get(pk=int(dept_raw))
        for pk in ids:
            row = {"id": pk, "code": "", "ok": False, "message": ""}
            try:
                case = case_get_for(principal_of(request), pk)
                row["code"] = case.tracking_code
                services.case_dispatch(case=case, actor=request.user, department=dept, note=note)
                row.update(ok=True, message=_("Dispatched to %(d)s") % {"d": dept.name})
            except NotFound:
                row["message"] = _("Not found")
            except DomainError as exc:
                row["message"] = exc.message
            results.append(row)
    ctx = {
        "results": results,
        "error": error,
        "ok_count": sum(1 for r in results if r["ok"]),
        "fail_count": sum(1 for r in results if not r["ok"]),
    }
    if request.htmx:
        response = render(request, "console/cases/_bulk_result.html", ctx)
        if ctx["ok_count"]:
            response["HX-Trigger"] = "casesChanged"
        return response
    if error:
        messages.error(request, error)
    else:
        messages.info(
            request,
            _("Bulk dispatch: %(ok)s dispatched, %(bad)s refused.")
            % {"ok": ctx["ok_count"], "bad": ctx["fail_count"]},
        )
        for r in results:
            if not r["ok"]:
                messages.warning(request, f"{r['code'] or r['id']}: {r['message']}")
    return redirect(safe_next(request, reverse("console:case_list")))


# --- detail --------------------------------------------------------------------------------------


def _geojson(geom) -> dict | None:
    if geom is None:
        return None
    return json.loads(shapely.to_geojson(geom))


def _map_data(request, case: Case) -> dict:
    from django.conf import settings

    data: dict[str, Any] = {
        "point": [case.lat, case.lng] if case.lat is not None else None,
        "grid": None,
        "siblings": [],
        "tile_url": settings.MAP_TILE_URL,
        "tile_attribution": settings.MAP_TILE_ATTRIBUTION,
    }
    if case.grid_id:
        data["grid"] = {
            "code": case.grid.code,
            "name": case.grid.name,
            "geometry": _geojson(case.grid.geometry),
        }
    siblings = grid_list_for(principal_of(request)).filter(area_id=case.area_id)
    if case.grid_id:
        siblings = siblings.exclude(pk=case.grid_id)
    data["siblings"] = [
        {"code": g.code, "name": g.name, "geometry": _geojson(g.geometry)} for g in siblings[:60]
    ]
    data["area"] = {"name": case.area.name, "geometry": _geojson(case.area.geometry)}
    return data


def _visible_actions(user, case: Case) -> tuple[list[str], dict]:
    """What the engine allows now, minus decisions on requests that do not exist yet."""
    allowed = set(engine.allowed_actions(user, case))
    pending = {
        "extension": ExtensionRequest.objects.filter(case=case, state=RequestState.PENDING).first(),
        "suspension": SuspensionRequest.objects.filter(
            case=case, state=RequestState.PENDING
        ).first(),
    }
    if pending["extension"] is None:
        allowed -= {"extend_approve", "extend_deny"}
    else:
        allowed.discard("extend_request")
    if pending["suspension"] is None:
        allowed -= {"suspend_approve", "suspend_deny"}
    else:
        allowed.discard("suspend_request")
    return [a for a in forms.action_order() if a in allowed], pending


def _initial(case: Case, action: str, pending: dict) -> dict[str, Any]:
    if action == "accept":
        return {"category": case.category.code, "priority": str(case.priority)}
    if action == "dispatch":
        dept = case.category.default_department_id
        if case.department_id:
            dept = case.department_id
        return {
            "department": str(dept or ""),
            "dispatch_to": "department",
            "co_departments": [str(d) for d in case.co_department_ids or []],
        }
    if action == "extend_approve" and pending.get("extension"):
        due = timezone.localtime(pending["extension"].requested_due)
        return {"due": due.strftime("%Y-%m-%dT%H:%M")}
    if action == "comment":
        return {"internal": True}
    return {}


def _action_forms(request, case: Case, actions: list[str], pending: dict, failed=None) -> list:
    """One form description per offered action; ``failed`` = (action, values, errors)."""
    choices: dict[str, Any] = {}
    if "accept" in actions:
        choices["category"] = queries.category_choices()
        choices["priority"] = forms.PRIORITY_CHOICES
    if "dispatch" in actions:
        choices["department"] = queries.department_choices_for_case(case)
        choices["worker"] = queries.worker_choices_for_case(case)
    if "whistle" in actions and "department" not in choices:
        choices["department"] = queries.department_choices_for_case(case)
    out = []
    for i, action in enumerate(actions):
        values = _initial(case, action, pending)
        errors: dict[str, str] = {}
        is_failed = failed is not None and failed[0] == action
        if is_failed:
            values = {**values, **failed[1]}
            errors = failed[2]
        kind = forms.style_of(action)
        out.append(
            {
                "action": action,
                "label": engine.action_label(action, case.flow),
                "fields": forms.fields_of(action),
                "values": values,
                "errors": errors,
                "non_field": errors.get("all", ""),
                "open": is_failed or (failed is None and i == 0 and kind == "primary"),
                "kind": kind,
                "multipart": any(f.kind in ("files", "file") for f in forms.fields_of(action)),
            }
        )
    return out, choices


def _timeline(case: Case) -> list[dict]:
    rows = case_timeline(case)
    atts: dict[int, list[Attachment]] = {}
    for a in Attachment.objects.filter(case=case, action__isnull=False):
        atts.setdefault(a.action_id, []).append(a)
    codes = {r["data"].get("department") for r in rows if r["data"].get("department")}
    for r in rows:
        codes.update(r["data"].get("co_departments") or [])
        codes.update(r["data"].get("departments") or [])
    names = dict(Department.objects.filter(code__in=codes).values_list("code", "name"))
    for r in rows:
        r["attachments"] = atts.get(r["id"], [])
        dept = r["data"].get("department")
        r["department_name"] = names.get(dept, dept) if dept else ""
        # 主办/协办 on a dispatch; the departments called by a whistle.
        more = r["data"].get("co_departments") or r["data"].get("departments") or []
        r["more_departments"] = "、".join(names.get(c, c) for c in more)
    return rows


def detail_context(request, case: Case, failed=None) -> dict[str, Any]:
    user = principal_of(request)
    caps = engine.capacities(user, case)
    actions, pending = _visible_actions(user, case)
    action_forms, choices = _action_forms(request, case, actions, pending, failed)
    photos = list(
        Attachment.objects.filter(case=case, kind=AttachmentKind.IMAGE).order_by("created_at")
    )
    audio = list(
        Attachment.objects.filter(case=case, kind=AttachmentKind.AUDIO).order_by("created_at")
    )
    duplicates = []
    if {"accept", "merge"} & set(actions):
        duplicates = case_duplicates_of(case, user=user)
    from .cohandling import cohandling_context

    return {
        **cohandling_context(request, case),
        "case": case,
        "caps": sorted(str(engine.CAPACITY_LABELS.get(c, c)) for c in caps),
        "action_forms": action_forms,
        "choices": choices,
        "pending": pending,
        "timeline": _timeline(case),
        "photos": photos,
        "audio": audio,
        "duplicates": duplicates,
        "can_merge": "merge" in actions,
        "can_reveal": bool(caps & REVEAL_CAPACITIES),
        "reporter_phone": case.reporter_phone or (case.reporter.phone if case.reporter_id else ""),
        "supervisions": list(
            Supervision.objects.filter(case=case).select_related("by", "department")[:20]
        ),
        "map_data": _map_data(request, case),
        "now": timezone.now(),
        "state_label": engine.state_label(case.state, case.flow),
        "poll": poll_seconds(),
        "light": queries.sla_light(case.state, case.sla_due_at, case.sla_warn_at, timezone.now()),
    }


@login_required
@require_GET
def case_detail(request, pk: int):
    case = case_get_for(principal_of(request), pk)
    return render(request, "console/cases/detail.html", detail_context(request, case))


@login_required
@require_POST
def case_act(request, pk: int, action: str):
    """Run one action through its service; errors come back inline under their field."""
    case = case_get_for(principal_of(request), pk)
    if not forms.has_form(action):
        raise Http404("action")
    kwargs = forms.service_kwargs(action, request.POST, request.FILES)
    version = request.POST.get("version")
    try:
        engine.case_act(
            case=case,
            action=action,
            actor=request.user,
            expected_version=int(version) if (version or "").isdigit() else None,
            **kwargs,
        )
    except NotFound:
        raise
    except DomainError as exc:
        values = forms.values_from_post(action, request.POST, request.FILES)
        if action == "dispatch":
            values["dispatch_to"] = request.POST.get("dispatch_to", "department")
        field_names = {f.name for f in forms.fields_of(action)}
        key = exc.field if exc.field in field_names else "all"
        message = forms.error_message(exc) if key != "all" else exc.message
        case = case_get_for(principal_of(request), pk)  # the failed attempt may have left it stale
        ctx = detail_context(request, case, failed=(action, values, {key: message}))
        if request.htmx:
            form = next((x for x in ctx["action_forms"] if x["action"] == action), None)
            if form is None:  # no longer allowed (someone else moved the case): reload
                messages.error(request, exc.message)
                return _hx_redirect(reverse("console:case_detail", args=[pk]))
            return render(
                request, "console/cases/_action_form.html", {**ctx, "form": form}, status=200
            )
        return render(request, "console/cases/detail.html", ctx, status=400)
    label = engine.action_label(action, case.flow)
    messages.success(request, _("%(action)s: done.") % {"action": label})
    target = reverse("console:case_detail", args=[pk])
    if not engine.can_view(principal_of(request), case):
        # e.g. a handler returned the case to the center: it has left their scope.
        target = reverse("home")
    if request.htmx:
        return _hx_redirect(target)
    return redirect(target)


def _hx_redirect(url: str) -> HttpResponse:
    response = HttpResponse(status=204)
    response["HX-Redirect"] = url
    return response


@login_required
@require_GET
def case_stamp(request, pk: int):
    """Polled by an open case page: 204 while unchanged, a reload banner once it moved."""
    case = case_get_for(principal_of(request), pk)
    seen = request.GET.get("v", "")
    if seen.isdigit() and int(seen) == case.version:
        return HttpResponse(status=204)
    return render(request, "console/cases/_changed.html", {"case": case})


@login_required
@require_POST
def reveal_phone(request, pk: int):
    """Show the reporter's full number to staff who must call back; every reveal is logged."""
    case = case_get_for(principal_of(request), pk)
    phones = reporter_phone_reveal(
        case=case, actor=request.user, ip=request.META.get("REMOTE_ADDR")
    )
    phone = phones.reporter_phone
    return render(
        request, "console/cases/_phone.html", {"case": case, "phone": phone, "phones": phones}
    )
