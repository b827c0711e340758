"""Coverage check — "边界无重叠、责任无盲区" (DOMAIN §1).

Within a parent, sibling grids (or child areas) must not overlap and must cover the parent's
boundary. Everything here works on lng/lat (WGS-84) shapely geometries; the overlay itself runs in a
local Lambert azimuthal equal-area plane (metres), so areas come out in m² and tolerances are metric.
See docs/coverage.md for the method and its accuracy against pyproj.Geod.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import shapely
from pyproj import Geod, Transformer
from shapely.geometry.base import BaseGeometry

WGS84 = Geod(ellps="WGS84")
_POLYGON = 3  # shapely.GeometryType.POLYGON


# --- areas -----------------------------------------------------------------------------------------


def _ring_area(ring) -> float:
    lngs, lats = ring.coords.xy
    area, _perimeter = WGS84.polygon_area_perimeter(lngs, lats)
    return abs(area)


def area_m2(geom) -> float:
    """Geodesic area (m², WGS-84 ellipsoid) of a lng/lat geometry; non-polygonal parts count 0.

    Rings are measured separately (holes subtracted) so the result does not depend on the
    orientation of the rings, unlike Geod.geometry_area_perimeter.
    """
    if geom is None or geom.is_empty:
        return 0.0
    total = 0.0
    for part in shapely.get_parts(geom):
        if part.geom_type == "Polygon":
            total += _ring_area(part.exterior) - sum(_ring_area(r) for r in part.interiors)
        elif part.geom_type in ("MultiPolygon", "GeometryCollection"):
            total += area_m2(part)
    return total


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
        """Areas (m²) of lng/lat geometries, all projected in one pyproj call."""
        return shapely.area(self.to_plane(geoms))


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
    parts, idx = shapely.get_parts(geoms, return_index=True)
    keep = shapely.get_type_id(parts) == _POLYGON
    parts, idx = parts[keep], idx[keep]
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
    projected = plane.to_plane(parts)
    areas = shapely.area(projected)
    keep = areas >= min_area_m2
    if min_width_m > 0:
        keep &= ~shapely.is_empty(shapely.buffer(projected, -min_width_m / 2, quad_segs=2))
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
