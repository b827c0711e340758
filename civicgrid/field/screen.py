"""The patrol screen (巡查轨迹一屏展示还原): an area's workers, positions, tracks and replay.

Reads only, scoped through the request's ``Principal``: operators, leaders, grid chiefs and
admins see the areas of their assignments (``SCREEN_ROLES``); anyone else, and any area or
worker outside that scope, gets NotFound (404). Built for a district of a few thousand workers:

- the workers of the area: one query on the grid teams (``GridMember``) of its grids;
- last position and "on patrol": one query on ``LatestPatrol`` (each worker's most recently
  started patrol, written when a patrol is created) joined to the patrol, whose ``last_*``
  columns every upload updates — no scan of track points;
- today's tracks: one query on the patrols of those workers overlapping the day, each with its
  simplified track (``Patrol.overview``, an encoded polyline, ``civicgrid.field.overview``);
- check-ins of the day: one grouped query.

A worker's day (replay) reads the raw points of that worker's patrols of the day from the
(patrol, recorded_at) index and the day's check-ins.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import BigIntegerField, Count, Func, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.core.errors import NotFound
from civicgrid.people.access import Principal, principal_of
from civicgrid.people.models import GridMember, Role
from civicgrid.territory.codes import area_prefix
from civicgrid.territory.models import Area, Grid

from . import overview, tracks
from .models import CheckIn, LatestPatrol, Patrol, PatrolState, TrackPoint

SCREEN_ROLES = (Role.OPERATOR, Role.LEADER, Role.GRID_CHIEF, Role.ADMIN)
# A running patrol whose last fix is older than this shows as "signal lost": the same gap after
# which a segment stops counting for distance and time.
STALE_S = tracks.MAX_GAP

ON_PATROL, SIGNAL_LOST, OFF = "patrol", "stale", "off"
# A patrol is looked for among those started at most this long before the day: it bounds the
# range read from the (worker, started_at) index whatever the length of the history. A patrol
# still running after two days is not a patrol but a phone left on, and starting the next one
# ends it.
LOOKBACK = dt.timedelta(days=2)


class EpochMs(Func):
    """A timestamp as integer milliseconds since 1970, computed by the database: parsing two
    thousand timestamps in Python costs more than the query that reads them."""

    output_field = BigIntegerField()

    def as_sql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        if connection.vendor == "postgresql":
            return f"CAST(EXTRACT(EPOCH FROM {sql}) * 1000 AS bigint)", params
        # SQLite keeps Django's text timestamps (UTC): julianday parses them.
        return f"CAST(ROUND((julianday({sql}) - 2440587.5) * 86400000) AS INTEGER)", params


def can_open(who) -> bool:
    """Whether the principal may open the patrol screen for some area."""
    p = principal_of(who)
    return p.is_superuser or p.has_role(*SCREEN_ROLES)


def screen_area_for(who, code: str | None = None) -> Area:
    """The area to show: ``code`` if it is in scope, else the principal's widest area.

    NotFound for a principal without a screen role, an unknown code or one out of scope.
    """
    p: Principal = principal_of(who)
    prefixes = p.prefixes(SCREEN_ROLES)
    if prefixes is not None and not prefixes:
        raise NotFound(_("area"))
    code = (code or "").strip()
    if code:
        area = Area.objects.filter(code=code[:12]).first()
        if area is None or not p.in_scope(area.code, SCREEN_ROLES):
            raise NotFound(_("area"))
        return area
    if prefixes is None:
        area = Area.objects.filter(level=1).order_by("code").first()
    else:
        ids = p.areas_of(*SCREEN_ROLES)
        area = Area.objects.filter(pk__in=ids).order_by("level", "code").first()
    if area is None:
        raise NotFound(_("area"))
    return area


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    return start, start + dt.timedelta(days=1)


def _members(prefix: str):
    return GridMember.objects.filter(grid__code__startswith=prefix)


def _ensure_overviews(rows: list[list]) -> None:
    """Build the overview of patrols stored without one (bulk loads, older data), once."""
    for row in rows:
        if row[-1] or not row[-2]:
            continue
        pts = list(
            TrackPoint.objects.filter(patrol_id=row[0])
            .order_by("recorded_at")
            .values_list("lat", "lng")
        )
        row[-1] = overview.build(pts)
        Patrol.objects.filter(pk=row[0], overview="").update(overview=row[-1])


def screen_data(who, area: Area, day: dt.date | None = None, now: dt.datetime | None = None):
    """The screen's data for ``area`` (already checked by ``screen_area_for``) as compact JSON.

    ``workers``: ``[id, name, grid code, status, lat, lng, last fix (epoch ms), km on the day,
    check-ins on the day]`` with status ``patrol`` / ``stale`` / ``off``; position fields are
    null for a worker who never sent a fix (a worker on several teams is listed once, under
    the first grid by code). ``grids``: ``{code: name}``. ``tracks``: ``[worker id, patrol id, encoded
    polyline]`` of the patrols overlapping the day.
    """
    now = now or timezone.now()
    day = day or timezone.localdate(now)
    start, end = _day_bounds(day)
    prefix = area_prefix(area.code)
    members = list(
        _members(prefix)
        .order_by("user_id", "grid__code")
        .values_list("user_id", "user__full_name", "user__username", "grid__code", "grid__name")
    )
    workers: dict[int, list] = {}
    grids: dict[str, str] = {}
    for uid, full, username, gcode, gname in members:
        grids[gcode] = gname
        if uid not in workers:
            workers[uid] = [uid, full or username, gcode, OFF, None, None, None, 0.0, 0]
    ids = _members(prefix).values("user_id")
    now_ms = tracks.to_ms(now)
    stale_ms = STALE_S * 1000
    for wid, state, lat, lng, at_ms in (
        LatestPatrol.objects.filter(worker_id__in=ids)
        .annotate(at_ms=EpochMs("patrol__last_point_at"))
        .values_list("worker_id", "patrol__state", "patrol__last_lat", "patrol__last_lng", "at_ms")
    ):
        w = workers.get(wid)
        if w is None:
            continue
        if at_ms is not None:
            w[4], w[5], w[6] = round(lat, 6), round(lng, 6), at_ms
        if state == PatrolState.ACTIVE:
            fresh = at_ms is None or now_ms - at_ms <= stale_ms
            w[3] = ON_PATROL if fresh else SIGNAL_LOST
    rows = [
        list(r)
        for r in Patrol.objects.filter(
            worker_id__in=ids, started_at__lt=end, started_at__gte=start - LOOKBACK
        )
        .filter(Q(started_at__gte=start) | Q(last_point_at__gte=start))
        .order_by("worker_id", "started_at")
        .values_list("pk", "worker_id", "distance_m", "point_count", "overview")
    ]
    _ensure_overviews(rows)
    out_tracks = []
    for pk, wid, metres, _n, line in rows:
        w = workers.get(wid)
        if w is None:
            continue
        w[7] = round(w[7] + metres / 1000, 2)
        if line:
            out_tracks.append([wid, pk, line])
    for wid, n in (
        CheckIn.objects.filter(worker_id__in=ids, checked_at__gte=start, checked_at__lt=end)
        .values("worker_id")
        .annotate(n=Count("id"))
        .values_list("worker_id", "n")
    ):
        if wid in workers:
            workers[wid][8] = n
    listed = sorted(workers.values(), key=lambda w: (w[3] == OFF, w[2], w[1]))
    totals = {
        "workers": len(listed),
        "on_patrol": sum(1 for w in listed if w[3] == ON_PATROL),
        "signal_lost": sum(1 for w in listed if w[3] == SIGNAL_LOST),
        "with_position": sum(1 for w in listed if w[6] is not None),
        "km": round(sum(w[7] for w in listed), 1),
        "checkins": sum(w[8] for w in listed),
        "patrols": len(rows),
    }
    return {
        "area": {"code": area.code, "name": area.name, "level": area.level},
        "date": day.isoformat(),
        "now": now_ms,
        "bounds": _bounds(area),
        "totals": totals,
        "workers": listed,
        "grids": grids,
        "tracks": out_tracks,
    }


def _bounds(area: Area) -> list[float] | None:
    if area.min_lng is None:
        return None
    return [area.min_lng, area.min_lat, area.max_lng, area.max_lat]


def _worker_in_scope(who, worker_id: int) -> tuple[str, list[str]]:
    """The worker's name and grid codes, or NotFound unless one of them is in scope."""
    p = principal_of(who)
    rows = list(
        GridMember.objects.filter(user_id=worker_id).values_list(
            "grid__code", "user__full_name", "user__username"
        )
    )
    codes = [r[0] for r in rows]
    if not rows or not any(p.in_scope(c, SCREEN_ROLES) for c in codes):
        raise NotFound(_("grid worker"))
    return rows[0][1] or rows[0][2], codes


