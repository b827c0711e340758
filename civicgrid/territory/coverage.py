"""Coverage check — "边界无重叠、责任无盲区" (docs/domain.md §1).

Within a parent, sibling grids (or child areas) must not overlap and must cover the parent's
boundary. Everything here works on lng/lat (WGS-84) shapely geometries; the overlay itself runs in a
local Lambert azimuthal equal-area plane (metres), so areas come out in m² and tolerances are metric.
See docs/coverage.md for the method and its accuracy against pyproj.Geod.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import shapely
from pyproj import Geod, Transformer
from shapely.geometry.base import BaseGeometry

WGS84 = Geod(ellps="WGS84")
_POLYGON = 3  # shapely.GeometryType.POLYGON
# Boundaries are drawn, stored and overlaid with edges straight in lng/lat (as GeoJSON defines
# them). Projected, such an edge is a curve: measuring it by its end points alone is off by the
# sag, about 0.24 m over 2 km at 38°N, which makes a long sliver of zero lng/lat area weigh
# hundreds of m². Edges are therefore split to at most this many degrees (~20 m) before they are
# measured; the residual error falls with the cube of the segment length (< 0.02 m² per km).
DENSIFY_DEG = 0.0002


# --- areas -----------------------------------------------------------------------------------------


def _polygons(geoms) -> tuple[np.ndarray, np.ndarray]:
    """Every polygon inside `geoms` (multi-parts and collections opened), with its source index."""
    parts, idx = shapely.get_parts(geoms, return_index=True)
    types = shapely.get_type_id(parts)
    nested = types >= 4  # multi-geometries inside a collection
    if nested.any():
        sub, k = shapely.get_parts(parts[nested], return_index=True)
        parts = np.concatenate([parts[~nested], sub])
        idx = np.concatenate([idx[~nested], idx[nested][k]])
        types = shapely.get_type_id(parts)
    keep = (types == _POLYGON) & ~shapely.is_empty(parts)
    return parts[keep], idx[keep]


def _dense_rings(polys: np.ndarray):
    """The rings of `polys` as one point array, each edge split to at most DENSIFY_DEG.

    Returns (points (n, 2), ring of each point, polygon of each ring, shell flag of each ring).
    A ring's points do not repeat its first point; it closes implicitly. Plain numpy rather than
    shapely.segmentize, which re-validates densified polygons with buffer(0) and can mangle the
    nearly degenerate slivers an overlay produces.
    """
    rings, poly = shapely.get_rings(polys, return_index=True)
    shell = np.ones(len(rings), dtype=bool)
    shell[1:] = poly[1:] != poly[:-1]  # get_rings lists each exterior first
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[:-1] == ring[1:]
    a, b, edge_ring = coords[:-1][same], coords[1:][same], ring[:-1][same]
    k = np.maximum(1, np.ceil(np.abs(b - a).max(axis=1) / DENSIFY_DEG)).astype(np.intp)
    edge = np.repeat(np.arange(len(k)), k)
    step = np.arange(len(edge)) - np.repeat(np.cumsum(k) - k, k)
    t = (step / k[edge])[:, None]
    points = a[edge] + t * (b[edge] - a[edge])
    return points, edge_ring[edge], poly, shell


def _signed_sum(ring_areas: np.ndarray, poly: np.ndarray, shell: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(poly, np.where(shell, ring_areas, -ring_areas), minlength=n)


def area_m2(geom) -> float:
    """Area (m², on the WGS-84 ellipsoid, pyproj.Geod) of a lng/lat geometry as drawn.

    Non-polygonal parts count 0. Edges are densified first (see DENSIFY_DEG). Rings are measured
    separately (holes subtracted) so the result does not depend on the orientation of the rings,
    unlike Geod.geometry_area_perimeter.
    """
    if geom is None or geom.is_empty:
        return 0.0
    polys, _idx = _polygons(np.asarray([geom], dtype=object))
    if not len(polys):
        return 0.0
    points, ring, poly, shell = _dense_rings(polys)
    starts = np.flatnonzero(np.r_[True, ring[1:] != ring[:-1]])
    ring_areas = np.zeros(len(shell))
    for start, end in zip(starts, np.r_[starts[1:], len(ring)], strict=True):
        area, _perimeter = WGS84.polygon_area_perimeter(points[start:end, 0], points[start:end, 1])
        ring_areas[ring[start]] = abs(area)
    return float(_signed_sum(ring_areas, poly, shell, len(polys)).sum())


# --- local equal-area plane ------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _transformers(lng0: float, lat0: float) -> tuple[Transformer, Transformer]:
    # LAEA on the WGS-84 ellipsoid is exactly equal-area anywhere; centring it on the data only
    # keeps shapes (and so the metric width tolerance) undistorted.
    laea = f"+proj=laea +lat_0={lat0} +lon_0={lng0} +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
    fwd = Transformer.from_crs("EPSG:4326", laea, always_xy=True)
    inv = Transformer.from_crs(laea, "EPSG:4326", always_xy=True)
    return fwd, inv


class Plane:
    """A local equal-area plane around a centre; projects whole geometry arrays in one call."""

    def __init__(self, lng0: float, lat0: float) -> None:
        # Rounded so that nearby checks share the (costly to build) transformers.
        self.lng0, self.lat0 = round(lng0, 1), round(lat0, 1)
        self._fwd, self._inv = _transformers(self.lng0, self.lat0)

    @classmethod
    def around(cls, geoms) -> Plane:
        arr = _as_array([g for g in geoms if g is not None and not g.is_empty])
        if not len(arr):
            return cls(0.0, 0.0)
        bounds = shapely.bounds(arr)
        x0, y0 = np.nanmin(bounds[:, 0]), np.nanmin(bounds[:, 1])
        x1, y1 = np.nanmax(bounds[:, 2]), np.nanmax(bounds[:, 3])
        if not np.isfinite([x0, y0, x1, y1]).all():
            return cls(0.0, 0.0)
        return cls((x0 + x1) / 2, (y0 + y1) / 2)

    def _apply(self, transformer: Transformer, geoms):
        def fn(coords):
            x, y = transformer.transform(coords[:, 0], coords[:, 1])
            return np.column_stack([x, y])

        return shapely.transform(geoms, fn)

    def to_plane(self, geoms):
        return self._apply(self._fwd, geoms)

    def to_lnglat(self, geoms):
        return self._apply(self._inv, geoms)

    def area_m2(self, geoms) -> np.ndarray:
        """Areas (m²) of lng/lat geometries as drawn, all projected in one pyproj call.

        Shoelace on the densified rings in the plane; None, empty and non-polygonal count 0.
        """
        geoms = np.asarray(geoms, dtype=object)
        out = np.zeros(len(geoms))
        polys, idx = _polygons(geoms)
        if not len(polys):
            return out
        points, ring, poly, shell = _dense_rings(polys)
        x, y = self._fwd.transform(points[:, 0], points[:, 1])
        x, y = np.asarray(x), np.asarray(y)
        starts = np.flatnonzero(np.r_[True, ring[1:] != ring[:-1]])
        first = np.repeat(starts, np.diff(np.r_[starts, len(ring)]))
        # Relative to each ring's first point: keeps the cross products small and exact.
        x, y = x - x[first], y - y[first]
        nxt = np.arange(1, len(ring) + 1)
        nxt[np.r_[starts[1:], len(ring)] - 1] = starts
        cross = x * y[nxt] - x[nxt] * y
        ring_areas = np.abs(np.bincount(ring, cross, minlength=len(shell))) / 2
        np.add.at(out, idx, _signed_sum(ring_areas, poly, shell, len(polys)))
        return out


# --- results ---------------------------------------------------------------------------------------


@dataclass
class Overlap:
    """Two siblings claim the same ground. lng/lat is a point inside the overlap."""

    a: str
    b: str
    area_m2: float
    lng: float
    lat: float
    geometry: BaseGeometry

    def as_dict(self) -> dict:
        return {
            "a": self.a,
            "b": self.b,
            "area_m2": round(self.area_m2, 2),
            "lng": round(self.lng, 7),
            "lat": round(self.lat, 7),
        }


@dataclass
class Gap:
    """Ground of the parent that no child covers (a 盲区). lng/lat is a point inside the gap."""

    area_m2: float
    lng: float
    lat: float
    geometry: BaseGeometry

    def as_dict(self) -> dict:
        return {
            "area_m2": round(self.area_m2, 2),
            "lng": round(self.lng, 7),
            "lat": round(self.lat, 7),
        }


@dataclass
class Outside:
    """Part of a child that lies outside its parent's boundary (it spills into a neighbour)."""

    code: str
    area_m2: float
    lng: float
    lat: float
    geometry: BaseGeometry

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "area_m2": round(self.area_m2, 2),
            "lng": round(self.lng, 7),
            "lat": round(self.lat, 7),
        }


