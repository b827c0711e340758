"""Thin seams to other apps' services, so the engine does not depend on their internals.

``notify`` calls ``civicgrid.notifications.services.notify`` and never raises: a notification
problem must not cost a committed transition. ``locate`` calls the territory locator.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)


def notify(
    *,
    users,
    kind: str,
    title: str,
    body: str = "",
    case: Any = None,
    sms: bool = False,
    phones=(),
) -> None:
    users = [u for u in users if u is not None]
    phones = [p for p in phones if p]
    if not users and not phones:
        return
    try:
        from civicgrid.notifications.services import notify as real_notify
    except ImportError:  # notifications app not installed yet: log only
        logger.info("notify %s to %s: %s", kind, [u.pk for u in users], title)
        return
    kwargs: dict[str, Any] = {
        "users": users,
        "kind": kind,
        "title": title,
        "body": body,
        "case": case,
        "sms": sms,
    }
    if phones:
        kwargs["phones"] = phones
    try:
        real_notify(**kwargs)
    except Exception:  # never let a notice undo or hide a committed action
        logger.exception("notification %s failed", kind)


def locate(lat: float, lng: float, crs: str = "wgs84"):
    try:
        from civicgrid.territory.spatial import locate as real_locate
    except ImportError:
        return _fallback_locate(lat, lng, crs)
    return real_locate(lat, lng, crs=crs)


def _fallback_locate(lat: float, lng: float, crs: str = "wgs84"):
    """Point-in-grid on the bbox columns, used until territory.spatial is available."""
    from types import SimpleNamespace

    from shapely.geometry import Point

    from civicgrid.territory.models import Grid

    pt = Point(lng, lat)
    qs = Grid.objects.filter(
        min_lng__lte=lng, max_lng__gte=lng, min_lat__lte=lat, max_lat__gte=lat
    ).select_related("area")
    for g in sorted(qs, key=lambda g: g.code):
        if g.geometry is not None and g.geometry.covers(pt):
            return SimpleNamespace(
                lat=lat,
                lng=lng,
                grid_id=g.pk,
                grid_code=g.code,
                micro_grid_id=None,
                micro_grid_code=None,
                area_code=g.area.code,
                nearest_grid_code=None,
                distance_m=0.0,
                found=True,
            )
    return SimpleNamespace(
        lat=lat,
        lng=lng,
        grid_id=None,
        grid_code=None,
        micro_grid_id=None,
        micro_grid_code=None,
        area_code=None,
        nearest_grid_code=None,
        distance_m=None,
        found=False,
    )
