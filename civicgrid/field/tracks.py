"""Track point ingest and patrol statistics.

A phone uploads its GPS fixes in batches, possibly hours late, out of order or twice. A batch is
checked point by point; each point is accepted, recognised as a duplicate (same patrol and
timestamp, already stored: the idempotency key) or rejected with a reason:

``malformed``         a field is missing or not a number (the message names it)
``future``            recorded more than ``FUTURE_SKEW`` after the server's clock
``before_start``      recorded before the patrol started (beyond the skew)
``after_end``         recorded after the patrol ended (beyond the skew)
``outside_china``     not inside the mainland bounding box every GCJ-02 implementation uses
``impossible_speed``  faster than ``MAX_SPEED`` from the previous accepted point or to the next
                      stored one (stored points are trusted; the new point is the suspect)

Distances are geodesic (WGS-84 ellipsoid). A segment between consecutive points counts for
distance and time only when the gap is at most ``MAX_GAP``: a straight line over an hour without
signal is not observed patrolling. Time and distance per grid: a segment whose two ends lie in
the same grid counts for it; a segment crossing a border is split half and half.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from pyproj import Geod

from civicgrid.core.errors import DomainError, NotFound
from civicgrid.territory import crs as crs_mod
from civicgrid.territory.spatial import locate_many

from . import overview
from .models import Patrol, TrackPoint

GEOD = Geod(ellps="WGS84")
FUTURE_SKEW = dt.timedelta(minutes=2)
SKEW_MS = FUTURE_SKEW // dt.timedelta(milliseconds=1)
MAX_SPEED = 50.0  # m/s (180 km/h): nothing a grid worker does on duty is faster
MAX_GAP = 600  # s
MAX_BATCH = 1000
BATCH_RECEIPT = "track_batch"  # Receipt.kind of an uploaded batch with a batch id
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass
class Rejected:
    index: int
    reason: str
    message: str
    t: Any = None
    field: str = "t"  # the point's field at fault

    def as_dict(self) -> dict:
        return {
            "index": self.index,
            "reason": self.reason,
            "field": self.field,
            "message": self.message,
            "t": self.t,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Rejected:
        return cls(d["index"], d["reason"], d["message"], d.get("t"), d.get("field", "t"))


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    patrol: Patrol | None = None  # the patrol with its new totals
    replayed: bool = False  # a batch id seen before: the first answer, nothing stored again

    def as_receipt(self) -> dict:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": [r.as_dict() for r in self.rejected],
        }


@dataclass
class _Pt:
    ms: int
    lat: float
    lng: float
    acc: int | None
    index: int = -1  # position in the batch; -1 for a stored point
    stored: bool = False


# --- parsing ---------------------------------------------------------------------------------


def to_ms(when: dt.datetime) -> int:
    # timestamp() is exact to the microsecond for aware datetimes and much cheaper than
    # timedelta arithmetic, which matters when a replay converts a few thousand rows.
    return round(when.timestamp() * 1000)


def from_ms(ms: int) -> dt.datetime:
    return EPOCH + dt.timedelta(milliseconds=ms)


def _number(raw: dict, *names: str) -> tuple[str, Any]:
    for n in names:
        if n in raw and raw[n] is not None:
            return n, raw[n]
    return names[0], None


def _as_float(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def parse_time(value: Any) -> int | None:
    """Milliseconds since the epoch from an epoch-ms number or an ISO 8601 string with zone."""
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.lstrip("-").isdigit():
            value = int(stripped)
        else:
            when = parse_datetime(stripped)
            if when is None or timezone.is_naive(when):
                return None
            return to_ms(when)
    f = _as_float(value)
    if f is None:
        return None
    return int(round(f))


def _parse(index: int, raw: Any) -> _Pt | Rejected:
    # Fast path for what the phones send: {"t": int ms, "lat": float, "lng": float, "acc": n}.
    if type(raw) is dict:
        t, lat, lng, acc = raw.get("t"), raw.get("lat"), raw.get("lng"), raw.get("acc", 0)
        if (
            type(t) is int
            and type(lat) is float
            and type(lng) is float
            and type(acc) in (int, float)
            and -90.0 <= lat <= 90.0
            and -180.0 <= lng <= 180.0
            and 0 <= acc < 32767
            and "recorded_at" not in raw
            and "accuracy" not in raw
        ):
            a = int(round(acc)) if "acc" in raw else None
            return _Pt(ms=t, lat=lat, lng=lng, acc=a, index=index)
    return _parse_slow(index, raw)


def _parse_slow(index: int, raw: Any) -> _Pt | Rejected:
    if not isinstance(raw, dict):
        return Rejected(
            index, "malformed", _("A point must be an object {t, lat, lng, acc}."), field=""
        )
    tname, traw = _number(raw, "t", "recorded_at")
    ms = parse_time(traw)
    if ms is None:
        return Rejected(
            index,
            "malformed",
            _("%(field)s must be a time (milliseconds since 1970 or ISO 8601 with a zone).")
            % {"field": tname},
            traw,
            tname,
        )
    values = {}
    for name, limit in (("lat", 90.0), ("lng", 180.0)):
        v = _as_float(raw.get(name))
        if v is None or not -limit <= v <= limit:
            return Rejected(
                index,
                "malformed",
                _("%(field)s must be a number between -%(limit)s and %(limit)s.")
                % {"field": name, "limit": int(limit)},
                traw,
                name,
            )
        values[name] = v
    aname, araw = _number(raw, "acc", "accuracy")
    acc = None
    if araw is not None:
        a = _as_float(araw)
        if a is None or a < 0:
            return Rejected(
                index,
                "malformed",
                _("%(field)s must be a non-negative number of metres.") % {"field": aname},
                traw,
                aname,
            )
        acc = min(int(round(a)), 32767)
    return _Pt(ms=ms, lat=values["lat"], lng=values["lng"], acc=acc, index=index)


# --- geometry --------------------------------------------------------------------------------


def geodesic_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    return abs(GEOD.inv(lng1, lat1, lng2, lat2)[2])


def _speed(a: _Pt, b: _Pt) -> float:
    seconds = max(abs(b.ms - a.ms) / 1000.0, 1.0)
    return geodesic_m(a.lat, a.lng, b.lat, b.lng) / seconds


def segment_stats(
    ms: np.ndarray, lats: np.ndarray, lngs: np.ndarray, codes: list[str | None]
) -> tuple[float, float, dict[str, list[float]]]:
    """(metres, seconds, {grid code or "": [seconds, metres]}) over consecutive points."""
    if len(ms) < 2:
        return 0.0, 0.0, {}
    _f, _b, dist = GEOD.inv(lngs[:-1], lats[:-1], lngs[1:], lats[1:])
    dist = np.abs(np.asarray(dist, dtype=np.float64))
    secs = np.diff(ms).astype(np.float64) / 1000.0
    counted = secs <= MAX_GAP
    dist = np.where(counted, dist, 0.0)
    secs = np.where(counted, secs, 0.0)
    per: dict[str, list[float]] = {}
    for i in np.flatnonzero(counted):
        a, b = codes[i] or "", codes[i + 1] or ""
        s, d = float(secs[i]), float(dist[i])
        if a == b:
            row = per.setdefault(a, [0.0, 0.0])
            row[0] += s
            row[1] += d
        else:
            for c in (a, b):
                row = per.setdefault(c, [0.0, 0.0])
                row[0] += s / 2
                row[1] += d / 2
    return float(dist.sum()), float(secs.sum()), per


def _merge_stats(into: dict, add: dict) -> dict:
    out = {k: list(v) for k, v in (into or {}).items()}
    for k, (s, d) in add.items():
        row = out.setdefault(k, [0.0, 0.0])
        row[0] += s
        row[1] += d
    return {k: [round(v[0], 1), round(v[1], 1)] for k, v in out.items()}


def _codes(lats, lngs) -> list[str | None]:
    if len(lats) == 0:
        return []
    return list(locate_many(np.asarray(lats), np.asarray(lngs)))


_OWN_TTL = 60.0  # s; a team change shows in "time in own grids" within a minute
_own_cache: dict[int, tuple[float, frozenset[str]]] = {}


def own_grid_codes(user_id: int) -> frozenset[str]:
    """The codes of the user's grids, cached briefly: a phone uploads every few minutes all day
    and teams change rarely."""
    import time

    from civicgrid.people.models import GridMember

    now = time.monotonic()
    hit = _own_cache.get(user_id)
    if hit is not None and now - hit[0] < _OWN_TTL:
        return hit[1]
    codes = frozenset(
        GridMember.objects.filter(user_id=user_id).values_list("grid__code", flat=True)
    )
    if len(_own_cache) > 50_000:
        _own_cache.clear()
    _own_cache[user_id] = (now, codes)
    return codes


def _own_seconds(stats: dict, own: set[str]) -> int:
    return int(round(sum(v[0] for k, v in stats.items() if k in own)))


def recompute(patrol: Patrol, own: set[str] | None = None) -> None:
    """Rebuild a patrol's totals from all its stored points (after an out-of-order upload)."""
    rows = list(
        TrackPoint.objects.filter(patrol=patrol)
        .order_by("recorded_at")
        .values_list("recorded_at", "lat", "lng")
    )
    own = own_grid_codes(patrol.worker_id) if own is None else own
    patrol.point_count = len(rows)
    if not rows:
        patrol.distance_m, patrol.tracked_s, patrol.grid_stats, patrol.own_grid_s = 0, 0, {}, 0
        patrol.first_point_at = patrol.last_point_at = patrol.last_lat = patrol.last_lng = None
        patrol.last_grid = ""
        patrol.overview = ""
        return
    ms = np.array([to_ms(r[0]) for r in rows], dtype=np.int64)
    lats = np.array([r[1] for r in rows], dtype=np.float64)
    lngs = np.array([r[2] for r in rows], dtype=np.float64)
    codes = _codes(lats, lngs)
    dist, secs, per = segment_stats(ms, lats, lngs, codes)
    patrol.distance_m = round(dist, 1)
    patrol.tracked_s = int(round(secs))
    patrol.grid_stats = _merge_stats({}, per)
    patrol.own_grid_s = _own_seconds(patrol.grid_stats, own)
    patrol.first_point_at = rows[0][0]
    patrol.last_point_at, patrol.last_lat, patrol.last_lng = rows[-1]
    patrol.last_grid = codes[-1] or ""
    patrol.overview = overview.build([(r[1], r[2]) for r in rows])