# --- the overlay ---------------------------------------------------------------------------------
# Topology is decided in lng/lat, the plane the boundaries are drawn and stored in: a vertex that lies
# on a neighbour's straight lng/lat edge would sit a few centimetres off that edge once projected
# (parallels curve in any equal-area projection), which turns every T-junction of a 1 km border into
# a spurious sliver of several m². Only the resulting pieces are projected, to be measured.

# m² per square degree at the equator on a sphere of the WGS-84 authalic radius; times cos(lat).
_M2_PER_DEG2 = (math.pi / 180 * 6_371_007.2) ** 2


def _repair(geoms: np.ndarray) -> np.ndarray:
    """Invalid rings would make GEOS overlay raise; check on a valid copy, never touch stored data."""
    bad = ~shapely.is_valid(geoms) & ~shapely.is_missing(geoms)
    if bad.any():
        geoms = geoms.copy()
        geoms[bad] = shapely.make_valid(geoms[bad])
    return geoms


def _pieces(geoms: np.ndarray, plane: Plane, min_area_m2: float, min_width_m: float):
    """Split lng/lat overlay results into polygons and keep those above the tolerance.

    Returns (pieces in lng/lat, index of the source geometry, areas in m²). A piece narrower than
    min_width_m everywhere (a digitising sliver along a shared border) vanishes under a negative
    buffer of half that width and is dropped.
    """
    none = np.empty(0, dtype=object), np.empty(0, dtype=np.intp), np.empty(0)
    if not len(geoms):
        return none
    parts, idx = _polygons(geoms)
    if not len(parts):
        return none
    # A cheap spherical estimate drops floating-point crumbs before anything is projected; it is
    # within ~1 % of the ellipsoidal area, so half the tolerance is a safe cut.
    bounds = shapely.bounds(parts)
    approx = (
        shapely.area(parts) * _M2_PER_DEG2 * np.cos(np.radians((bounds[:, 1] + bounds[:, 3]) / 2))
    )
    keep = approx >= 0.5 * min_area_m2
    parts, idx = parts[keep], idx[keep]
    if not len(parts):
        return none
    areas = plane.area_m2(parts)
    keep = areas >= min_area_m2
    if min_width_m > 0 and keep.any():
        thin = shapely.is_empty(
            shapely.buffer(plane.to_plane(parts[keep]), -min_width_m / 2, quad_segs=2)
        )
        keep[np.flatnonzero(keep)[thin]] = False
    return parts[keep], idx[keep], areas[keep]


