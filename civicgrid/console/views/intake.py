"""Hotline intake (12345): an operator types a caller's matter and picks the place on the map.

The grid is located as soon as a point is picked (an HTMX call per click); the case is created by
``services.case_report`` with source ``hotline``, and optionally accepted at once through
``services.case_accept``.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from civicgrid.cases import services
from civicgrid.cases.engine import can_view
from civicgrid.cases.models import Category, Priority, Source
from civicgrid.cases.selectors import case_duplicates
from civicgrid.core.errors import DomainError
from civicgrid.people.access import principal_of
from civicgrid.people.models import Role
from civicgrid.people.scoping import has_role, scope_q
from civicgrid.territory import spatial
from civicgrid.territory.models import Area, Grid

from .. import queries

FIELDS = (
    "reporter_name",
    "reporter_phone",
    "category",
    "description",
    "address",
    "lat",
    "lng",
    "crs",
    "priority",
    "client_id",
)
CRS_CHOICES = [
    ("wgs84", "WGS-84 (GPS)"),
    ("gcj02", "GCJ-02 (高德/腾讯)"),
    ("bd09", "BD-09 (百度)"),
]


def _operator_or_404(request) -> None:
    if not has_role(principal_of(request), Role.OPERATOR):
        raise Http404("intake")


def _context(request, values: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    from django.conf import settings

    bounds = queries.scope_bounds(principal_of(request))
    return {
        "values": values,
        "errors": errors,
        "categories": queries.category_choices(),
        "priorities": Priority.choices,
        "crs_choices": CRS_CHOICES,
        "map_config": {
            "bounds": bounds,
            "tile_url": settings.MAP_TILE_URL,
            "tile_attribution": settings.MAP_TILE_ATTRIBUTION,
            "point": [float(values["lat"]), float(values["lng"])]
            if values.get("lat") and values.get("lng") and values.get("crs", "wgs84") == "wgs84"
            else None,
        },
    }


@login_required
@require_http_methods(["GET", "POST"])
def intake(request):
    _operator_or_404(request)
    if request.method == "GET":
        values = {"crs": "wgs84", "client_id": uuid.uuid4().hex, "accept_now": False}
        return render(request, "console/intake.html", _context(request, values, {}))
    values = {k: (request.POST.get(k) or "").strip() for k in FIELDS}
    values["accept_now"] = request.POST.get("accept_now") == "on"
    errors: dict[str, str] = {}
    try:
        case = services.case_report(
            actor=request.user,
            category=values["category"],
            description=values["description"],
            lat=values["lat"] or None,
            lng=values["lng"] or None,
            crs=values["crs"] or "wgs84",
            source=Source.HOTLINE,
            address=values["address"],
            priority=values["priority"] or None,
            reporter_name=values["reporter_name"],
            reporter_phone=values["reporter_phone"],
            client_id=values["client_id"] or None,
        )
    except DomainError as exc:
        field = exc.field if exc.field in (*FIELDS, "location") else "all"
        errors[field] = _("This field is required.") if exc.code == "required" else exc.message
        if field == "location" and exc.code == "required":
            errors[field] = _("Pick the place on the map or type its coordinates.")
        return render(request, "console/intake.html", _context(request, values, errors), status=400)
    messages.success(
        request,
        _("Hotline case %(code)s registered (caller %(name)s).")
        % {"code": case.tracking_code, "name": values["reporter_name"] or "-"},
    )
    if values["accept_now"]:
        try:
            services.case_accept(
                case=case,
                actor=request.user,
                category=case.category,
                priority=values["priority"] or case.priority,
            )
            messages.success(request, _("Accepted and filed."))
        except DomainError as exc:
            messages.warning(request, _("Not accepted: %(m)s") % {"m": exc.message})
    if can_view(principal_of(request), case):
        return redirect("console:case_detail", pk=case.pk)
    return redirect("console:intake")


@login_required
@require_GET
def intake_locate(request):
    """Which grid, community and center a picked point falls to, and open duplicates nearby."""
    _operator_or_404(request)
    ctx: dict[str, Any] = {"error": "", "result": None}
    try:
        lat = float(request.GET.get("lat", ""))
        lng = float(request.GET.get("lng", ""))
    except ValueError:
        return render(request, "console/intake/_locate.html", ctx)
    crs = request.GET.get("crs") or "wgs84"
    try:
        res = spatial.locate(lat, lng, crs)
    except DomainError as exc:
        ctx["error"] = exc.message
        return render(request, "console/intake/_locate.html", ctx)
    ctx["result"] = res
    code = res.grid_code or res.nearest_grid_code
    grid = Grid.objects.select_related("area", "area__parent").filter(code=code).first()
    ctx["grid"] = grid
    category = Category.objects.filter(code=request.GET.get("category") or "").first()
    if grid is not None and category is not None:
        try:
            ctx["owner"] = services.owner_center_for(grid.area, category)
        except DomainError as exc:
            ctx["owner_error"] = exc.message
        ctx["duplicates"] = case_duplicates(
            category=category, lat=res.lat, lng=res.lng, user=principal_of(request)
        )
    return render(request, "console/intake/_locate.html", ctx)


@login_required
@require_GET
def intake_places(request):
    """Areas and grids in scope whose name contains the typed text (an address helper)."""
    _operator_or_404(request)
    text = (request.GET.get("place") or "").strip()[:50]
    places = []
    if len(text) >= 2:
        for model, kind in ((Area, "area"), (Grid, "grid")):
            qs = (
                model.objects.filter(scope_q(principal_of(request)), min_lng__isnull=False)
                .filter(Q(name__icontains=text) | Q(code__startswith=text))
                .order_by("code")[:8]
            )
            for obj in qs:
                places.append(
                    {
                        "kind": kind,
                        "code": obj.code,
                        "name": obj.name,
                        "level": obj.get_level_display() if kind == "area" else _("Grid"),
                        "lat": (obj.min_lat + obj.max_lat) / 2,
                        "lng": (obj.min_lng + obj.max_lng) / 2,
                        "bounds": [obj.min_lat, obj.min_lng, obj.max_lat, obj.max_lng],
                    }
                )
    return render(request, "console/intake/_places.html", {"places": places[:12], "text": text})


def intake_url() -> str:
    return reverse("console:intake")