# --- ingest ----------------------------------------------------------------------------------


def ingest(
    *,
    patrol: Patrol | None = None,
    lookup: dict | None = None,
    points: list,
    crs: str = "wgs84",
    now: dt.datetime | None = None,
    receipt: tuple[int, str] | None = None,
) -> IngestResult:
    """Check and store one batch for a patrol, given as ``patrol`` or as a ``lookup`` of
    filters that also says who may upload (e.g. ``uuid`` and ``worker``; NotFound otherwise).

    Runs in one transaction with the patrol row locked, so two deliveries of one batch are
    serialised: the second finds every point stored and reports them as duplicates.
    ``receipt`` (user id, batch client id) stores the answer in the same transaction
    (``Receipt``), so that a retried batch gets it back (``services.trackpoints_ingest``).
    """
    if not isinstance(points, list):
        raise DomainError("invalid", _("points must be a list."), field="points")
    if len(points) > MAX_BATCH:
        raise DomainError(
            "too_many_points",
            _("At most %(n)s points per batch.") % {"n": MAX_BATCH},
            field="points",
            details={"max": MAX_BATCH},
        )
    crs = crs_mod.check_crs(crs)
    now = now or timezone.now()
    result = IngestResult()
    parsed: list[_Pt] = []
    for i, raw in enumerate(points):
        p = _parse(i, raw)
        if isinstance(p, Rejected):
            result.rejected.append(p)
        else:
            parsed.append(p)
    if parsed and crs != crs_mod.WGS84:
        lats, lngs = crs_mod.to_wgs84_array([p.lat for p in parsed], [p.lng for p in parsed], crs)
        for p, la, ln in zip(parsed, lats, lngs, strict=True):
            p.lat, p.lng = float(la), float(ln)

    with transaction.atomic():
        if connection.vendor == "postgresql" and _async_commit():
            # Opt-in (docs/field.md): no wait for the WAL flush; a database crash may lose the
            # last few hundred ms of acknowledged points, which the phones will not resend.
            with connection.cursor() as cur:
                cur.execute("SET LOCAL synchronous_commit = off")
        locked = Patrol.objects.select_for_update().filter(
            **(lookup if lookup is not None else {"pk": patrol.pk})
        )
        patrol = locked.first()
        if patrol is None:
            raise NotFound(_("patrol"))
        start_ms = to_ms(patrol.started_at) - SKEW_MS
        end_ms = to_ms(patrol.ended_at) + SKEW_MS if patrol.ended_at else None
        limit_ms = to_ms(now) + SKEW_MS
        fresh: list[_Pt] = []
        for p in parsed:
            reason = None
            if p.ms > limit_ms:
                reason = (
                    "future",
                    _("t: recorded %(s)s s in the future (the phone's clock is wrong).")
                    % {"s": round((p.ms - to_ms(now)) / 1000)},
                    "t",
                )
            elif p.ms < start_ms:
                reason = ("before_start", _("t: recorded before the patrol started."), "t")
            elif end_ms is not None and p.ms > end_ms:
                reason = ("after_end", _("t: recorded after the patrol ended."), "t")
            elif crs_mod.out_of_china(p.lat, p.lng):
                reason = (
                    "outside_china",
                    _("lat, lng: the position is outside China."),
                    "lat",
                )
            if reason:
                result.rejected.append(Rejected(p.index, reason[0], reason[1], p.ms, reason[2]))
            else:
                fresh.append(p)
        fresh.sort(key=lambda p: (p.ms, p.index))
        # Two fixes with one timestamp in a batch: the first wins, like a stored point would.
        unique: list[_Pt] = []
        for p in fresh:
            if unique and unique[-1].ms == p.ms:
                result.duplicates += 1
            else:
                unique.append(p)
        accepted = _check_speeds(patrol, unique, result)
        if accepted:
            _insert(patrol.pk, accepted)
        result.accepted = len(accepted)
        _update_totals(patrol, accepted, result, now)
        result.patrol = patrol
        result.rejected.sort(key=lambda r: r.index)
        if receipt is not None:
            from .models import Receipt

            Receipt.objects.create(
                user_id=receipt[0],
                client_id=receipt[1],
                kind=BATCH_RECEIPT,
                object_id=patrol.pk,
                response=result.as_receipt(),
            )
    return result


