"""Polygons of the demo city: an irregular outline split recursively into Voronoi cells.

Every split is a partition of its parent: the Voronoi diagram covers the parent's envelope, each
cell is clipped to the parent, and a cell that the clipping cuts into several pieces keeps its
largest piece and hands the others to the neighbour sharing the longest border. So children never
overlap, leave no gap, and each is one valid polygon.

Seeds are drawn and the diagram is built in a local metric plane (so cells are not stretched by
the 1° lng ≠ 1° lat distortion at 40° N), but clipping happens in lng/lat against the parent's own
coordinates: no child is ever re-projected after clipping, which keeps shared borders exact.
"""

from __future__ import annotations

import math
import random

import numpy as np
import shapely
from shapely.geometry import MultiPoint, Point, Polygon

# Centre of the fictional city (northern Shanxi, near 113.3° E 40.1° N).
LNG0, LAT0 = 113.30, 40.08
KY = 110_574.0  # metres per degree of latitude
KX = 111_320.0 * math.cos(math.radians(LAT0))  # metres per degree of longitude here

_RELAX = 2  # Lloyd iterations: enough to even out cell sizes without looking like a honeycomb


def to_plane(geom):
    return shapely.transform(
        geom, lambda c: np.column_stack([(c[:, 0] - LNG0) * KX, (c[:, 1] - LAT0) * KY])
    )


def to_lnglat(geom):
    return shapely.transform(
        geom, lambda c: np.column_stack([c[:, 0] / KX + LNG0, c[:, 1] / KY + LAT0])
    )


def blob(rng: random.Random, cx: float, cy: float, rx: float, ry: float, n: int = 180) -> Polygon:
    """An irregular star-shaped polygon in the metric plane (a coastline-like radius function)."""
    harmonics = [
        (k, rng.uniform(0.10, 0.22) / k**0.9, rng.uniform(0, 2 * math.pi)) for k in range(2, 14)
    ]
    pts = []
    for i in range(n):
        t = 2 * math.pi * i / n
        r = 1 + sum(a * math.sin(k * t + ph) for k, a, ph in harmonics)
        r *= 1 + rng.uniform(-0.015, 0.015)
        r = min(max(r, 0.6), 1.45)  # a positive radius keeps the shape star-shaped, hence simple
        pts.append((cx + rx * r * math.cos(t), cy + ry * r * math.sin(t)))
    poly = Polygon(pts)
    return poly if poly.is_valid else shapely.make_valid(poly).geoms[0]


def _np_rng(rng: random.Random) -> np.random.Generator:
    return np.random.default_rng(rng.getrandbits(63))


def _sample(parent_ll, n: int, gen: np.random.Generator) -> np.ndarray:
    """n uniform points (lng/lat) inside the parent, by rejection from its bounding box."""
    x0, y0, x1, y1 = parent_ll.bounds
    shapely.prepare(parent_ll)
    out = np.empty((0, 2))
    while len(out) < n:
        m = max(16, 4 * (n - len(out)))
        cand = np.column_stack([gen.uniform(x0, x1, m), gen.uniform(y0, y1, m)])
        cand = cand[shapely.contains_xy(parent_ll, cand[:, 0], cand[:, 1])]
        out = np.vstack([out, cand])
    return out[:n]


def _cells(points_ll: np.ndarray, parent_ll, parent_pl) -> np.ndarray:
    """Voronoi cells of the points (built in the plane), clipped to the parent in lng/lat."""
    pts_pl = np.column_stack([(points_ll[:, 0] - LNG0) * KX, (points_ll[:, 1] - LAT0) * KY])
    x0, y0, x1, y1 = parent_pl.bounds
    pad = max(x1 - x0, y1 - y0)
    env = shapely.box(x0 - pad, y0 - pad, x1 + pad, y1 + pad)
    diagram = shapely.voronoi_polygons(MultiPoint(pts_pl), extend_to=env, ordered=True)
    raw = to_lnglat(np.asarray(diagram.geoms, dtype=object))
    return shapely.intersection(raw, parent_ll)


