"""Locate: (lat, lng) → grid and micro-grid, through an in-memory spatial index.

The index holds every grid and micro-grid polygon in a shapely STRtree plus numpy arrays of their
ids and codes, sorted by code, so "the lowest code wins" on a shared border is simply the smallest
tree index among the hits. It is built lazily once per process and rebuilt (a full rebuild: one
query and a vectorised WKB parse, see bench/locate.py for its cost) whenever the territory changes.

Freshness across processes (docs/locate.md has the full picture):

- Every writer that changes grid or micro-grid geometry (services, imports, seeding) calls
  :func:`bump_territory_version` inside its transaction, so ``TerritoryVersion.value`` moves on
  commit. The index remembers the value it was built from.
- Reading that row costs one primary-key query, so it is not done per locate but once per *unit of
  work*: a unit starts with every HTTP request (``request_started``) and every background task
  (``task_started``); bulk calls (:func:`locate_many`) and :func:`ensure_fresh` always check. A
  check older than ``MAX_AGE`` seconds is redone, so a long loop in a shell or a management
  command cannot drift for long either.
- Writes in this process mark the index dirty at once (``post_save``/``post_delete`` on Grid and
  MicroGrid, and :func:`bump_territory_version` itself), so a thread sees its own changes on its
  next locate. An index built inside a transaction that holds such uncommitted changes is private
  to that thread and transaction; it is never published to other threads, which could otherwise
  see geometry that is later rolled back.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from dataclasses import dataclass

import numpy as np
import shapely
from django.core.signals import request_started
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.db.models.signals import post_delete, post_migrate, post_save
from django.utils.translation import gettext as _
from pyproj import Geod

from civicgrid.core.conf import options
from civicgrid.core.errors import DomainError

from . import crs as crs_mod
from .models import Grid, MicroGrid, TerritoryVersion

GEOD = Geod(ellps="WGS84")

# A unit of work that lasts longer than this re-checks the version anyway.
MAX_AGE = options().LOCATE_MAX_AGE


@dataclass(frozen=True)
class LocateResult:
    lat: float  # WGS-84 after conversion
    lng: float
    grid_id: int | None
    grid_code: str | None
    micro_grid_id: int | None
    micro_grid_code: str | None
    area_code: str | None  # the grid's community (village) code
    nearest_grid_code: str | None  # only when no grid contains the point
    distance_m: float | None

    @property
    def found(self) -> bool:
        return self.grid_code is not None


def _point_query_public(tree: shapely.STRtree, pts: np.ndarray) -> np.ndarray:
    return tree.query(pts, predicate="intersects")[1]


def _points_public(lng: float, lat: float) -> np.ndarray:
    return shapely.points(np.array([[lng, lat]]))


def _make_fast_point_path():
    """Single-point locate spends most of its time in shapely's Python wrappers, not in GEOS.

    Point() and STRtree.query() cost ~3.5 µs each in argument handling; calling the ufunc and the
    tree's C query directly costs ~1 µs each. These are shapely internals (pinned to 2.2), so the
    fast path is checked against the public API at import and replaced by it on any mismatch.
    """
    from shapely.lib import points as lib_points
    from shapely.strtree import BinaryPredicate

    keep_nan = np.intc(0)
    intersects = BinaryPredicate.intersects.value

    def points(lng: float, lat: float) -> np.ndarray:
        return lib_points(((lng, lat),), keep_nan)

    def query(tree: shapely.STRtree, pts: np.ndarray) -> np.ndarray:
        return tree._tree.query(pts, intersects)[1]

    probe = shapely.STRtree([shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)])
    for x, y in ((1.0, 0.5), (0.5, 0.5), (5.0, 5.0), (1.0, 1.0)):
        fast = sorted(query(probe, points(x, y)).tolist())
        public = sorted(_point_query_public(probe, _points_public(x, y)).tolist())
        if fast != public or not shapely.equals(points(x, y)[0], shapely.Point(x, y)):
            raise RuntimeError("shapely internals changed")
    if query(_empty_tree(), points(0.0, 0.0)).size:
        raise RuntimeError("shapely internals changed")
    return points, query


def _empty_tree() -> shapely.STRtree:
    return shapely.STRtree(np.empty(0, dtype=object))


try:
    _points1, _query_points = _make_fast_point_path()
except Exception:  # pragma: no cover - only after a shapely upgrade
    _points1, _query_points = _points_public, _point_query_public


@dataclass(frozen=True, eq=False)
class SpatialIndex:
    """An immutable snapshot of the territory; replaced as a whole, never mutated."""

    version: int
    grid_tree: shapely.STRtree
    grid_geoms: np.ndarray  # shapely polygons, sorted by code
    grid_ids: np.ndarray  # int64
    grid_codes: np.ndarray  # object (str), ascending
    grid_area_codes: np.ndarray  # object (str)
    grid_codes_or_none: np.ndarray  # grid_codes + [None], for bulk "not found"
    micro_tree: shapely.STRtree
    micro_ids: np.ndarray
    micro_codes: np.ndarray
    micro_grid_pos: np.ndarray  # position of each micro-grid's grid in the grid arrays, -1 if none
    build_seconds: float

    @property
    def grid_count(self) -> int:
        return len(self.grid_codes)

    @property
    def micro_count(self) -> int:
        return len(self.micro_codes)

    @classmethod
    def from_rows(cls, version: int, grid_rows, micro_rows) -> SpatialIndex:
        """Build from ``(id, code, area_code, wkb)`` and ``(id, code, grid_id, wkb)`` rows."""
        t0 = time.perf_counter()
        grid_rows = sorted(grid_rows, key=lambda r: r[1])
        micro_rows = sorted(micro_rows, key=lambda r: r[1])
        if grid_rows:
            ids, codes, area_codes, wkbs = zip(*grid_rows, strict=True)
            geoms = shapely.from_wkb([bytes(w) for w in wkbs])
        else:
            ids, codes, area_codes, geoms = (), (), (), np.empty(0, dtype=object)
        grid_ids = np.asarray(ids, dtype=np.int64)
        grid_codes = np.asarray(codes, dtype=object)
        pos = {gid: i for i, gid in enumerate(grid_ids.tolist())}
        if micro_rows:
            mids, mcodes, mgrid_ids, mwkbs = zip(*micro_rows, strict=True)
            mgeoms = shapely.from_wkb([bytes(w) for w in mwkbs])
            micro_tree = shapely.STRtree(mgeoms)
        else:
            mids, mcodes, mgrid_ids = (), (), ()
            micro_tree = _empty_tree()
        return cls(
            version=version,
            grid_tree=shapely.STRtree(geoms) if len(grid_codes) else _empty_tree(),
            grid_geoms=np.asarray(geoms, dtype=object),
            grid_ids=grid_ids,
            grid_codes=grid_codes,
            grid_area_codes=np.asarray(area_codes, dtype=object),
            grid_codes_or_none=np.append(grid_codes, None).astype(object),
            micro_tree=micro_tree,
            micro_ids=np.asarray(mids, dtype=np.int64),
            micro_codes=np.asarray(mcodes, dtype=object),
            micro_grid_pos=np.asarray([pos.get(g, -1) for g in mgrid_ids], dtype=np.int64),
            build_seconds=time.perf_counter() - t0,
        )

    # -- queries (all WGS-84, already validated) -----------------------------------------------

    def locate_wgs84(self, lat: float, lng: float) -> LocateResult:
        pts = _points1(lng, lat)
        hits = _query_points(self.grid_tree, pts)
        if hits.size:
            # Arrays are sorted by code, so the lowest code wins on a border.
            i = int(hits[0]) if hits.size == 1 else int(hits.min())
            micro_id = micro_code = None
            if self.micro_codes.size:
                mh = _query_points(self.micro_tree, pts)
                if mh.size:
                    mh = mh[self.micro_grid_pos[mh] == i]
                    if mh.size:
                        j = int(mh.min())
                        micro_id, micro_code = int(self.micro_ids[j]), self.micro_codes[j]
            return LocateResult(
                lat,
                lng,
                int(self.grid_ids[i]),
                self.grid_codes[i],
                micro_id,
                micro_code,
                self.grid_area_codes[i],
                None,
                None,
            )
        near_code = near_dist = None
        if self.grid_count:
            near_code, near_dist = self.nearest_wgs84(lat, lng)
        return LocateResult(lat, lng, None, None, None, None, None, near_code, near_dist)

    def locate_many_wgs84(self, lats: np.ndarray, lngs: np.ndarray) -> list[str | None]:
        n = lats.size
        best = np.full(n, self.grid_count, dtype=np.int64)  # the "None" slot
        if n and self.grid_count:
            inp, hit = self.grid_tree.query(shapely.points(lngs, lats), predicate="intersects")
            np.minimum.at(best, inp, hit)
        return self.grid_codes_or_none[best].tolist()

    def nearest_wgs84(self, lat: float, lng: float) -> tuple[str, float]:
        """The grid nearest to a point and its geodesic distance in metres (0 inside)."""
        pt = shapely.Point(lng, lat)
        _i, d0 = self.grid_tree.query_nearest(pt, return_distance=True, all_matches=False)
        d0 = float(d0[0])
        # The tree measures in degrees, where a degree of longitude is shorter than one of
        # latitude; the metric nearest is within d0 / cos(lat) degrees of the degree-nearest.
        radius = d0 / max(math.cos(math.radians(min(abs(lat) + d0 * 2, 89.0))), 1e-3)
        cand = np.sort(self.grid_tree.query(pt, predicate="dwithin", distance=radius * 1.01))
        k = max(math.cos(math.radians(lat)), 1e-3)
        scale = np.array([k, 1.0])
        # Nearest point in a local equirectangular plane (x scaled by cos(lat)), then the exact
        # geodesic distance to it: sub-metre accurate at grid scales.
        lines = shapely.shortest_line(
            shapely.transform(self.grid_geoms[cand], lambda xy: xy * scale),
            shapely.Point(lng * k, lat),
        )
        starts = shapely.get_coordinates(shapely.get_point(lines, 0))
        _az1, _az2, dist = GEOD.inv(
            np.full(len(cand), lng), np.full(len(cand), lat), starts[:, 0] / k, starts[:, 1]
        )
        dist = np.where(shapely.intersects(self.grid_geoms[cand], pt), 0.0, dist)
        j = int(np.argmin(dist))  # first minimum: candidates are in code order
        return self.grid_codes[cand[j]], float(dist[j])


# ---------------------------------------------------------------------------------------------
# freshness


class _ThreadState(threading.local):
    checked_gen = -1  # the unit-of-work generation this thread last checked the version in
    checked_at = 0.0
    dirty = False  # this thread wrote territory since its last check
    private: SpatialIndex | None = None  # built from this thread's uncommitted writes
    private_tx = None


_local = _ThreadState()
_shared: SpatialIndex | None = None
_build_lock = threading.Lock()
_gen_counter = itertools.count(1)
_generation = 0


def _new_unit_of_work(**_kwargs) -> None:
    """A request or task starts: the next locate in any thread checks the version again."""
    global _generation
    _generation = next(_gen_counter)


def start_unit_of_work() -> None:
    """Begin a unit of work by hand (a loop in a management command, a worker's batch).

    Requests and tasks do this through signals. Every process pays one version check at
    most per unit, so call it at the start of each independent piece of work.
    """
    _new_unit_of_work()


def _mark_dirty(**_kwargs) -> None:
    _local.dirty = True


def reset(**_kwargs) -> None:
    """Drop every index in this process (tests, after a database flush)."""
    global _shared
    with _build_lock:
        _shared = None
    _local.private = _local.private_tx = None
    _local.checked_gen = -1
    _local.dirty = False
    _new_unit_of_work()


request_started.connect(_new_unit_of_work, dispatch_uid="territory_spatial_request")
for _model in (Grid, MicroGrid):
    post_save.connect(_mark_dirty, sender=_model, dispatch_uid=f"spatial_save_{_model.__name__}")
    post_delete.connect(_mark_dirty, sender=_model, dispatch_uid=f"spatial_del_{_model.__name__}")
post_migrate.connect(reset, dispatch_uid="territory_spatial_migrate")  # also fires after flush
try:
    from django_tasks.signals import task_started
except ImportError:  # pragma: no cover - the task backend is a pinned dependency
    pass
else:
    task_started.connect(_new_unit_of_work, dispatch_uid="territory_spatial_task")


def read_territory_version() -> int:
    """The committed (or, inside a transaction, visible) territory version; 0 if never bumped."""
    table = connection.ops.quote_name(TerritoryVersion._meta.db_table)
    with connection.cursor() as cur:
        cur.execute(f"SELECT value FROM {table} WHERE id = 1")
        row = cur.fetchone()
    return int(row[0]) if row else 0


def bump_territory_version() -> None:
    """Record a territory change; call inside the transaction that changes grid geometry.

    An F() update, so concurrent writers never lose a bump; the row is created if missing.
    """
    if not TerritoryVersion.objects.filter(pk=1).update(value=F("value") + 1):
        try:
            with transaction.atomic():
                TerritoryVersion.objects.create(pk=1, value=1)
        except IntegrityError:  # another writer created it first
            TerritoryVersion.objects.filter(pk=1).update(value=F("value") + 1)
    _local.dirty = True


def _outer_atomic():
    blocks = connection.atomic_blocks
    return blocks[0] if blocks else None


def _load(version: int) -> SpatialIndex:
    grids = Grid.objects.filter(boundary__isnull=False).values_list(
        "id", "code", "area__code", "boundary"
    )
    micros = MicroGrid.objects.filter(boundary__isnull=False).values_list(
        "id", "code", "grid_id", "boundary"
    )
    return SpatialIndex.from_rows(version, list(grids), list(micros))


def _refresh() -> SpatialIndex:
    global _shared
    loc = _local
    gen = _generation  # read before the query: a unit starting meanwhile checks again
    version = read_territory_version()
    tx = _outer_atomic()
    if tx is not None and (loc.dirty or (loc.private is not None and loc.private_tx is tx)):
        # Uncommitted territory writes of this thread: keep the index to ourselves.
        idx = loc.private if loc.private_tx is tx else None
        if idx is None or loc.dirty or idx.version != version:
            idx = _load(version)
        loc.private, loc.private_tx = idx, tx
    else:
        if loc.private is not None:
            # Our transaction has ended: its writes are committed or gone, and the shared index
            # has seen neither; rebuild even if the writer forgot to bump the version.
            loc.dirty = True
            loc.private = loc.private_tx = None
        idx = _shared
        if idx is None or idx.version != version or loc.dirty:
            with _build_lock:
                idx = _shared
                if idx is None or idx.version != version or loc.dirty:
                    idx = _shared = _load(version)
    loc.dirty = False
    loc.checked_gen, loc.checked_at = gen, time.monotonic()
    return idx


def _current() -> SpatialIndex:
    """The index, checking the version only once per unit of work (see the module docstring)."""
    loc = _local
    if (
        not loc.dirty
        and loc.checked_gen == _generation
        and time.monotonic() - loc.checked_at < MAX_AGE
    ):
        priv = loc.private
        if priv is None:
            idx = _shared
            if idx is not None:
                return idx
        elif loc.private_tx is _outer_atomic():
            return priv
    return _refresh()


def ensure_fresh() -> SpatialIndex:
    """Check the version now (one query) and rebuild if another process changed the territory."""
    return _refresh()


def get_index() -> SpatialIndex:
    """The current index under the once-per-unit-of-work rule (for coverage, maps, reports)."""
    return _current()


# ---------------------------------------------------------------------------------------------
# the Locate service


def locate(lat: float, lng: float, crs: str = "wgs84") -> LocateResult:
    """The grid and micro-grid containing a point given in ``crs``; on a border the lowest code.

    Outside every grid: not found, with the nearest grid and its geodesic distance in metres.
    Raises DomainError ``invalid_crs`` / ``invalid_coordinate`` naming the field.
    """
    lat, lng = crs_mod.to_wgs84(lat, lng, crs)
    return _current().locate_wgs84(lat, lng)


def locate_many(lats, lngs, crs: str = "wgs84") -> list[str | None]:
    """Grid codes (None outside every grid) for arrays of points; one version check per call."""
    la, ln = crs_mod.to_wgs84_array(lats, lngs, crs)
    return ensure_fresh().locate_many_wgs84(la, ln)


def nearest_grid(lat: float, lng: float) -> tuple[str, float]:
    """The nearest grid to a WGS-84 point and the geodesic distance in metres (0 inside)."""
    lat, lng = crs_mod.check_lat_lng(lat, lng)
    idx = _current()
    if not idx.grid_count:
        raise DomainError("no_grids", _("No grid has a boundary yet."), status=404)
    return idx.nearest_wgs84(lat, lng)
