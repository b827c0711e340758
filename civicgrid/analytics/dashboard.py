"""What the one-screen dashboard (一屏观全城) shows, assembled from the indicator module.

One call returns the whole screen for a user, period and filters, so the page, its auto-refresh
and the API read exactly the same figures. The grid map has its own call (geometry is heavy and
cached per territory version).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import shapely
from django.core.cache import cache
from django.utils import timezone

from civicgrid.cases.models import State
from civicgrid.territory import codes
from civicgrid.territory.models import Area, Grid, TerritoryVersion

from . import early_warning, indicators
from .periods import Period
from .selectors import ANALYTICS_ROLES, Filters, area_chain, case_q, scope_areas, scope_root

RANKING_KEYS = (
    "received",
    "closed",
    "due",
    "close_rate",
    "on_time_close_rate",
    "overdue",
    "handled_rate",
    "rework_rate",
)
RANK_BY = "on_time_close_rate"


def current_area(user, filters: Filters) -> Area | Grid | None:
    """The area the screen is about: the filtered one, else the top of the user's scope."""
    if filters.area:
        model = Grid if len(filters.area) == 15 else Area
        return model.objects.filter(code=filters.area).first()
    return scope_root(user)


def children_of(node: Area | Grid | None, user=None) -> tuple[list[dict], int]:
    """Sub-areas to rank and drill into (grids below a community), and their prefix length.

    Without a node (a scope of several separate subtrees) the subtrees themselves are ranked,
    when they are of one level.
    """
    if node is None and user is not None:
        tops = scope_areas(user)
        if tops and len({a.level for a in tops}) == 1:
            rows = [{"code": a.code, "name": a.name} for a in tops]
            return rows, codes.PREFIX_LEN[tops[0].level]
        return [], 0
    if node is None or isinstance(node, Grid):
        return [], 0
    if node.level == codes.VILLAGE:
        rows = Grid.objects.filter(area=node).order_by("code").values("code", "name")
        return list(rows), 15
    rows = Area.objects.filter(parent=node).order_by("code").values("code", "name", "level")
    rows = list(rows)
    if not rows:
        return [], 0
    return rows, codes.PREFIX_LEN[rows[0]["level"]]


def tiles(report: dict) -> list[dict]:
    out = []
    for key in indicators.TILES:
        ind = indicators.BY_KEY[key]
        out.append(
            {
                "key": key,
                "label": str(ind.label),
                "unit": ind.unit,
                "higher_is_better": ind.higher_is_better,
                "value": report["values"][key],
                "previous": report.get("previous", {}).get(key),
                "year_ago": report.get("year_ago", {}).get(key),
                "change_previous": report.get("change_previous", {}).get(key),
                "change_year_ago": report.get("change_year_ago", {}).get(key),
            }
        )
    extra = report["values"]
    out[-1]["detail"] = {
        "p90_hours": extra["duration_p90_hours"],
        "mean_work_hours": extra["duration_mean_work_hours"],
        "p90_work_hours": extra["duration_p90_work_hours"],
    }
    return out


def ranking(user, period: Period, filters: Filters, node, *, now=None) -> list[dict]:
    """Sub-areas of ``node`` with their figures, best on-time close rate first."""
    children, n = children_of(node, user)
    if not children:
        return []
    rows = indicators.breakdown(
        user, period, filters, indicators.by_area(n), now=now, keys=RANKING_KEYS
    )
    out = []
    for child in children:
        key = child["code"][:n]
        v = rows.get(key) or indicators.Counts().values()
        out.append(
            {
                "code": child["code"],
                "prefix": key,
                "name": child["name"],
                **{k: v[k] for k in RANKING_KEYS},
            }
        )
    out.sort(
        key=lambda r: (r[RANK_BY] is None, -(r[RANK_BY] or 0), -(r["received"] or 0), r["code"])
    )
    return out