def _overlaps(
    geoms: np.ndarray,
    groups: np.ndarray | None,
    plane: Plane,
    min_area_m2: float,
    min_width_m: float,
):
    """Candidate pairs from one STRtree query, then vectorised intersections.

    Returns (i, j, pieces, areas) with i < j indexes into geoms; with `groups`, only pairs in the
    same group (siblings of one parent) count.
    """
    none = (np.empty(0, np.intp), np.empty(0, np.intp), np.empty(0, object), np.empty(0))
    if len(geoms) < 2:
        return none
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    mask = left < right
    if groups is not None:
        mask &= groups[left] == groups[right]
    left, right = left[mask], right[mask]
    if not len(left):
        return none
    # Neighbours sharing an edge intersect in a line: the polygon filter in _pieces drops them.
    inter = shapely.intersection(geoms[left], geoms[right])
    pieces, k, areas = _pieces(inter, plane, min_area_m2, min_width_m)
    return left[k], right[k], pieces, areas


def _points(pieces: np.ndarray):
    """A point inside each piece (point_on_surface: a centroid may fall outside an L or a ring)."""
    if not len(pieces):
        return np.empty(0), np.empty(0)
    pts = shapely.point_on_surface(pieces)
    return shapely.get_x(pts), shapely.get_y(pts)


