"""Supervision list, grid directory (grid → team), worker directory (phones masked)."""

from __future__ import annotations

import json

import shapely
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from civicgrid.cases.models import OPEN_STATES, Case, SupervisionKind
from civicgrid.core.errors import DomainError
from civicgrid.ops.replica import replica_reads
from civicgrid.people import teams
from civicgrid.people.access import principal_of
from civicgrid.people.models import GridAdviser, GridMember, WorkerType
from civicgrid.people.scoping import scope_q
from civicgrid.territory.models import Grid, MicroGrid
from civicgrid.territory.selectors import grid_get_for, grid_list_for

from .. import queries
from .common import clean_choice


@login_required
@require_GET
def supervision_list(request):
    g = request.GET
    f = {
        "status": clean_choice(g.get("status"), ("open", "answered")),
        "kind": clean_choice(g.get("kind"), SupervisionKind.values),
        "department": int(g["department"]) if (g.get("department") or "").isdigit() else None,
    }
    qs = queries.supervision_qs(principal_of(request), f)
    error = ""
    page = None
    try:
        page = queries.page_of(
            qs,
            queries.SUPERVISION_SORT,
            after=g.get("after") or None,
            before=g.get("before") or None,
        )
    except DomainError as exc:
        error = exc.message
    return render(
        request,
        "console/supervision.html",
        {
            "f": f,
            "page": page,
            "error": error,
            "total": queries.bounded_count(qs),
            "cap": queries.COUNT_CAP,
            "kinds": SupervisionKind.choices,
            "now": timezone.now(),
        },
    )


@login_required
@require_GET
@replica_reads()
def grid_list(request):
    g = request.GET
    text = (g.get("q") or "").strip()[:50]
    kind = clean_choice(g.get("kind"), Grid.Kind.values)
    area = (g.get("area") or "").strip()[:12]
    qs = grid_list_for(principal_of(request), q=text, kind=kind).defer("boundary", "area__boundary")
    if area.isdigit():
        qs = qs.filter(code__startswith=area_prefix(area))
    page = Paginator(qs, 30).get_page(g.get("page"))
    teams = queries.team_summary(g.pk for g in page.object_list)
    rows = [
        {"grid": grid, "team": teams.get(grid.pk, {"members": [], "types": {}})} for grid in page
    ]
    return render(
        request,
        "console/grids.html",
        {
            "page": page,
            "rows": rows,
            "q": text,
            "kind": kind,
            "area": area,
            "kinds": Grid.Kind.choices,
            "areas": queries.area_choices(principal_of(request)),
        },
    )


def area_prefix(code: str) -> str:
    from civicgrid.territory.codes import area_prefix as prefix

    try:
        return prefix(code)
    except DomainError:
        return code


@login_required
@require_GET
def grid_detail(request, code: str):
    grid = grid_get_for(principal_of(request), code)
    members = list(
        GridMember.objects.filter(grid=grid)
        .select_related("user", "micro_grid")
        .order_by("-is_leader", "worker_type", "user__full_name")
    )
    advisers = list(GridAdviser.objects.filter(grid=grid).order_by("kind", "name"))
    micro = list(MicroGrid.objects.filter(grid=grid).order_by("code"))
    cases = Case.objects.filter(
        principal_of(request).case_visible_q(), scope_code__startswith=grid.code
    )
    now = timezone.now()
    stats = {
        "open": queries.bounded_count(cases.filter(state__in=OPEN_STATES)),
        "overdue": queries.bounded_count(cases.filter(queries.queue_q("overdue", now))),
        "due_soon": queries.bounded_count(cases.filter(queries.queue_q("due_soon", now))),
    }
    recent = list(cases.select_related("category").order_by("-reported_at", "-id")[:10])
    map_data = {
        "grid": {
            "code": grid.code,
            "name": grid.name,
            "geometry": json.loads(shapely.to_geojson(grid.geometry)) if grid.geometry else None,
        },
        "micro": [
            {
                "code": m.code,
                "name": m.name,
                "geometry": json.loads(shapely.to_geojson(m.geometry)) if m.geometry else None,
            }
            for m in micro
        ],
        "siblings": [
            {
                "code": s.code,
                "name": s.name,
                "geometry": json.loads(shapely.to_geojson(s.geometry)) if s.geometry else None,
            }
            for s in grid_list_for(principal_of(request))
            .filter(area_id=grid.area_id)
            .exclude(pk=grid.pk)[:60]
        ],
        "point": None,
        "tile_url": settings.MAP_TILE_URL,
        "tile_attribution": settings.MAP_TILE_ATTRIBUTION,
    }
    return render(
        request,
        "console/grid_detail.html",
        {
            "grid": grid,
            "members": members,
            "advisers": advisers,
            "micro": micro,
            "stats": stats,
            "recent": recent,
            "map_data": map_data,
            "now": now,
            "can_edit_team": teams.can_edit_team(principal_of(request), grid),
            "team_warnings": teams.team_warnings(grid, members),
        },
    )


@login_required
@require_GET
@replica_reads()
def worker_list(request):
    g = request.GET
    f = {
        "q": (g.get("q") or "").strip()[:50],
        "type": clean_choice(g.get("type"), WorkerType.values),
        "area": area_prefix((g.get("area") or "").strip()[:12]) if g.get("area") else "",
    }
    qs = queries.worker_qs(principal_of(request), f)
    page = Paginator(qs, 40).get_page(g.get("page"))
    memberships: dict[int, list[GridMember]] = {}
    for m in (
        GridMember.objects.filter(scope_q(principal_of(request), "grid__code"))
        .filter(user_id__in=[u.pk for u in page])
        .select_related("grid", "grid__area")
        .defer("grid__boundary", "grid__area__boundary")
        .order_by("grid__code")
    ):
        memberships.setdefault(m.user_id, []).append(m)
    rows = [{"user": u, "memberships": memberships.get(u.pk, [])} for u in page]
    return render(
        request,
        "console/workers.html",
        {
            "page": page,
            "rows": rows,
            "f": f,
            "area_input": (g.get("area") or "").strip()[:12],
            "types": WorkerType.choices,
            "areas": queries.area_choices(principal_of(request)),
        },
    )
