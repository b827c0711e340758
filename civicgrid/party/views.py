"""Pages of the party app: the citizen's service request (群众点单), the field app's order and
visit pages (网格接单, 党员履单, 包联 visits), and the console's service orders, liaison
compliance and visit log. Every write calls ``services``; every read ``selectors``."""

from __future__ import annotations

import datetime as dt
import uuid

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_POST

from civicgrid.cases.engine import state_label
from civicgrid.cases.selectors import case_get_for
from civicgrid.core.errors import DomainError, NotFound
from civicgrid.people.access import get_or_404, principal_of
from civicgrid.people.models import Role, User
from civicgrid.public.views import client_ip
from civicgrid.territory.models import Area, Grid

from . import selectors, services

field_login = login_required(login_url=reverse_lazy("field:login"))


def _grid_from(request) -> Grid | None:
    code = (request.GET.get("grid") or request.POST.get("grid") or "").strip()
    return Grid.objects.select_related("area").filter(code=code).first() if code else None


# --- 群众点单 (public) ---------------------------------------------------------------------------


@never_cache
@ensure_csrf_cookie
def service_request(request: HttpRequest) -> HttpResponse:
    """The citizen's service request form (群众点单); the grid board's QR code opens it."""
    from shapely.geometry import mapping

    from civicgrid.public.views import _home_bounds, _map_settings

    grid = _grid_from(request)
    data = request.POST if request.method == "POST" else {}
    error, status = None, 200
    if request.method == "POST":
        try:
            case, _created = services.service_request(
                ip=client_ip(request),
                category=data.get("category", ""),
                description=data.get("description", ""),
                lat=data.get("lat") or None,
                lng=data.get("lng") or None,
                crs=data.get("crs") or "wgs84",
                grid_code=grid.code if grid else "",
                address=data.get("address", ""),
                phone=data.get("phone", ""),
                name=data.get("name", ""),
                client_id=data.get("client_id", ""),
                attachments=request.FILES.getlist("photos"),
                actor=request.user,
            )
        except DomainError as exc:
            error = exc
            status = exc.status if exc.status in (400, 403, 404, 409, 429) else 400
        else:
            return redirect(reverse("public:track", args=[case.tracking_code]) + "?new=1")
    return render(
        request,
        "party/service_request.html",
        {
            "categories": services.service_categories(),
            "grid": grid,
            "grid_geojson": mapping(grid.geometry) if grid and grid.geometry else None,
            "home_bounds": _home_bounds(),
            "client_id": data.get("client_id") or str(uuid.uuid4()),
            "data": data,
            "error": error,
            "map": _map_settings(),
        },
        status=status,
    )


# --- field app: 网格接单, 党员履单, 包联 visits ---------------------------------------------------


@field_login
@never_cache
def field_orders(request: HttpRequest) -> HttpResponse:
    """Service orders in the field app: to take (grid workers) and my own (party members)."""
    principal = principal_of(request)
    return render(
        request,
        "party/field_orders.html",
        {
            "tab": "tasks",
            "to_take": list(selectors.orders_to_take(principal)[:50]),
            "mine": [
                (c, state_label(c.state, c.flow)) for c in selectors.my_orders(request.user)[:100]
            ],
            "is_member": principal.has_role(Role.PARTY_MEMBER),
        },
    )


@field_login
@require_POST
def field_take(request: HttpRequest, pk: int) -> HttpResponse:
    principal = principal_of(request)
    case = case_get_for(principal, pk)
    try:
        services.order_take(case=case, actor=request.user)
    except DomainError as exc:
        return render(
            request, "party/field_error.html", {"error": exc, "tab": "tasks"}, status=exc.status
        )
    return redirect("field:case", pk=case.pk)


def _visit_form(request, template: str, extra: dict) -> HttpResponse:
    principal = principal_of(request)
    grids = _assigned_grids(request.user)
    data = request.POST if request.method == "POST" else {}
    error, status, saved = None, 200, None
    if request.method == "POST":
        try:
            grid = next((g for g in grids if g.code == data.get("grid")), None)
            if grid is None:
                raise DomainError("required", _("Choose one of your grids."), field="grid")
            when = parse_datetime(data.get("visited_at") or "") if data.get("visited_at") else None
            if data.get("visited_at") and when is None:
                raise DomainError("invalid", _("Enter the visit time."), field="visited_at")
            if when is not None and timezone.is_naive(when):
                when = timezone.make_aware(when)
            problems = [
                {
                    "category": data.get(f"problem_category_{i}"),
                    "description": data.get(f"problem_{i}"),
                }
                for i in range(3)
            ]
            saved, _created = services.visit_record(
                actor=request.user,
                grid=grid,
                visited_at=when,
                place=data.get("place", ""),
                people_met=data.get("people_met", ""),
                note=data.get("note", ""),
                problems=problems,
                client_id=data.get("client_id"),
            )
        except DomainError as exc:
            error, status = exc, exc.status if exc.status in (400, 403, 409) else 400
    from civicgrid.public.selectors import public_categories

    ctx = {
        "grids": grids,
        "data": data,
        "error": error,
        "saved": saved,
        "client_id": str(uuid.uuid4()) if saved or not data else data.get("client_id"),
        "now": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "categories": public_categories(),
        "recent": list(selectors.visits_for(principal).filter(cadre=request.user)[:10]),
        **extra,
    }
    return render(request, template, ctx, status=status)