def _as_array(geoms) -> np.ndarray:
    arr = np.empty(len(geoms), dtype=object)
    arr[:] = list(geoms)
    return arr


# --- primitives on plain geometries ----------------------------------------------------------------


def find_overlaps(
    geoms: Sequence[BaseGeometry],
    labels: Sequence[str],
    min_area_m2: float = 1.0,
    *,
    min_width_m: float = 0.0,
) -> list[Overlap]:
    """Every overlap between any two of `geoms` (lng/lat) of at least min_area_m2, one per piece.

    Missing or empty geometries are ignored. Sorted by (a, b), largest piece first.
    """
    if len(geoms) != len(labels):
        raise ValueError("geoms and labels must have the same length")
    arr = _repair(_as_array(geoms))
    if not len(arr):
        return []
    plane = Plane.around(arr)
    i, j, pieces, areas = _overlaps(arr, None, plane, min_area_m2, min_width_m)
    xs, ys = _points(pieces)
    out = [
        Overlap(str(labels[a]), str(labels[b]), float(m2), float(x), float(y), g)
        for a, b, m2, x, y, g in zip(i, j, areas, xs, ys, pieces, strict=True)
    ]
    out.sort(key=lambda o: (o.a, o.b, -o.area_m2))
    return out


def find_gaps(
    parent_geom: BaseGeometry,
    child_geoms: Sequence[BaseGeometry],
    min_area_m2: float = 1.0,
    *,
    min_width_m: float = 0.0,
) -> list[Gap]:
    """Every piece of `parent_geom` not covered by the union of `child_geoms`, largest first."""
    if parent_geom is None or parent_geom.is_empty:
        return []
    parent = _repair(_as_array([parent_geom]))[0]
    children = _repair(_as_array([g for g in child_geoms if g is not None]))
    plane = Plane.around([parent])
    rest = shapely.difference(parent, shapely.union_all(children)) if len(children) else parent
    pieces, _idx, areas = _pieces(_as_array([rest]), plane, min_area_m2, min_width_m)
    xs, ys = _points(pieces)
    out = [
        Gap(float(m2), float(x), float(y), g)
        for m2, x, y, g in zip(areas, xs, ys, pieces, strict=True)
    ]
    out.sort(key=lambda g: -g.area_m2)
    return out


def find_outside(
    parent_geom: BaseGeometry,
    child_geoms: Sequence[BaseGeometry],
    labels: Sequence[str],
    min_area_m2: float = 1.0,
    *,
    min_width_m: float = 0.0,
) -> list[Outside]:
    """Every piece of a child lying outside `parent_geom`."""
    if parent_geom is None or parent_geom.is_empty:
        return []
    parent = _repair(_as_array([parent_geom]))[0]
    children = _repair(_as_array(child_geoms))
    plane = Plane.around([parent])
    pieces, idx, areas = _pieces(
        shapely.difference(children, parent), plane, min_area_m2, min_width_m
    )
    xs, ys = _points(pieces)
    return [
        Outside(str(labels[k]), float(m2), float(x), float(y), g)
        for k, m2, x, y, g in zip(idx, areas, xs, ys, pieces, strict=True)
    ]


__all__ = [
    "Gap",
    "Outside",
    "Overlap",
    "Plane",
    "area_m2",
    "find_gaps",
    "find_outside",
    "find_overlaps",
]


# --- coverage of the territory tree ----------------------------------------------------------------


