"""Coordinate conversion between WGS-84, GCJ-02 (国测局/火星坐标) and BD-09 (百度坐标).

Coordinates are stored in WGS-84. Most Chinese phone maps (高德, 腾讯, 微信) report GCJ-02 and Baidu
reports BD-09, so inputs carry a ``crs`` and are converted here before anything is located.

The GCJ-02 offset is the widely published reverse-engineered polynomial (Krasovsky ellipsoid
a = 6378245 m, e² = 0.00669342162296594323); BD-09 adds Baidu's published rotation/scaling on top of
GCJ-02. The offset applies only inside a rough bounding box of China (the same box every
published implementation uses); outside it GCJ-02 is WGS-84 unchanged.

There is no closed-form inverse, so GCJ-02 → WGS-84 and BD-09 → GCJ-02 are solved by fixed-point
iteration on the forward transform until the forward image matches the input to better than
``INVERSE_TOLERANCE`` degrees (far below the 1e-7° ≈ 1 cm requirement).

Every function takes and returns ``(lat, lng)`` in that order. Scalar forms use ``math`` (a few
microseconds per point, used by single-point locate); ``*_array`` forms take array-likes and are
vectorised with numpy (used by bulk locate).
"""

from __future__ import annotations

import math

import numpy as np
from django.utils.translation import gettext as _

from civicgrid.core.errors import DomainError

WGS84, GCJ02, BD09 = "wgs84", "gcj02", "bd09"
CRS_CHOICES = (WGS84, GCJ02, BD09)

_A = 6378245.0  # semi-major axis of the Krasovsky 1940 ellipsoid used by GCJ-02
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = math.pi * 3000.0 / 180.0  # Baidu's constant

# The box every published GCJ-02 implementation treats as "inside China".
CHINA_MIN_LNG, CHINA_MAX_LNG = 72.004, 137.8347
CHINA_MIN_LAT, CHINA_MAX_LAT = 0.8293, 55.8271

INVERSE_TOLERANCE = 1e-10  # degrees; well below the required 1e-7
_MAX_ITERATIONS = 30


# ---------------------------------------------------------------------------------------------
# validation


def _bad_coordinate(field: str, value, details: dict | None = None) -> DomainError:
    limit = 90 if field == "lat" else 180
    return DomainError(
        "invalid_coordinate",
        _("%(field)s must be a number between -%(limit)s and %(limit)s (got %(value)s).")
        % {"field": field, "limit": limit, "value": value},
        field=field,
        details={"value": str(value), **(details or {})},
    )


def check_crs(crs: str) -> str:
    """Return the normalised crs name or raise ``invalid_crs``."""
    name = crs.strip().lower().replace("-", "") if isinstance(crs, str) else crs
    if name not in CRS_CHOICES:
        raise DomainError(
            "invalid_crs",
            _("crs must be one of %(choices)s (got %(crs)s).")
            % {"choices": ", ".join(CRS_CHOICES), "crs": crs},
            field="crs",
            details={"choices": list(CRS_CHOICES)},
        )
    return name


def check_lat_lng(lat, lng) -> tuple[float, float]:
    """Coerce to floats and check the ranges; NaN and infinities are refused."""
    try:
        lat = float(lat)
    except (TypeError, ValueError):
        raise _bad_coordinate("lat", lat) from None
    try:
        lng = float(lng)
    except (TypeError, ValueError):
        raise _bad_coordinate("lng", lng) from None
    if not -90.0 <= lat <= 90.0:  # also False for NaN
        raise _bad_coordinate("lat", lat)
    if not -180.0 <= lng <= 180.0:
        raise _bad_coordinate("lng", lng)
    return lat, lng