def _assigned_grids(user) -> list[Grid]:
    rows = selectors.assignments_for(user).filter(cadre=user, ended_on__isnull=True)
    grids: dict[int, Grid] = {}
    for a in rows:
        if a.grid_id:
            grids[a.grid_id] = a.grid
        else:
            for g in Grid.objects.filter(area_id=a.community_id).order_by("code"):
                grids[g.pk] = g
    return sorted(grids.values(), key=lambda g: g.code)


@field_login
@never_cache
def field_visit(request: HttpRequest) -> HttpResponse:
    return _visit_form(request, "party/field_visit.html", {"tab": "home"})


# --- console ------------------------------------------------------------------------------------


@login_required
@never_cache
def console_orders(request: HttpRequest) -> HttpResponse:
    """Service orders in scope; 村社派单 to a member or volunteer of the order's community."""
    principal = principal_of(request)
    state = request.GET.get("state", "open")
    qs = selectors.service_orders_for(principal, state=state if state != "all" else "")
    orders = list(qs[:100])
    rows = []
    for c in orders:
        targets = (
            services.dispatch_targets(c)
            if c.state == "filed" and "operator" in principal.capacities(c)
            else []
        )
        rows.append((c, state_label(c.state, c.flow), targets))
    return render(
        request,
        "party/console_orders.html",
        {"rows": rows, "state": state, "steps": selectors.SERVICE_STEPS},
    )


@login_required
@require_POST
def console_dispatch(request: HttpRequest, pk: int) -> HttpResponse:
    principal = principal_of(request)
    case = case_get_for(principal, pk)
    member = None
    raw = request.POST.get("member", "")
    if raw.isdigit():
        member = next((m for m in services.dispatch_targets(case) if m.pk == int(raw)), None)
    try:
        if member is None:
            raise DomainError("required", _("Choose a member or volunteer."), field="member")
        services.order_dispatch(
            case=case, member=member, actor=request.user, note=request.POST.get("note", "")
        )
    except DomainError as exc:
        return render(request, "party/console_error.html", {"error": exc}, status=exc.status)
    return redirect(reverse("party:console_orders") + "?state=open")


def _month(request) -> dt.date:
    raw = request.GET.get("month", "")
    try:
        return dt.date.fromisoformat(raw + "-01") if raw else timezone.localdate().replace(day=1)
    except ValueError:
        raise DomainError("invalid", _("month must look like 2026-12."), field="month") from None


@login_required
@never_cache
def compliance(request: HttpRequest) -> HttpResponse:
    """包联 compliance: who is behind this month, per cadre and per area."""
    principal = principal_of(request)
    try:
        month = _month(request)
    except DomainError as exc:
        return render(request, "party/console_error.html", {"error": exc}, status=400)
    prefix = ""
    area_code = (request.GET.get("area") or "").strip()
    if area_code:
        area = get_or_404(Area.objects.all(), "area", code=area_code)
        if not principal.in_scope(area.prefix, selectors.VIEW_ROLES):
            raise NotFound("area")
        prefix = area.prefix
    rows = selectors.compliance_rows(principal, month=month, prefix=prefix)
    by = "area" if request.GET.get("by") == "area" else "cadre"
    groups = selectors.summarise(rows, by)
    total = len(rows)
    visited = sum(1 for r in rows if r.visits)
    prev = (month - dt.timedelta(days=1)).replace(day=1)
    nxt = (month + dt.timedelta(days=32)).replace(day=1)
    return render(
        request,
        "party/compliance.html",
        {
            "groups": groups,
            "by": by,
            "month": month,
            "prev": prev.strftime("%Y-%m"),
            "next": nxt.strftime("%Y-%m"),
            "total": total,
            "visited": visited,
            "behind": total - visited,
            "rate": (visited / total) if total else None,
            "area_code": area_code,
            "can_assign": principal.has_role(Role.OPERATOR, Role.ADMIN),
            "assignments": list(
                selectors.assignments_for(principal).filter(ended_on__isnull=True)[:200]
            ),
        },
    )


@login_required
@require_POST
def assign(request: HttpRequest) -> HttpResponse:
    """Assign a cadre (username) to a grid or community (code), from the compliance page."""
    principal = principal_of(request)
    data = request.POST
    try:
        cadre = User.objects.filter(username=(data.get("cadre") or "").strip()).first()
        if cadre is None:
            raise DomainError("not_found", _("No such account."), field="cadre")
        code = (data.get("code") or "").strip()
        grid = Grid.objects.filter(code=code).first()
        community = None if grid else Area.objects.filter(code=code).first()
        if grid is None and community is None:
            raise DomainError("not_found", _("No grid or community with that code."), field="code")
        services.liaison_assign(cadre=cadre, grid=grid, community=community, actor=principal.user)
    except DomainError as exc:
        return render(request, "party/console_error.html", {"error": exc}, status=exc.status)
    return redirect("party:compliance")


@login_required
@never_cache
def console_visit(request: HttpRequest) -> HttpResponse:
    return _visit_form(request, "party/console_visit.html", {})