@dataclass
class CoverageReport:
    """The coverage of one parent: its children (grids of a community, or child areas) checked."""

    code: str
    name: str
    level: int
    children_kind: str  # "grid" or "area"
    children: int
    boundary: str  # "polygon" (its own), "children" (union of its children) or "none"
    gaps_checked: bool
    area_m2: float = 0.0  # of the boundary used
    covered_m2: float = 0.0  # of that boundary covered by at least one child
    overlaps: list[Overlap] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    outside: list[Outside] = field(default_factory=list)
    children_without_boundary: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # For maps: the boundary used and each child's (code, geometry); not part of as_dict().
    geometry: BaseGeometry | None = field(default=None, repr=False)
    child_geometries: list[tuple[str, BaseGeometry | None]] = field(
        default_factory=list, repr=False
    )

    @property
    def problems(self) -> int:
        return len(self.overlaps) + len(self.gaps) + len(self.outside)

    @property
    def ok(self) -> bool:
        return self.problems == 0

    @property
    def covered_ratio(self) -> float | None:
        return self.covered_m2 / self.area_m2 if self.area_m2 else None

    def as_dict(self) -> dict:
        ratio = self.covered_ratio
        return {
            "code": self.code,
            "name": self.name,
            "level": self.level,
            "children_kind": self.children_kind,
            "children": self.children,
            "boundary": self.boundary,
            "gaps_checked": self.gaps_checked,
            "area_m2": round(self.area_m2, 1),
            "covered_m2": round(self.covered_m2, 1),
            "covered_ratio": None if ratio is None else round(ratio, 6),
            "ok": self.ok,
            "overlaps": [o.as_dict() for o in self.overlaps],
            "gaps": [g.as_dict() for g in self.gaps],
            "outside": [o.as_dict() for o in self.outside],
            "children_without_boundary": self.children_without_boundary,
            "repaired": self.repaired,
            "notes": self.notes,
        }


class _Tree:
    """One city's areas and grids as loaded rows, with boundaries derived bottom-up on demand."""

    def __init__(self, areas: list[tuple], grids: list[tuple]) -> None:
        # areas: (id, code, name, level, parent_id, wkb); grids: (code, area_id, wkb)
        self.areas = {row[0]: row[1:5] for row in areas}
        raw_areas = _from_wkb([row[5] for row in areas])
        raw_grids = _from_wkb([row[2] for row in grids])
        self.repaired = {areas[k][1] for k in np.flatnonzero(_invalid(raw_areas))}
        self.repaired |= {grids[k][0] for k in np.flatnonzero(_invalid(raw_grids))}
        area_geoms, grid_geoms = _repair(raw_areas), _repair(raw_grids)
        self.own = {row[0]: g for row, g in zip(areas, area_geoms, strict=True)}
        self.child_areas: dict[int, list[int]] = {}
        for pk, (_code, _name, _level, parent_id) in self.areas.items():
            if parent_id in self.areas:
                self.child_areas.setdefault(parent_id, []).append(pk)
        self.grids: dict[int, list[tuple[str, BaseGeometry | None]]] = {}
        for (code, area_id, _wkb), g in zip(grids, grid_geoms, strict=True):
            self.grids.setdefault(area_id, []).append((code, g))
        for lst in self.child_areas.values():
            lst.sort(key=lambda pk: self.areas[pk][0])
        for lst in self.grids.values():
            lst.sort()
        self._derived: dict[int, BaseGeometry | None] = {}

    def children(self, pk: int) -> list[tuple[str, BaseGeometry | None]]:
        kids = [(self.areas[c][0], self.boundary(c)) for c in self.child_areas.get(pk, [])]
        return kids + self.grids.get(pk, [])

    def boundary(self, pk: int) -> BaseGeometry | None:
        if self.own[pk] is not None:
            return self.own[pk]
        if pk not in self._derived:
            geoms = [g for _code, g in self.children(pk) if g is not None]
            self._derived[pk] = shapely.union_all(geoms) if geoms else None
        return self._derived[pk]


def _from_wkb(blobs: list) -> np.ndarray:
    arr = _as_array([bytes(b) if b is not None else None for b in blobs])
    return shapely.from_wkb(arr) if len(arr) else arr