def _polygons(geom) -> list[Polygon]:
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and not p.is_empty]
    return sorted(parts, key=lambda p: -p.area)


def _single_parts(cells: list) -> list[Polygon]:
    """Give every stray piece of a multi-part cell to the neighbour sharing its longest border."""
    out: list = list(cells)
    for _attempt in range(5):
        strays = []
        for i, cell in enumerate(out):
            parts = _polygons(cell)
            if not parts:  # cannot happen with seeds inside the parent; fail loudly if it does
                raise ValueError("empty Voronoi cell")
            out[i] = parts[0]
            strays.extend((i, p) for p in parts[1:])
        if not strays:
            return out
        for i, piece in strays:
            borders = shapely.length(
                shapely.intersection(
                    shapely.boundary(np.asarray(out, dtype=object)), piece.boundary
                )
            )
            borders[i] = -1
            j = int(np.argmax(borders))
            out[j] = shapely.union(out[j], piece) if borders[j] > 0 else out[j]
            if borders[j] <= 0:  # touches nobody else: give it back rather than lose ground
                out[i] = shapely.union(out[i], piece)
    return out


def partition(parent_ll, n: int, rng: random.Random, seeds_ll: np.ndarray | None = None) -> list:
    """Split a lng/lat polygon into n polygons that tile it exactly (in no particular order)."""
    if n <= 1:
        return [parent_ll]
    parent_pl = to_plane(parent_ll)
    if seeds_ll is None:
        pts = _sample(parent_ll, n, _np_rng(rng))
        relax = _RELAX
    else:
        pts, relax = np.asarray(seeds_ll, dtype=float), 0
    for _ in range(relax):
        cells = _cells(pts, parent_ll, parent_pl)
        centroids = shapely.centroid(cells)
        inside = shapely.contains(parent_ll, centroids)
        fallback = shapely.point_on_surface(cells)
        moved = np.where(inside, centroids, fallback)
        pts = shapely.get_coordinates(moved)
        if len(pts) != n:  # a degenerate (empty) cell: keep the previous seeds
            break
    cells = _cells(pts, parent_ll, parent_pl)
    return _single_parts(list(cells))


def halves(parent_ll, centre, start_angle: float, k: int, rng: random.Random) -> tuple:
    """Split a polygon in two along a zig-zag line of Voronoi edges through ``centre``.

    The parent is cut into k relaxed cells; cells whose centroid lies within the half-turn
    starting at ``start_angle`` (radians, seen from centre) form the first half. A half that would
    fall apart into pieces is retried with other cells, then cut straight as a last resort.
    """
    cx, cy = centre
    for _attempt in range(6):
        cells = partition(parent_ll, k, rng)
        first, second = [], []
        for cell in cells:
            c = cell.centroid
            angle = math.atan2((c.y - cy) * KY, (c.x - cx) * KX)
            (first if (angle - start_angle) % (2 * math.pi) < math.pi else second).append(cell)
        if first and second:
            a, b = shapely.union_all(first), shapely.union_all(second)
            if a.geom_type == b.geom_type == "Polygon":
                return a, b
    mid = start_angle + math.pi / 2
    d = 1.0
    seeds = [
        (cx + d * math.cos(mid), cy + d * math.sin(mid)),
        (cx - d * math.cos(mid), cy - d * math.sin(mid)),
    ]
    a, b = partition(parent_ll, 2, rng, seeds_ll=np.asarray(seeds))
    return a, b


def reading_order(cells: list, parent_ll) -> list[int]:
    """Indices of the cells numbered west→east within rows running north→south."""
    n = len(cells)
    if n <= 1:
        return list(range(n))
    parent_pl = to_plane(parent_ll)
    row_height = math.sqrt(parent_pl.area / n)
    top = parent_pl.bounds[3]
    cent = shapely.get_coordinates(shapely.centroid(to_plane(np.asarray(cells, dtype=object))))
    keys = [(math.floor((top - y) / row_height), x) for x, y in cent]
    return sorted(range(n), key=lambda i: keys[i])


def lnglat_point(x_m: float, y_m: float) -> Point:
    return Point(x_m / KX + LNG0, y_m / KY + LAT0)