def _async_commit() -> bool:
    from civicgrid.core.conf import options

    return options().TRACK_ASYNC_COMMIT


def _insert(patrol_id: int, points: list[_Pt]) -> None:
    """One INSERT for the batch. Plain SQL: building a model instance per point costs more than
    the database work; ON CONFLICT DO NOTHING is belt and braces, the row lock already serialises.

    On PostgreSQL the rows travel as four arrays through ``unnest`` (one statement of five
    parameters whatever the batch size, so the server parses and plans one small statement
    instead of a VALUES list of 500 parameters); elsewhere a multi-row VALUES list.
    """
    table = connection.ops.quote_name(TrackPoint._meta.db_table)
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(
                f"INSERT INTO {table} (patrol_id, recorded_at, lat, lng, accuracy) "
                "SELECT %s, timestamptz 'epoch' + t * interval '1 millisecond', la, ln, acc "
                "FROM unnest("
                "%s::bigint[], %s::float8[], %s::float8[], %s::smallint[]) AS u(t, la, ln, acc) "
                "ON CONFLICT DO NOTHING",
                [
                    patrol_id,
                    [p.ms for p in points],
                    [p.lat for p in points],
                    [p.lng for p in points],
                    [p.acc for p in points],
                ],
            )
        return
    adapt = connection.ops.adapt_datetimefield_value
    if connection.vendor == "sqlite":

        def adapt(value: dt.datetime) -> str:
            # What Django's SQLite adapter writes (naive UTC text), without its checks per row.
            return str(value.replace(tzinfo=None))

    for i in range(0, len(points), 500):
        chunk = points[i : i + 500]
        params: list = []
        for p in chunk:
            params += (patrol_id, adapt(from_ms(p.ms)), p.lat, p.lng, p.acc)
        values = ",".join(["(%s, %s, %s, %s, %s)"] * len(chunk))
        with connection.cursor() as cur:
            cur.execute(
                f"INSERT INTO {table} (patrol_id, recorded_at, lat, lng, accuracy) "
                f"VALUES {values} ON CONFLICT DO NOTHING",
                params,
            )