def check_lat_lng_array(lats, lngs) -> tuple[np.ndarray, np.ndarray]:
    """Array form of :func:`check_lat_lng`; the error names the field and the first bad index."""
    try:
        la = np.asarray(lats, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise _bad_coordinate("lat", "non-numeric") from None
    try:
        ln = np.asarray(lngs, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise _bad_coordinate("lng", "non-numeric") from None
    if la.shape != ln.shape:
        raise DomainError(
            "invalid_coordinate",
            _("lat and lng must have the same length (%(a)s != %(b)s).")
            % {"a": la.size, "b": ln.size},
            field="lng",
        )
    for name, arr, limit in (("lat", la, 90.0), ("lng", ln, 180.0)):
        bad = ~((arr >= -limit) & (arr <= limit))  # NaN compares False, so it is bad
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise _bad_coordinate(name, arr[i], {"index": i})
    return la, ln


# ---------------------------------------------------------------------------------------------
# scalar forms


def out_of_china(lat: float, lng: float) -> bool:
    return not (CHINA_MIN_LNG <= lng <= CHINA_MAX_LNG and CHINA_MIN_LAT <= lat <= CHINA_MAX_LAT)


def _gcj_delta(lat: float, lng: float) -> tuple[float, float]:
    """The GCJ-02 offset (dlat, dlng) in degrees at a WGS-84 point."""
    x, y = lng - 105.0, lat - 35.0
    sx = math.sqrt(abs(x))
    common = (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    t_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sx + common
    t_lat += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    t_lat += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2 / 3
    t_lng = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sx + common
    t_lng += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    t_lng += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2 / 3
    rad = lat / 180.0 * math.pi
    magic = 1.0 - _EE * math.sin(rad) ** 2
    sqrt_magic = math.sqrt(magic)
    dlat = (t_lat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * math.pi)
    dlng = (t_lng * 180.0) / (_A / sqrt_magic * math.cos(rad) * math.pi)
    return dlat, dlng


def wgs84_to_gcj02(lat: float, lng: float) -> tuple[float, float]:
    if out_of_china(lat, lng):
        return lat, lng
    dlat, dlng = _gcj_delta(lat, lng)
    return lat + dlat, lng + dlng


def gcj02_to_wgs84(lat: float, lng: float) -> tuple[float, float]:
    """Exact inverse of :func:`wgs84_to_gcj02` by fixed-point iteration."""
    if out_of_china(lat, lng):
        return lat, lng
    w_lat, w_lng = lat, lng
    for _i in range(_MAX_ITERATIONS):
        g_lat, g_lng = wgs84_to_gcj02(w_lat, w_lng)
        e_lat, e_lng = g_lat - lat, g_lng - lng
        if abs(e_lat) < INVERSE_TOLERANCE and abs(e_lng) < INVERSE_TOLERANCE:
            break
        w_lat -= e_lat
        w_lng -= e_lng
    return w_lat, w_lng


def gcj02_to_bd09(lat: float, lng: float) -> tuple[float, float]:
    z = math.sqrt(lng * lng + lat * lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lng) + 0.000003 * math.cos(lng * _X_PI)
    return z * math.sin(theta) + 0.006, z * math.cos(theta) + 0.0065


def _bd09_to_gcj02_approx(lat: float, lng: float) -> tuple[float, float]:
    x, y = lng - 0.0065, lat - 0.006
    z = math.sqrt(x * x + y * y) - 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _X_PI)
    return z * math.sin(theta), z * math.cos(theta)


def bd09_to_gcj02(lat: float, lng: float) -> tuple[float, float]:
    """Inverse of :func:`gcj02_to_bd09`: Baidu's published approximation, then refined."""
    g_lat, g_lng = _bd09_to_gcj02_approx(lat, lng)
    for _i in range(_MAX_ITERATIONS):
        b_lat, b_lng = gcj02_to_bd09(g_lat, g_lng)
        e_lat, e_lng = b_lat - lat, b_lng - lng
        if abs(e_lat) < INVERSE_TOLERANCE and abs(e_lng) < INVERSE_TOLERANCE:
            break
        g_lat -= e_lat
        g_lng -= e_lng
    return g_lat, g_lng


def wgs84_to_bd09(lat: float, lng: float) -> tuple[float, float]:
    return gcj02_to_bd09(*wgs84_to_gcj02(lat, lng))


def bd09_to_wgs84(lat: float, lng: float) -> tuple[float, float]:
    return gcj02_to_wgs84(*bd09_to_gcj02(lat, lng))


_TO_WGS84 = {
    WGS84: lambda lat, lng: (lat, lng),
    GCJ02: gcj02_to_wgs84,
    BD09: bd09_to_wgs84,
}
_FROM_WGS84 = {
    WGS84: lambda lat, lng: (lat, lng),
    GCJ02: wgs84_to_gcj02,
    BD09: wgs84_to_bd09,
}


def to_wgs84(lat, lng, crs: str = WGS84) -> tuple[float, float]:
    """Validate ``(lat, lng)`` given in ``crs`` and return it in WGS-84."""
    conv = (isinstance(crs, str) and _TO_WGS84.get(crs)) or _TO_WGS84[check_crs(crs)]
    lat, lng = check_lat_lng(lat, lng)
    return conv(lat, lng)


def from_wgs84(lat, lng, crs: str = WGS84) -> tuple[float, float]:
    """Validate a WGS-84 ``(lat, lng)`` and express it in ``crs`` (e.g. for a phone map)."""
    conv = (isinstance(crs, str) and _FROM_WGS84.get(crs)) or _FROM_WGS84[check_crs(crs)]
    lat, lng = check_lat_lng(lat, lng)
    return conv(lat, lng)


# ---------------------------------------------------------------------------------------------
# vectorised forms (numpy arrays of equal length, float64)


def out_of_china_array(lats: np.ndarray, lngs: np.ndarray) -> np.ndarray:
    return ~(
        (lngs >= CHINA_MIN_LNG)
        & (lngs <= CHINA_MAX_LNG)
        & (lats >= CHINA_MIN_LAT)
        & (lats <= CHINA_MAX_LAT)
    )


def _gcj_delta_array(lats: np.ndarray, lngs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pi = np.pi
    x, y = lngs - 105.0, lats - 35.0
    sx = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    t_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sx + common
    t_lat += (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    t_lat += (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    t_lng = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sx + common
    t_lng += (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    t_lng += (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    rad = lats / 180.0 * pi
    magic = 1.0 - _EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (t_lat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * pi)
    dlng = (t_lng * 180.0) / (_A / sqrt_magic * np.cos(rad) * pi)
    return dlat, dlng


def _as_arrays(lats, lngs) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.asarray(lats, dtype=np.float64).reshape(-1),
        np.asarray(lngs, dtype=np.float64).reshape(-1),
    )


def wgs84_to_gcj02_array(lats, lngs) -> tuple[np.ndarray, np.ndarray]:
    lats, lngs = _as_arrays(lats, lngs)
    inside = ~out_of_china_array(lats, lngs)
    dlat, dlng = _gcj_delta_array(lats, lngs)
    return np.where(inside, lats + dlat, lats), np.where(inside, lngs + dlng, lngs)


def gcj02_to_wgs84_array(lats, lngs) -> tuple[np.ndarray, np.ndarray]:
    lats, lngs = _as_arrays(lats, lngs)
    inside = ~out_of_china_array(lats, lngs)
    w_lat, w_lng = lats.copy(), lngs.copy()
    for _i in range(_MAX_ITERATIONS):
        g_lat, g_lng = wgs84_to_gcj02_array(w_lat, w_lng)
        e_lat = np.where(inside, g_lat - lats, 0.0)
        e_lng = np.where(inside, g_lng - lngs, 0.0)
        if np.abs(e_lat).max(initial=0.0) < INVERSE_TOLERANCE and (
            np.abs(e_lng).max(initial=0.0) < INVERSE_TOLERANCE
        ):
            break
        w_lat -= e_lat
        w_lng -= e_lng
    return w_lat, w_lng


def gcj02_to_bd09_array(lats, lngs) -> tuple[np.ndarray, np.ndarray]:
    lats, lngs = _as_arrays(lats, lngs)
    z = np.sqrt(lngs * lngs + lats * lats) + 0.00002 * np.sin(lats * _X_PI)
    theta = np.arctan2(lats, lngs) + 0.000003 * np.cos(lngs * _X_PI)
    return z * np.sin(theta) + 0.006, z * np.cos(theta) + 0.0065


def bd09_to_gcj02_array(lats, lngs) -> tuple[np.ndarray, np.ndarray]:
    lats, lngs = _as_arrays(lats, lngs)
    x, y = lngs - 0.0065, lats - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    g_lat, g_lng = z * np.sin(theta), z * np.cos(theta)
    for _i in range(_MAX_ITERATIONS):
        b_lat, b_lng = gcj02_to_bd09_array(g_lat, g_lng)
        e_lat, e_lng = b_lat - lats, b_lng - lngs
        if np.abs(e_lat).max(initial=0.0) < INVERSE_TOLERANCE and (
            np.abs(e_lng).max(initial=0.0) < INVERSE_TOLERANCE
        ):
            break
        g_lat -= e_lat
        g_lng -= e_lng
    return g_lat, g_lng


def wgs84_to_bd09_array(lats, lngs) -> tuple[np.ndarray, np.ndarray]:
    return gcj02_to_bd09_array(*wgs84_to_gcj02_array(lats, lngs))


def bd09_to_wgs84_array(lats, lngs) -> tuple[np.ndarray, np.ndarray]:
    return gcj02_to_wgs84_array(*bd09_to_gcj02_array(lats, lngs))


_TO_WGS84_ARRAY = {
    WGS84: lambda lats, lngs: (lats, lngs),
    GCJ02: gcj02_to_wgs84_array,
    BD09: bd09_to_wgs84_array,
}
_FROM_WGS84_ARRAY = {
    WGS84: lambda lats, lngs: (lats, lngs),
    GCJ02: wgs84_to_gcj02_array,
    BD09: wgs84_to_bd09_array,
}


def to_wgs84_array(lats, lngs, crs: str = WGS84) -> tuple[np.ndarray, np.ndarray]:
    """Validate arrays of ``(lat, lng)`` given in ``crs`` and return them in WGS-84."""
    conv = _TO_WGS84_ARRAY[check_crs(crs)]
    return conv(*check_lat_lng_array(lats, lngs))


def from_wgs84_array(lats, lngs, crs: str = WGS84) -> tuple[np.ndarray, np.ndarray]:
    conv = _FROM_WGS84_ARRAY[check_crs(crs)]
    return conv(*check_lat_lng_array(lats, lngs))


# ---------------------------------------------------------------------------------------------
# geometries

# Edges are cut into pieces of at most this many degrees (≈ 55 m north–south) before their
# vertices are converted. The GCJ-02 offset is not linear, so converting only the corners of a
# long edge bends the edge: a child's vertex that lay on its parent's edge (what a GIS "split
# polygon" makes) ends up metres off it. With 0.0005° pieces the bend is below a millimetre.
DENSIFY_DEGREES = 0.0005


def _geometry_converter(conv):
    def convert(coords: np.ndarray) -> np.ndarray:
        lats, lngs = conv(*check_lat_lng_array(coords[:, 1], coords[:, 0]))
        return np.column_stack([lngs, lats])

    return convert


def geometry_to_wgs84(geom, crs: str = WGS84):
    """``geom`` (lng/lat, in ``crs``) in WGS-84, edges densified first (see DENSIFY_DEGREES)."""
    name = check_crs(crs)
    if name == WGS84:
        return geom
    import shapely

    dense = shapely.segmentize(geom, max_segment_length=DENSIFY_DEGREES)
    return shapely.transform(dense, _geometry_converter(_TO_WGS84_ARRAY[name]))


def geometry_from_wgs84(geom, crs: str = WGS84):
    """``geom`` (lng/lat, WGS-84) in ``crs``, edges densified first (see DENSIFY_DEGREES)."""
    name = check_crs(crs)
    if name == WGS84:
        return geom
    import shapely

    dense = shapely.segmentize(geom, max_segment_length=DENSIFY_DEGREES)
    return shapely.transform(dense, _geometry_converter(_FROM_WGS84_ARRAY[name]))
