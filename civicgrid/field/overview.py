"""Simplified tracks for the patrol screen: shapely ``simplify`` and an encoded polyline.

A district screen shows the day's tracks of a few thousand workers at once, so each patrol keeps
a simplified copy of its track (``Patrol.overview``) next to its totals. It is an encoded polyline
(the format of Google's Maps API: zig-zag varint deltas in base64-like characters at 1e-5 degrees
≈ 1.1 m), about 4–6 characters a point, built with Douglas–Peucker at ``TOLERANCE_DEG`` (≈ 11 m,
under a pixel at district zoom). In-order uploads extend it from the last kept point; late uploads
rebuild it from every stored point with the totals (``tracks.recompute``).

Segments longer in time than ``tracks.MAX_GAP`` (no signal) are kept as they are: the overview is
a picture, not a measure; replay and totals read the raw points.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import shapely

TOLERANCE_DEG = 0.0001
PRECISION = 1e5


def simplify(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """(lat, lng) points reduced with Douglas–Peucker, first and last point kept."""
    if len(points) < 3:
        return list(points)
    line = shapely.linestrings([(lng, lat) for lat, lng in points])
    kept = shapely.get_coordinates(shapely.simplify(line, TOLERANCE_DEG, preserve_topology=False))
    return [(float(y), float(x)) for x, y in kept]


def _chunks(value: int) -> str:
    value = ~(value << 1) if value < 0 else value << 1
    out = []
    while value >= 0x20:
        out.append(chr((0x20 | (value & 0x1F)) + 63))
        value >>= 5
    out.append(chr(value + 63))
    return "".join(out)


def encode(points: Iterable[tuple[float, float]], start: tuple[int, int] = (0, 0)) -> str:
    """Encode (lat, lng) points; ``start`` is the integer position the deltas begin from."""
    plat, plng = start
    out = []
    for lat, lng in points:
        ilat, ilng = round(lat * PRECISION), round(lng * PRECISION)
        out.append(_chunks(ilat - plat))
        out.append(_chunks(ilng - plng))
        plat, plng = ilat, ilng
    return "".join(out)


def decode(text: str) -> list[tuple[float, float]]:
    """The (lat, lng) points of an encoded polyline."""
    points, index, lat, lng = [], 0, 0, 0
    n = len(text)
    while index < n:
        deltas = []
        for _ in range(2):
            shift = result = 0
            while True:
                b = ord(text[index]) - 63
                index += 1
                result |= (b & 0x1F) << shift
                shift += 5
                if b < 0x20:
                    break
            deltas.append(~(result >> 1) if result & 1 else result >> 1)
        lat += deltas[0]
        lng += deltas[1]
        points.append((lat / PRECISION, lng / PRECISION))
    return points


def last_point(text: str) -> tuple[int, int] | None:
    """The integer position of an encoded polyline's last point (None when empty)."""
    if not text:
        return None
    lat, lng = decode(text)[-1]
    return round(lat * PRECISION), round(lng * PRECISION)


def build(points: Sequence[tuple[float, float]]) -> str:
    """The overview of a whole track."""
    return encode(simplify(points))


def extend(
    text: str, points: Sequence[tuple[float, float]], last: tuple[float, float] | None = None
) -> str:
    """``text`` followed by ``points`` (newer than its last point), simplified together with the
    last kept point so that the seam is simplified like the rest.

    Simplification keeps a line's end points, so the last point of an overview is the track's
    last point: a caller that knows it (the patrol's ``last_lat``/``last_lng``) passes it as
    ``last`` and saves decoding the text.
    """
    if not points:
        return text
    if not text:
        return build(points)
    if last is not None:
        last = (round(last[0] * PRECISION), round(last[1] * PRECISION))
    else:
        last = last_point(text)
    anchor = (last[0] / PRECISION, last[1] / PRECISION)
    kept = simplify([anchor, *points])[1:]
    return text + encode(kept, start=last)
