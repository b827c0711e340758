"""Boundary polygons: parse GeoJSON/WKT into shapely (lng/lat, WGS-84) and validate them.

Every error is a DomainError with a specific code so an import can list the reason per feature:
``not_polygon``, ``empty_geometry``, ``geometry_required``, ``invalid_geojson``, ``invalid_wkt``,
``ring_not_closed``, ``too_few_points``, ``coordinates_out_of_range``, ``self_intersection``,
``invalid_geometry``, ``outside_parent``.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import numpy as np
import shapely
from django.utils.translation import gettext as _
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry

from civicgrid.core.errors import DomainError

POLYGONAL = ("Polygon", "MultiPolygon")

# A child (grid in its community, micro-grid in its grid, area in its parent area) may stick out
# of its parent by at most max(OUTSIDE_MIN_M2, OUTSIDE_RATIO x child area). Child and parent
# boundaries are usually digitised separately (the civil-affairs boundary survey vs. a grid map
# drawn by the street office), so shared edges disagree by decimetres, and rounding to 6
# decimals alone moves a vertex by ~0.1 m. 0.5 % absorbs a ~0.5 m sliver along the edge of a
# typical 0.1-0.5 km² grid while still catching a grid drawn into the neighbouring community,
# which puts several percent outside; the 1 m² floor absorbs float noise on tiny micro-grids.
OUTSIDE_MIN_M2 = 1.0
OUTSIDE_RATIO = 0.005

_LOCATION_RE = re.compile(r"\[\s*([-+0-9.eE]+)\s+([-+0-9.eE]+)")


def parse_geometry(
    value: Any, *, field: str = "geometry", repair: bool = False
) -> Polygon | MultiPolygon:
    """Parse a GeoJSON geometry (dict or JSON text), WKT, WKB or shapely geometry and validate it.

    Invalid polygons are refused; with ``repair=True`` they are repaired with make_valid and only
    the polygonal parts are kept.
    """
    geom, _reason = parse_and_check(value, field=field, repair=repair)
    return geom


def parse_and_check(
    value: Any, *, field: str = "geometry", repair: bool = False, transform=None
) -> tuple[Polygon | MultiPolygon, str]:
    """Like parse_geometry, also returning the validity problem that was repaired ("" if none).

    ``transform`` (optional) maps the geometry to WGS-84 before validation, for GCJ-02/BD-09
    (``io.coordinate_transform``: edges are densified before the vertices are converted).
    """
    geom = load_geometry(value, field=field)
    if transform is not None:
        # Type and ranges are checked on the coordinates as given, so the message shows them.
        _check_type(geom, field)
        _check_coordinates(geom, field)
        geom = transform(geom)
    return check_polygon(geom, field=field, repair=repair)


def load_geometry(value: Any, *, field: str = "geometry") -> BaseGeometry:
    """Turn the input into a shapely geometry, checking the GeoJSON structure on the way."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise DomainError("geometry_required", _("A boundary polygon is required."), field=field)
    if isinstance(value, BaseGeometry):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        try:
            return shapely.from_wkb(bytes(value))
        except shapely.errors.GEOSException as exc:
            raise DomainError(
                "invalid_geometry", _("Unreadable WKB: %(err)s") % {"err": exc}, field=field
            ) from exc
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{"):
            try:
                value = json.loads(text)
            except ValueError as exc:
                raise DomainError(
                    "invalid_geojson",
                    _("The geometry is not valid JSON: %(err)s") % {"err": exc},
                    field=field,
                ) from exc
        else:
            return _from_wkt(text, field)
    if isinstance(value, dict):
        return _from_geojson(value, field)
    raise DomainError(
        "invalid_geometry",
        _("Unsupported geometry value of type %(type)s.") % {"type": type(value).__name__},
        field=field,
    )


def _from_wkt(text: str, field: str) -> BaseGeometry:
    try:
        return shapely.from_wkt(text)
    except shapely.errors.GEOSException as exc:
        msg = str(exc)
        if "closed linestring" in msg:
            raise DomainError(
                "ring_not_closed",
                _("A polygon ring is not closed (its first and last points differ)."),
                field=field,
            ) from exc
        if "must be 0 or >= 4" in msg or "number of points" in msg:
            raise DomainError(
                "too_few_points",
                _("A polygon ring needs at least 4 points (3 corners and the closing point)."),
                field=field,
            ) from exc
        raise DomainError(
            "invalid_wkt", _("The WKT text cannot be read: %(err)s") % {"err": msg}, field=field
        ) from exc


def _from_geojson(obj: dict, field: str) -> BaseGeometry:
    if obj.get("type") == "Feature":
        obj = obj.get("geometry")
        if obj is None:
            raise DomainError(
                "geometry_required", _("A boundary polygon is required."), field=field
            )
    gtype = obj.get("type")
    if gtype not in POLYGONAL:
        raise DomainError(
            "not_polygon",
            _("The boundary must be a Polygon or MultiPolygon, not %(type)s.")
            % {"type": gtype or _("an unknown type")},
            field=field,
        )
    coords = obj.get("coordinates")
    polygons = [coords] if gtype == "Polygon" else coords
    if not isinstance(polygons, list | tuple):
        raise DomainError("invalid_geojson", _("The coordinates are not a list."), field=field)
    for poly in polygons:
        if not isinstance(poly, list | tuple):
            raise DomainError(
                "invalid_geojson", _("A polygon's coordinates are not a list."), field=field
            )
        for ring in poly:
            _check_ring(ring, field)
    try:
        return shape(obj)
    except (ValueError, TypeError, shapely.errors.GEOSException) as exc:
        raise DomainError(
            "invalid_geojson",
            _("The geometry cannot be read: %(err)s") % {"err": exc},
            field=field,
        ) from exc


def _check_ring(ring: Any, field: str) -> None:
    if not isinstance(ring, list | tuple):
        raise DomainError("invalid_geojson", _("A polygon ring is not a list."), field=field)
    for pos in ring:
        if (
            not isinstance(pos, list | tuple)
            or len(pos) < 2
            or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in pos)
        ):
            raise DomainError(
                "invalid_geojson",
                _("Position %(pos)s is not a pair of numbers [longitude, latitude].")
                % {"pos": json.dumps(pos)[:60]},
                field=field,
            )
    if len(ring) < 4:
        raise DomainError(
            "too_few_points",
            _(
                "A polygon ring has %(n)d points; at least 4 are needed (3 corners and the "
                "closing point)."
            )
            % {"n": len(ring)},
            field=field,
        )
    if list(ring[0][:2]) != list(ring[-1][:2]):
        raise DomainError(
            "ring_not_closed",
            _("A polygon ring is not closed: it starts at %(first)s and ends at %(last)s.")
            % {"first": list(ring[0][:2]), "last": list(ring[-1][:2])},
            field=field,
        )