def _invalid(geoms: np.ndarray) -> np.ndarray:
    if not len(geoms):
        return np.zeros(0, dtype=bool)
    return ~shapely.is_valid(geoms) & ~shapely.is_missing(geoms)


def _check_tree(tree: _Tree, parents: list[int], min_area_m2: float, min_width_m: float):
    from django.utils.translation import gettext as _

    families = []  # (pk, children [(code, geom)], parent geom or None, derived?)
    for pk in parents:
        kids = tree.children(pk)
        own = tree.own[pk]
        if not kids and own is None:
            continue
        families.append((pk, kids, own))
    if not families:
        return []
    all_geoms = [g for _pk, kids, own in families for g in [own, *(k[1] for k in kids)]]
    plane = Plane.around(all_geoms)

    # Overlaps between siblings: one STRtree over every child of every parent, pairs kept when
    # they share a parent.
    codes, geoms, groups = [], [], []
    for f, (_pk, kids, _own) in enumerate(families):
        for code, g in kids:
            if g is not None:
                codes.append(code)
                geoms.append(g)
                groups.append(f)
    geoms_arr, groups_arr = _as_array(geoms), np.asarray(groups, dtype=np.intp)
    i, j, pieces, areas = _overlaps(geoms_arr, groups_arr, plane, min_area_m2, min_width_m)
    xs, ys = _points(pieces)
    overlaps: dict[int, list[Overlap]] = {}
    for a, b, m2, x, y, g in zip(i, j, areas, xs, ys, pieces, strict=True):
        overlaps.setdefault(int(groups_arr[a]), []).append(
            Overlap(codes[a], codes[b], float(m2), float(x), float(y), g)
        )

    # Gaps: what of each parent's own polygon the union of its children leaves uncovered.
    bounds, unions = [], []
    for pk, kids, own in families:
        kid_geoms = [g for _c, g in kids if g is not None]
        union = tree.boundary(pk) if own is None else None
        if own is not None and kid_geoms:
            union = shapely.union_all(kid_geoms)
        bounds.append(own if own is not None else union)
        unions.append(union)
    bounds_arr, unions_arr = _as_array(bounds), _as_array(unions)
    has_own = np.asarray([own is not None for _pk, _k, own in families])
    rests = _as_array([None] * len(families))
    rests[has_own] = shapely.difference(bounds_arr[has_own], unions_arr[has_own])
    no_kids = has_own & shapely.is_missing(unions_arr)
    rests[no_kids] = bounds_arr[no_kids]
    boundary_m2 = np.nan_to_num(plane.area_m2(bounds_arr))
    rest_m2 = np.nan_to_num(plane.area_m2(rests))
    pieces, idx, areas = _pieces(rests, plane, min_area_m2, min_width_m)
    xs, ys = _points(pieces)
    gaps: dict[int, list[Gap]] = {}
    for f, m2, x, y, g in zip(idx, areas, xs, ys, pieces, strict=True):
        gaps.setdefault(int(f), []).append(Gap(float(m2), float(x), float(y), g))

    # Spills: parts of a child outside its parent's own polygon (a derived boundary holds its
    # children by construction). Only children the prepared parent does not cover are cut.
    outside: dict[int, list[Outside]] = {}
    if len(geoms_arr):
        child_parent = bounds_arr[groups_arr]
        mask = has_own[groups_arr]
        shapely.prepare(bounds_arr[has_own])
        mask[mask] = ~shapely.covers(child_parent[mask], geoms_arr[mask])
        sel = np.flatnonzero(mask)
        diff = shapely.difference(geoms_arr[sel], child_parent[sel])
        pieces, idx, areas = _pieces(diff, plane, min_area_m2, min_width_m)
        xs, ys = _points(pieces)
        for k, m2, x, y, g in zip(sel[idx], areas, xs, ys, pieces, strict=True):
            outside.setdefault(int(groups_arr[k]), []).append(
                Outside(codes[k], float(m2), float(x), float(y), g)
            )

    reports = []
    for f, (pk, kids, own) in enumerate(families):
        code, name, level, _parent_id = tree.areas[pk]
        is_grid = bool(tree.grids.get(pk))
        kid_codes = {c for c, _g in kids}
        report = CoverageReport(
            code=code,
            name=name,
            level=level,
            children_kind="grid" if is_grid or level == 4 else "area",
            children=len(kids),
            boundary="polygon" if own is not None else ("children" if bounds[f] else "none"),
            gaps_checked=own is not None,
            area_m2=float(boundary_m2[f]),
            covered_m2=float(boundary_m2[f] - rest_m2[f]),
            overlaps=sorted(overlaps.get(f, []), key=lambda o: (o.a, o.b, -o.area_m2)),
            gaps=sorted(gaps.get(f, []), key=lambda g: -g.area_m2),
            outside=sorted(outside.get(f, []), key=lambda o: (o.code, -o.area_m2)),
            children_without_boundary=[c for c, g in kids if g is None],
            repaired=sorted(tree.repaired & (kid_codes | {code})),
            geometry=bounds[f],
            child_geometries=kids,
        )
        if own is None:
            report.notes.append(
                _(
                    "This area has no boundary polygon of its own; its extent is the union of its "
                    "children, so gaps cannot be checked here (check them at the level above)."
                )
            )
        if not kids:
            report.notes.append(_("No children: the whole area is uncovered."))
        if report.children_without_boundary:
            report.notes.append(
                _("%(n)d children have no boundary and were left out: %(codes)s")
                % {
                    "n": len(report.children_without_boundary),
                    "codes": ", ".join(report.children_without_boundary),
                }
            )
        if report.repaired:
            report.notes.append(
                _("Invalid boundaries were repaired for this check only (not saved): %(codes)s")
                % {"codes": ", ".join(report.repaired)}
            )
        reports.append(report)
    return reports