def worker_day(who, worker_id: int, day: dt.date) -> dict:
    """One worker's day for replay: patrols, every point in time order, check-ins.

    ``points``: ``[epoch ms, lat, lng, patrol id]``; ``checkins``: ``[epoch ms, lat, lng, place,
    within the radius, metres from the place]``. NotFound when the worker is not in scope.
    """
    if not can_open(who):
        raise NotFound(_("grid worker"))
    name, codes = _worker_in_scope(who, worker_id)
    start, end = _day_bounds(day)
    patrols = list(
        Patrol.objects.filter(
            worker_id=worker_id, started_at__lt=end, started_at__gte=start - LOOKBACK
        )
        .filter(Q(started_at__gte=start) | Q(last_point_at__gte=start))
        .order_by("started_at")
    )
    ids = [p.pk for p in patrols]
    points = []
    if ids:
        points = [
            [tracks.to_ms(t), la, ln, pid]
            for pid, t, la, ln in TrackPoint.objects.filter(
                patrol_id__in=ids, recorded_at__gte=start, recorded_at__lt=end
            )
            .order_by("recorded_at")
            .values_list("patrol_id", "recorded_at", "lat", "lng")
        ]
    checkins = [
        [tracks.to_ms(c.checked_at), c.lat, c.lng, c.place.name, c.within, round(c.distance_m)]
        for c in CheckIn.objects.filter(
            worker_id=worker_id, checked_at__gte=start, checked_at__lt=end
        )
        .select_related("place")
        .order_by("checked_at")
    ]
    return {
        "worker": {"id": worker_id, "name": name, "grids": codes},
        "date": day.isoformat(),
        "patrols": [
            {
                "id": p.pk,
                "state": p.state,
                "started_at": tracks.to_ms(p.started_at),
                "ended_at": tracks.to_ms(p.ended_at) if p.ended_at else None,
                "km": p.distance_km,
                "points": p.point_count,
            }
            for p in patrols
        ],
        "points": points,
        "checkins": checkins,
    }