def _check_speeds(patrol: Patrol, batch: list[_Pt], result: IngestResult) -> list[_Pt]:
    if not batch:
        return []
    lo, hi = from_ms(batch[0].ms), from_ms(batch[-1].ms)
    stored: list[_Pt] = []
    if patrol.last_point_at is not None and lo > patrol.last_point_at:
        # The usual case, an in-order upload: the only neighbour is the patrol's last point.
        stored.append(
            _Pt(to_ms(patrol.last_point_at), patrol.last_lat, patrol.last_lng, None, stored=True)
        )
    elif patrol.last_point_at is not None:
        qs = TrackPoint.objects.filter(patrol_id=patrol.pk)
        cols = ("recorded_at", "lat", "lng")
        before = qs.filter(recorded_at__lt=lo).order_by("-recorded_at").values_list(*cols)[:1]
        inside = qs.filter(recorded_at__gte=lo, recorded_at__lte=hi).values_list(*cols)
        after = qs.filter(recorded_at__gt=hi).order_by("recorded_at").values_list(*cols)[:1]
        for rows in (before, inside, after):
            stored.extend(_Pt(to_ms(t), la, ln, None, stored=True) for t, la, ln in rows)
    if not stored or (len(stored) == 1 and stored[0].ms < batch[0].ms):
        fast = _in_order_speeds(stored[0] if stored else None, batch)
        if fast is not None:
            return fast
    stored_ms = {p.ms for p in stored}
    timeline = sorted(stored + batch, key=lambda p: (p.ms, not p.stored))
    # The next stored point after each position, found walking backwards.
    next_stored: list[_Pt | None] = [None] * len(timeline)
    upcoming = None
    for i in range(len(timeline) - 1, -1, -1):
        next_stored[i] = upcoming
        if timeline[i].stored:
            upcoming = timeline[i]
    accepted: list[_Pt] = []
    last_ok: _Pt | None = None
    for i, p in enumerate(timeline):
        if p.stored:
            last_ok = p
            continue
        if p.ms in stored_ms:
            result.duplicates += 1
            continue
        nxt = next_stored[i]
        worst = max(
            _speed(last_ok, p) if last_ok is not None else 0.0,
            _speed(p, nxt) if nxt is not None else 0.0,
        )
        if worst > MAX_SPEED:
            result.rejected.append(
                Rejected(
                    p.index,
                    "impossible_speed",
                    _("lat, lng: %(v)s m/s from the neighbouring point is faster than %(max)s m/s.")
                    % {"v": round(worst, 1), "max": int(MAX_SPEED)},
                    p.ms,
                    "lat",
                )
            )
            continue
        accepted.append(p)
        last_ok = p
    return accepted