def check_polygon(
    geom: BaseGeometry, *, field: str = "geometry", repair: bool = False
) -> tuple[Polygon | MultiPolygon, str]:
    """Validate a shapely geometry as a lng/lat boundary; return it (repaired) and the problem."""
    _check_type(geom, field)
    if shapely.has_z(geom):
        geom = shapely.force_2d(geom)
    _check_coordinates(geom, field)
    _check_ring_sizes(geom, field)
    reason = shapely.is_valid_reason(geom)
    if reason == "Valid Geometry":
        return geom, ""
    lng, lat = _location(reason)
    if not repair:
        code = "self_intersection" if "Self-intersection" in reason else "invalid_geometry"
        raise DomainError(
            code,
            _(
                "The boundary polygon is invalid: %(reason)s. Fix it, or import with the repair "
                "option to repair it automatically."
            )
            % {"reason": reason},
            field=field,
            details={"reason": reason, "lng": lng, "lat": lat},
        )
    return repair_polygon(geom, field=field), reason


def _check_type(geom: BaseGeometry | None, field: str) -> None:
    if geom is None:
        raise DomainError("geometry_required", _("A boundary polygon is required."), field=field)
    if geom.geom_type not in POLYGONAL:
        raise DomainError(
            "not_polygon",
            _("The boundary must be a Polygon or MultiPolygon, not %(type)s.")
            % {"type": geom.geom_type},
            field=field,
        )
    if geom.is_empty:
        raise DomainError("empty_geometry", _("The boundary polygon is empty."), field=field)


def repair_polygon(geom: BaseGeometry, *, field: str = "geometry") -> Polygon | MultiPolygon:
    """make_valid, keeping only the polygonal parts (collapsed lines and points are dropped)."""
    # The "structure" method unions the shells and subtracts the union of the holes, so
    # overlapping holes become one hole instead of an island inside a hole (the "linework"
    # method's reading), which is what the drawer of such a polygon meant.
    fixed = shapely.make_valid(geom, method="structure", keep_collapsed=False)
    parts = [p for p in shapely.get_parts(fixed) if p.geom_type in POLYGONAL and not p.is_empty]
    out = shapely.union_all(parts) if parts else None
    if out is None or out.is_empty or out.geom_type not in POLYGONAL:
        raise DomainError(
            "invalid_geometry",
            _("The boundary polygon cannot be repaired: nothing polygonal remains."),
            field=field,
        )
    return out


