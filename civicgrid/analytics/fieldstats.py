"""Field figures for the grid-worker assessment, read from the field app's models when present.

This is the default provider behind ``assessment.field_stats()`` (a deployment may name another
one in ``CIVICGRID["ASSESSMENT_FIELD_STATS"]``). It reads the field app's models directly: the
field app does not import analytics, so there is no cycle.

- patrol km: the distance of the worker's patrols started in the month;
- patrol coverage: the share of their grids' cells (≈ 110 m × 85 m squares, ``CELL_DEG`` of
  latitude and longitude) in which they recorded at least one track point during the month;
  cells are counted inside the grid boundary (cell centre in the polygon);
- check-ins in the month;
- base data touched: the worker's base-data changes (change log rows) and visits in the month;
- base-data freshness: visits on time and records confirmed in 12 months (basedata.stats).
"""

from __future__ import annotations

import datetime as dt
import math
from functools import lru_cache

import shapely
from django.db.models import Count, FloatField, Func, Sum

from civicgrid.basedata.models import ChangeLog, Visit
from civicgrid.basedata.stats import freshness
from civicgrid.field.models import CheckIn, Patrol, TrackPoint
from civicgrid.people.models import GridMember

CELL_DEG = 0.001


class _Cell(Func):
    """⌊value / CELL_DEG⌋ as an integer (coordinates of the territory are positive)."""

    arity = 1

    def as_sql(self, compiler, connection, **extra):
        fn = "FLOOR" if connection.vendor == "postgresql" else ""
        sql, params = compiler.compile(self.source_expressions[0])
        cast = "integer" if connection.vendor == "postgresql" else "INTEGER"
        return f"CAST({fn}(({sql}) / {CELL_DEG}) AS {cast})", params


@lru_cache(maxsize=4096)
def _grid_cells(code: str, boundary: bytes) -> frozenset[tuple[int, int]]:
    """The cells whose centre lies inside the grid (cached per boundary)."""
    geom = shapely.from_wkb(boundary)
    x0, y0, x1, y1 = geom.bounds
    i0, i1 = math.floor(y0 / CELL_DEG), math.floor(y1 / CELL_DEG)
    j0, j1 = math.floor(x0 / CELL_DEG), math.floor(x1 / CELL_DEG)
    cells = [(i, j) for i in range(i0, i1 + 1) for j in range(j0, j1 + 1)]
    if not cells:
        return frozenset()
    xs = [(j + 0.5) * CELL_DEG for _i, j in cells]
    ys = [(i + 0.5) * CELL_DEG for i, _j in cells]
    inside = shapely.contains_xy(geom, xs, ys)
    return frozenset(c for c, ok in zip(cells, inside, strict=True) if ok)


def worker_month_stats(*, user_ids: list[int], start: dt.datetime, end: dt.datetime) -> dict:
    """Patrol km, coverage and check-ins of ``user_ids`` in [start, end)."""
    out: dict[int, dict] = {uid: {"patrol_km": 0.0, "checkins": 0} for uid in user_ids}
    patrols = Patrol.objects.filter(
        worker_id__in=user_ids, started_at__gte=start, started_at__lt=end
    )
    for row in patrols.values("worker_id").annotate(m=Sum("distance_m")).order_by():
        out[row["worker_id"]]["patrol_km"] = round((row["m"] or 0) / 1000, 2)
    rows = (
        CheckIn.objects.filter(worker_id__in=user_ids, checked_at__gte=start, checked_at__lt=end)
        .values("worker_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in rows:
        out[row["worker_id"]]["checkins"] = row["n"]
    _coverage(out, user_ids, start, end)
    _base_data(out, user_ids, start, end)
    for uid, shares in freshness(user_ids=user_ids, start=start, end=end).items():
        out[uid].update(shares)
    return out


def _base_data(out: dict, user_ids, start, end) -> None:
    """Base-data records created or changed, and visits made, by each worker in the period."""
    for uid in user_ids:
        out[uid]["base_data_touched"] = 0
    for model, who in ((ChangeLog, "actor_id"), (Visit, "worker_id")):
        rows = (
            model.objects.filter(**{f"{who}__in": user_ids, "at__gte": start, "at__lt": end})
            .values(who)
            .annotate(n=Count("pk"))
            .order_by()
        )
        for row in rows:
            out[row[who]]["base_data_touched"] += row["n"]


def _coverage(out: dict, user_ids, start, end) -> None:
    grids: dict[int, list[tuple[str, bytes]]] = {}
    rows = GridMember.objects.filter(user_id__in=user_ids).values_list(
        "user_id", "grid__code", "grid__boundary"
    )
    for uid, code, boundary in rows:
        if boundary:
            grids.setdefault(uid, []).append((code, bytes(boundary)))
    visited: dict[int, set[tuple[int, int]]] = {}
    points = (
        TrackPoint.objects.filter(
            patrol__worker_id__in=user_ids, recorded_at__gte=start, recorded_at__lt=end
        )
        .annotate(
            ci=_Cell("lat", output_field=FloatField()), cj=_Cell("lng", output_field=FloatField())
        )
        .values_list("patrol__worker_id", "ci", "cj")
        .distinct()
        .order_by()
    )
    for uid, i, j in points.iterator(chunk_size=5000):
        visited.setdefault(uid, set()).add((int(i), int(j)))
    for uid in user_ids:
        own: set[tuple[int, int]] = set()
        for code, boundary in grids.get(uid, []):
            own |= _grid_cells(code, boundary)
        if own:
            out[uid]["patrol_coverage"] = len(own & visited.get(uid, set())) / len(own)