def _in_order_speeds(last: _Pt | None, batch: list[_Pt]) -> list[_Pt] | None:
    """The whole batch when every step (from the patrol's last point on) is plausible: one
    vectorised geodesic call instead of one per point. None: some step is too fast, and the
    point-by-point walk decides which points go."""
    pts = [last, *batch] if last is not None else batch
    if len(pts) < 2:
        return list(batch)
    ms = np.fromiter((p.ms for p in pts), dtype=np.int64, count=len(pts))
    lats = np.fromiter((p.lat for p in pts), dtype=np.float64, count=len(pts))
    lngs = np.fromiter((p.lng for p in pts), dtype=np.float64, count=len(pts))
    _f, _b, dist = GEOD.inv(lngs[:-1], lats[:-1], lngs[1:], lats[1:])
    secs = np.maximum(np.diff(ms) / 1000.0, 1.0)
    if np.all(np.abs(dist) / secs <= MAX_SPEED):
        return list(batch)
    return None


def _update_totals(
    patrol: Patrol, accepted: list[_Pt], result: IngestResult, now: dt.datetime
) -> None:
    fields = ["point_count", "rejected_count", "updated_at"]
    patrol.point_count += result.accepted
    patrol.rejected_count += len(result.rejected)
    patrol.updated_at = now
    if accepted:
        in_order = patrol.last_point_at is None or from_ms(accepted[0].ms) > patrol.last_point_at
        own = own_grid_codes(patrol.worker_id)
        if in_order:
            pts = accepted
            if patrol.last_point_at is not None:
                prev = _Pt(to_ms(patrol.last_point_at), patrol.last_lat, patrol.last_lng, None)
                pts = [prev, *accepted]
            ms = np.array([p.ms for p in pts], dtype=np.int64)
            lats = np.array([p.lat for p in pts], dtype=np.float64)
            lngs = np.array([p.lng for p in pts], dtype=np.float64)
            new_codes = _codes(lats[-len(accepted) :], lngs[-len(accepted) :])
            codes = ([patrol.last_grid or None] if len(pts) > len(accepted) else []) + new_codes
            dist, secs, per = segment_stats(ms, lats, lngs, codes)
            patrol.distance_m = round(patrol.distance_m + dist, 1)
            patrol.tracked_s = int(round(patrol.tracked_s + secs))
            patrol.grid_stats = _merge_stats(patrol.grid_stats, per)
            patrol.own_grid_s = _own_seconds(patrol.grid_stats, own)
            if patrol.overview or patrol.last_point_at is None:
                # An overview left empty by a bulk load is built when the screen first needs it.
                prev = (patrol.last_lat, patrol.last_lng) if patrol.overview else None
                patrol.overview = overview.extend(
                    patrol.overview, [(p.lat, p.lng) for p in accepted], last=prev
                )
            if patrol.first_point_at is None:
                patrol.first_point_at = from_ms(accepted[0].ms)
            last = accepted[-1]
            patrol.last_point_at = from_ms(last.ms)
            patrol.last_lat, patrol.last_lng = last.lat, last.lng
            patrol.last_grid = codes[-1] or ""
        else:
            recompute(patrol, own)
        fields += [
            "distance_m",
            "tracked_s",
            "grid_stats",
            "own_grid_s",
            "first_point_at",
            "last_point_at",
            "last_lat",
            "last_lng",
            "last_grid",
            "overview",
        ]
    patrol.save(update_fields=fields)