def overdue_rows(user, filters: Filters, *, now=None, limit: int = 15) -> list[dict]:
    now = now or timezone.now()
    out = []
    for c in indicators.overdue_cases(user, filters, limit=limit, now=now):
        due = c.response_due if c.state == State.REPORTED else c.final_due
        out.append(
            {
                "tracking_code": c.tracking_code,
                "category": c.category.name,
                "area": c.grid.name if c.grid_id else c.area.name,
                "department": c.department.name if c.department_id else "",
                "state": c.state,
                "state_label": str(State(c.state).label),
                "due": timezone.localtime(due).isoformat() if due else None,
                "overdue_hours": round((now - due).total_seconds() / 3600, 1) if due else None,
            }
        )
    return out


def screen(user, period: Period, filters: Filters, *, now: dt.datetime | None = None) -> dict:
    """Everything the dashboard shows (the map's counts excepted)."""
    now = now or timezone.now()
    node = current_area(user, filters)
    rep = indicators.report(user, period, filters, now=now)
    signals = early_warning.detect(scope=case_q(user, filters), now=now)
    return {
        "generated_at": timezone.localtime(now).isoformat(),
        "period": rep["period"],
        "previous_period": rep["previous_period"],
        "year_ago_period": rep["year_ago_period"],
        "filters": filters.as_params(),
        "area": _node(node),
        "breadcrumbs": area_chain(node.code, user) if node is not None else [],
        "tiles": tiles(rep),
        "values": rep["values"],
        "trend": indicators.trend(user, period, filters, now=now),
        "categories": indicators.category_breakdown(user, period, filters, now=now),
        "ranking": ranking(user, period, filters, node, now=now),
        "departments": indicators.department_scores(user, period, filters, now=now)[:10],
        "overdue": overdue_rows(user, filters, now=now),
        "warnings": early_warning.describe(signals),
    }


def _node(node) -> dict | None:
    if node is None:
        return None
    if isinstance(node, Grid):
        return {"code": node.code, "name": node.name, "level": 5, "drillable": False}
    return {"code": node.code, "name": node.name, "level": node.level, "drillable": True}


# --- the grid map ---------------------------------------------------------------------------------


def grid_map(user, filters: Filters, *, now: dt.datetime | None = None) -> dict:
    """GeoJSON of the grids under the current area, each with its open and overdue cases now."""
    from civicgrid.people.scoping import scope_q

    node = current_area(user, filters)
    prefix = filters.prefix or (node.prefix if isinstance(node, Area) else "")
    grids = Grid.objects.filter(scope_q(user, "code", roles=ANALYTICS_ROLES))
    if prefix:
        grids = grids.filter(code__startswith=prefix)
    features = _grid_shapes(grids, prefix)
    counts = indicators.open_by_grid(user, filters, now=now)
    for f in features:
        c = counts.get(f["properties"]["code"], {"open": 0, "overdue": 0})
        f["properties"].update(c)
    return {"type": "FeatureCollection", "features": features}


MAX_VERTICES = 150_000  # keeps a whole-city map light enough for a browser


def _grid_shapes(grids, prefix: str) -> list[dict]:
    """Simplified grid outlines, cached per territory version (geometry changes bump it)."""
    version = TerritoryVersion.objects.filter(pk=1).values_list("value", flat=True).first() or 0
    raw = f"{prefix}:{version}:{grids.query}".encode()
    key = f"analytics:gridmap:{hashlib.sha256(raw).hexdigest()}"
    cached = cache.get(key)
    if cached is not None:
        return json.loads(cached)
    rows = list(grids.order_by("code").values_list("code", "name", "boundary"))
    present = [(c, n, b) for c, n, b in rows if b]
    features: list[dict[str, Any]] = []
    if present:
        geoms = shapely.from_wkb([bytes(b) for _c, _n, b in present])
        total = int(shapely.get_num_coordinates(geoms).sum())
        if total > MAX_VERTICES:
            x0, y0, x1, y1 = shapely.total_bounds(geoms)
            tol = max(x1 - x0, y1 - y0) / 2000
            geoms = shapely.simplify(geoms, tol, preserve_topology=True)
        geoms = shapely.set_precision(geoms, 1e-5)
        geoms = shapely.orient_polygons(geoms)
        for (code, name, _b), text in zip(present, shapely.to_geojson(geoms), strict=True):
            features.append(
                {
                    "type": "Feature",
                    "id": code,
                    "geometry": json.loads(text),
                    "properties": {"code": code, "name": name},
                }
            )
    cache.set(key, json.dumps(features), 3600)
    return features