def _load(prefix: str = "") -> dict[str, _Tree]:
    """Every area and grid under `prefix`, one _Tree per city (the unit that shares a plane)."""
    from .models import Area, Grid

    areas = Area.objects.all()
    grids = Grid.objects.all()
    if prefix:
        areas = areas.filter(code__startswith=prefix)
        grids = grids.filter(code__startswith=prefix)
    by_city: dict[str, tuple[list, list]] = {}
    for row in areas.values_list("id", "code", "name", "level", "parent_id", "boundary"):
        by_city.setdefault(row[1][:4], ([], []))[0].append(row)
    for row in grids.values_list("code", "area_id", "boundary"):
        by_city.setdefault(row[0][:4], ([], []))[1].append(row)
    return {city: _Tree(a, g) for city, (a, g) in sorted(by_city.items())}


def check_coverage(parent, *, min_area_m2: float = 1.0, min_width_m: float = 0.0) -> CoverageReport:
    """Coverage of one area: its grids (a community) or its child areas (above community level).

    The parent's boundary is its own polygon or, failing that, the union of its children, in which
    case gaps are not checked (the report says so).
    """
    tree = _load(parent.prefix)[parent.code[:4]]
    reports = _check_tree(tree, [parent.pk], min_area_m2, min_width_m)
    if reports:
        return reports[0]
    return CoverageReport(
        code=parent.code,
        name=parent.name,
        level=parent.level,
        children_kind="grid" if parent.level == 4 else "area",
        children=0,
        boundary="none",
        gaps_checked=False,
        notes=[_no_data_note()],
    )


def _no_data_note() -> str:
    from django.utils.translation import gettext as _

    return _("This area has neither a boundary polygon nor children: nothing to check.")


def check_all(
    root=None, *, min_area_m2: float = 1.0, min_width_m: float = 0.0
) -> list[CoverageReport]:
    """Coverage of every parent (areas at every level) in the territory, or under `root`.

    Areas with neither a polygon nor children are skipped. Sorted by code.
    """
    reports: list[CoverageReport] = []
    for tree in _load(root.prefix if root is not None else "").values():
        parents = sorted(tree.areas, key=lambda pk: tree.areas[pk][0])
        reports += _check_tree(tree, parents, min_area_m2, min_width_m)
    return reports