def _check_coordinates(geom: BaseGeometry, field: str) -> None:
    xy = shapely.get_coordinates(geom)
    bad = ~np.isfinite(xy).all(axis=1)
    bad |= (np.abs(xy[:, 0]) > 180) | (np.abs(xy[:, 1]) > 90)
    if bad.any():
        x, y = xy[int(np.argmax(bad))]
        raise DomainError(
            "coordinates_out_of_range",
            _(
                "Point (%(x)s, %(y)s) is not a longitude/latitude in degrees: longitude must be "
                "within ±180 and latitude within ±90 (WGS-84; projected metres are not accepted)."
            )
            % {"x": _fmt(x), "y": _fmt(y)},
            field=field,
            details={"lng": _num(x), "lat": _num(y)},
        )


def _check_ring_sizes(geom: BaseGeometry, field: str) -> None:
    # WKT and shapely accept a 3-point "ring" (A B A); it encloses nothing.
    rings = shapely.get_rings(geom)
    sizes = shapely.get_num_coordinates(rings)
    if (sizes < 4).any():
        raise DomainError(
            "too_few_points",
            _(
                "A polygon ring has %(n)d points; at least 4 are needed (3 corners and the "
                "closing point)."
            )
            % {"n": int(sizes.min())},
            field=field,
        )


def _location(reason: str) -> tuple[float | None, float | None]:
    m = _LOCATION_RE.search(reason)
    if not m:
        return None, None
    try:
        return float(m.group(1)), float(m.group(2))
    except ValueError:
        return None, None


def _fmt(v: float) -> str:
    return f"{v:.6f}" if math.isfinite(v) else str(v)


def _num(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def outside_area(child: BaseGeometry, parent: BaseGeometry) -> tuple[float, BaseGeometry | None]:
    """Area in m² of the part of ``child`` outside ``parent``, and that part (None if none)."""
    from .coverage import area_m2

    if shapely.covers(parent, child):
        return 0.0, None
    rest = shapely.difference(child, parent)
    if rest.is_empty:
        return 0.0, None
    return float(area_m2(rest)), rest


def outside_allowance_m2(child_area_m2: float) -> float:
    return max(OUTSIDE_MIN_M2, OUTSIDE_RATIO * child_area_m2)


def check_inside(
    child: BaseGeometry,
    parent: BaseGeometry | None,
    *,
    child_label: str,
    parent_label: str,
    field: str = "geometry",
) -> None:
    """Refuse a child sticking out of its parent beyond the tolerance; no parent boundary: ok."""
    if parent is None or parent.is_empty:
        return
    outside_m2, rest = outside_area(child, parent)
    if rest is None:
        return
    from .coverage import area_m2

    total = float(area_m2(child))
    if outside_m2 <= outside_allowance_m2(total):
        return
    raise outside_error(child_label, parent_label, outside_m2, total, rest, field=field)


def outside_error(
    child_label: str,
    parent_label: str,
    outside_m2: float,
    child_m2: float,
    rest: BaseGeometry,
    *,
    field: str = "geometry",
) -> DomainError:
    pt = rest.representative_point()
    share = 100.0 * outside_m2 / child_m2 if child_m2 else 100.0
    return DomainError(
        "outside_parent",
        _(
            "%(child)s lies partly outside its parent %(parent)s: %(m2).1f m² (%(pct).1f %%) "
            "outside, near (%(lng).6f, %(lat).6f)."
        )
        % {
            "child": child_label,
            "parent": parent_label,
            "m2": outside_m2,
            "pct": share,
            "lng": pt.x,
            "lat": pt.y,
        },
        field=field,
        details={
            "outside_m2": round(outside_m2, 2),
            "outside_percent": round(share, 3),
            "lng": pt.x,
            "lat": pt.y,
            "parent": parent_label,
        },
    )


def same_geometry(a: BaseGeometry | None, b: BaseGeometry | None) -> bool:
    """True when both boundaries describe the same shape (ring start and orientation ignored)."""
    if a is None or b is None:
        return a is None and b is None
    if a.equals_exact(b, 1e-9):
        return True
    return shapely.normalize(a).equals_exact(shapely.normalize(b), 1e-9)