@dataclass
class GridRow:
    code: str
    name: str
    km: float
    hours: float
    patrols: int
    checkins: int


def grid_stats(who, area: Area, start: dt.datetime, end: dt.datetime) -> list[GridRow]:
    """Km, hours and patrols (patrols started in [start, end)) and check-ins per grid of
    ``area``, from the patrols' time and distance per grid; the caller has checked the area."""
    prefix = area_prefix(area.code)
    per: dict[str, list] = defaultdict(lambda: [0.0, 0.0, set(), 0])
    # A patrol's scope is its worker's grid or the common prefix of their grids, so patrols of
    # the area have a scope that starts with the area prefix or is a prefix of it.
    scope = Q(scope_code__startswith=prefix) | Q(
        scope_code__in=[prefix[:n] for n in range(4, len(prefix))]
    )
    for pk, stats in (
        Patrol.objects.filter(scope, started_at__gte=start, started_at__lt=end)
        .values_list("pk", "grid_stats")
        .iterator(chunk_size=2000)
    ):
        for code, (secs, metres) in (stats or {}).items():
            if not code.startswith(prefix):
                continue
            row = per[code]
            row[0] += metres
            row[1] += secs
            row[2].add(pk)
    for code, n in (
        CheckIn.objects.filter(
            scope_code__startswith=prefix, checked_at__gte=start, checked_at__lt=end
        )
        .values("scope_code")
        .annotate(n=Count("id"))
        .values_list("scope_code", "n")
    ):
        per[code][3] += n
    names = dict(Grid.objects.filter(code__in=list(per)).values_list("code", "name"))
    out = [
        GridRow(
            code=code,
            name=names.get(code, code),
            km=round(row[0] / 1000, 1),
            hours=round(row[1] / 3600, 1),
            patrols=len(row[2]),
            checkins=row[3],
        )
        for code, row in per.items()
    ]
    out.sort(key=lambda r: (-r.km, r.code))
    return out
