"""Territory REST API: areas and grids as GeoJSON, scoped; locate a point in any crs.

Mounted at /api/territory/. Lists and details go through the scoped selectors, so an object
outside the caller's area scope answers 404. Locate answers every authenticated user for every
grid — a citizen or a worker must be able to say in which grid a problem lies — but a caller
outside the grid's scope sees its code and name only (no ids, no micro-grid or community names).
"""

from __future__ import annotations

import json
import math

import shapely
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router

from civicgrid.core.errors import DomainError
from civicgrid.people.models import GridAdviser, GridMember
from civicgrid.people.scoping import in_scope

from . import codes, spatial
from . import crs as crs_mod
from .models import Area, Grid, MicroGrid
from .schemas import (
    AreaCollection,
    AreaDetail,
    AreaFilters,
    GridCollection,
    GridDetail,
    GridFilters,
    LocateOut,
)
from .selectors import area_get_for, area_list_for, grid_get_for, grid_list_for

router = Router()

METRES_PER_DEGREE = 111_320.0  # along a meridian; good enough to turn a display tolerance


def _invalid(code: str, field: str, message: str) -> DomainError:
    return DomainError(
        code,
        message,
        field=field,
        details={"errors": [{"field": field, "message": message}]},
        status=422,
    )


def _parse_bbox(raw: str | None) -> tuple[float, float, float, float] | None:
    if raw is None or not raw.strip():
        return None
    parts = raw.split(",")
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise _invalid(
            "invalid_bbox", "bbox", _("bbox must be four numbers: minLng,minLat,maxLng,maxLat.")
        )
    x0, y0, x1, y1 = values
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise _invalid(
            "invalid_bbox",
            "bbox",
            _("bbox must be minLng,minLat,maxLng,maxLat with min ≤ max, within ±180/±90."),
        )
    return values


def _bbox_filter(qs, bbox):
    if bbox is None:
        return qs
    x0, y0, x1, y1 = bbox
    return qs.filter(max_lng__gte=x0, min_lng__lte=x1, max_lat__gte=y0, min_lat__lte=y1)


def _geojson(wkbs: list, simplify_m: float | None = None) -> list[dict | None]:
    """GeoJSON geometries for a page of WKB values, vectorised; exterior rings counter-clockwise.

    Simplification is per polygon, so neighbours may show hairline gaps: display only.
    """
    present = [i for i, w in enumerate(wkbs) if w]
    out: list[dict | None] = [None] * len(wkbs)
    if not present:
        return out
    geoms = shapely.from_wkb([bytes(wkbs[i]) for i in present])
    if simplify_m:
        geoms = shapely.simplify(geoms, simplify_m / METRES_PER_DEGREE, preserve_topology=True)
    geoms = shapely.orient_polygons(geoms)  # RFC 7946 §3.1.6 right-hand rule
    for i, text in zip(present, shapely.to_geojson(geoms), strict=True):
        out[i] = json.loads(text)
    return out


def _page(total: int, limit: int, offset: int) -> dict:
    return {
        "total": total,
        "limit": limit,
        "offset": offset,
        "next_offset": offset + limit if offset + limit < total else None,
    }


# --- areas ----------------------------------------------------------------------------------------


@router.get("/areas", response=AreaCollection, summary="Areas in my scope (GeoJSON)")
def list_areas(request: HttpRequest, filters: Query[AreaFilters]):
    qs = area_list_for(request.user)
    if filters.level is not None:
        qs = qs.filter(level=filters.level)
    if filters.parent:
        qs = qs.filter(parent__code=filters.parent)
    qs = _bbox_filter(qs, _parse_bbox(filters.bbox)).order_by("code")
    total = qs.count()
    rows = list(
        qs.values_list("code", "name", "level", "parent__code", "boundary")[
            filters.offset : filters.offset + filters.limit
        ]
    )
    geoms = _geojson([r[4] for r in rows])
    labels = dict(Area.Level.choices)
    features = [
        {
            "id": code,
            "geometry": geom,
            "properties": {
                "code": code,
                "name": name,
                "level": level,
                "level_label": str(labels.get(level, level)),
                "parent_code": parent_code,
            },
        }
        for (code, name, level, parent_code, _b), geom in zip(rows, geoms, strict=True)
    ]
    return {**_page(total, filters.limit, filters.offset), "features": features}


@router.get("/areas/{code}", response=AreaDetail, summary="One area with its children")
def get_area(request: HttpRequest, code: str):
    area = area_get_for(request.user, code)
    parent = area.parent
    children = list(
        area_list_for(request.user).filter(parent=area).order_by("code").values("code", "name")
    )
    grid_count = grid_list_for(request.user).filter(code__startswith=area.prefix).count()
    return {
        "id": area.code,
        "geometry": _geojson([area.boundary])[0],
        "properties": {
            "code": area.code,
            "name": area.name,
            "level": area.level,
            "level_label": str(area.get_level_display()),
            "parent_code": parent.code if parent else None,
            "parent_name": parent.name if parent else None,
            "children": children,
            "grid_count": grid_count,
        },
    }


# --- grids ----------------------------------------------------------------------------------------


@router.get("/grids", response=GridCollection, summary="Grids in my scope (GeoJSON)")
def list_grids(request: HttpRequest, filters: Query[GridFilters]):
    qs = grid_list_for(request.user, kind=filters.kind or "")
    if filters.area:
        try:
            prefix = codes.area_prefix(filters.area)
        except DomainError as exc:
            raise _invalid(exc.code, "area", exc.message) from None
        qs = qs.filter(code__startswith=prefix)
    qs = _bbox_filter(qs, _parse_bbox(filters.bbox)).order_by("code")
    total = qs.count()
    rows = list(
        qs.values_list(
            "code",
            "name",
            "kind",
            "dedicated_type",
            "area__code",
            "households",
            "population",
            "boundary",
        )[filters.offset : filters.offset + filters.limit]
    )
    geoms = _geojson([r[7] for r in rows], filters.simplify)
    kinds = dict(Grid.Kind.choices)
    features = [
        {
            "id": r[0],
            "geometry": geom,
            "properties": {
                "code": r[0],
                "name": r[1],
                "kind": r[2],
                "kind_label": str(kinds.get(r[2], r[2])),
                "dedicated_type": r[3],
                "area_code": r[4],
                "households": r[5],
                "population": r[6],
            },
        }
        for r, geom in zip(rows, geoms, strict=True)
    ]
    return {**_page(total, filters.limit, filters.offset), "features": features}


@router.get("/grids/{code}", response=GridDetail, summary="One grid with its team")
def get_grid(request: HttpRequest, code: str):
    grid = grid_get_for(request.user, code)
    members = [
        {
            "user_id": m.user_id,
            "name": m.user.display_name,
            "phone": m.user.phone,
            "worker_type": m.worker_type,
            "worker_type_label": str(m.get_worker_type_display()),
            "is_leader": m.is_leader,
        }
        for m in GridMember.objects.filter(grid=grid)
        .select_related("user")
        .order_by("-is_leader", "worker_type", "user__full_name")
    ]
    advisers = [
        {
            "kind": a.kind,
            "kind_label": str(a.get_kind_display()),
            "name": a.name,
            "organisation": a.organisation,
            "phone": a.phone,
        }
        for a in GridAdviser.objects.filter(grid=grid).order_by("kind", "name")
    ]
    micro_rows = list(
        MicroGrid.objects.filter(grid=grid)
        .order_by("code")
        .values_list("code", "name", "households", "boundary")
    )
    micro_geoms = _geojson([r[3] for r in micro_rows])
    micro_grids = [
        {"code": c, "name": n, "households": h, "geometry": g}
        for (c, n, h, _b), g in zip(micro_rows, micro_geoms, strict=True)
    ]
    return {
        "id": grid.code,
        "geometry": _geojson([grid.boundary])[0],
        "properties": {
            "code": grid.code,
            "name": grid.name,
            "kind": grid.kind,
            "kind_label": str(grid.get_kind_display()),
            "dedicated_type": grid.dedicated_type,
            "area_code": grid.area.code,
            "area_name": grid.area.name,
            "households": grid.households,
            "population": grid.population,
            "duty": grid.duty,
            "members": members,
            "advisers": advisers,
            "micro_grids": micro_grids,
        },
    }


# --- locate ---------------------------------------------------------------------------------------


@router.get("/locate", response=LocateOut, summary="Which grid contains this point")
def locate_point(request: HttpRequest, lat: float, lng: float, crs: str = "wgs84"):
    """``crs`` is wgs84 (GPS), gcj02 (高德/腾讯/微信) or bd09 (百度); answers in WGS-84.

    Outside every grid ``found`` is false and the nearest grid and its geodesic distance in
    metres are given. Any authenticated user may locate; outside the caller's scope only codes
    and names are shown.
    """
    try:
        res = spatial.locate(lat, lng, crs)
    except DomainError as exc:
        # Bad query parameters answer 422 like every other parameter validation error.
        raise _invalid(exc.code, exc.field or "", exc.message) from None
    code = res.grid_code or res.nearest_grid_code
    grid = (
        Grid.objects.select_related("area").only("name", "area__name").filter(code=code).first()
        if code
        else None
    )
    visible = bool(res.found and in_scope(request.user, res.grid_code))
    micro_name = None
    if visible and res.micro_grid_id:
        micro_name = (
            MicroGrid.objects.filter(pk=res.micro_grid_id).values_list("name", flat=True).first()
        )
    return {
        "lat": res.lat,
        "lng": res.lng,
        "crs": crs_mod.check_crs(crs),
        "found": res.found,
        "in_scope": visible,
        "grid_code": res.grid_code,
        "grid_name": grid.name if res.found and grid else None,
        "area_code": res.area_code,
        "micro_grid_code": res.micro_grid_code,
        "grid_id": res.grid_id if visible else None,
        "micro_grid_id": res.micro_grid_id if visible else None,
        "micro_grid_name": micro_name,
        "area_name": grid.area.name if visible and grid else None,
        "nearest_grid_code": res.nearest_grid_code,
        "nearest_grid_name": grid.name if not res.found and grid else None,
        "distance_m": round(res.distance_m, 1) if res.distance_m is not None else None,
    }
