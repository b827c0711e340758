"""The case map: visible cases inside a box as compact rows, and the box of one's territory."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.core.errors import DomainError
from civicgrid.people.access import Principal
from civicgrid.territory.models import Area

from .lists import case_filter_qs
from .presentation import sla_light

MAP_LIMIT = 3000


def parse_bbox(raw: str | None) -> tuple[float, float, float, float]:
    try:
        x0, y0, x1, y1 = (float(v) for v in (raw or "").split(","))
    except ValueError:
        raise DomainError(
            "invalid_bbox", _("bbox must be minLng,minLat,maxLng,maxLat."), field="bbox"
        ) from None
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise DomainError("invalid_bbox", _("bbox is out of range."), field="bbox")
    return x0, y0, x1, y1


def map_points(
    who, bbox: tuple[float, float, float, float], f: dict, *, limit: int | None = None, now=None
) -> dict:
    """Visible cases inside ``bbox`` as compact rows, newest first, at most ``limit``."""
    now = now or timezone.now()
    limit = limit or MAP_LIMIT
    x0, y0, x1, y1 = bbox
    f = {**f}
    if not f.get("state"):
        f["state"] = "open"
    qs = case_filter_qs(who, f, now=now).filter(lat__gte=y0, lat__lte=y1, lng__gte=x0, lng__lte=x1)
    rows = list(
        qs.order_by("-reported_at", "-id").values_list(
            "pk",
            "lat",
            "lng",
            "state",
            "sla_due_at",
            "sla_warn_at",
            "tracking_code",
            "category__name",
        )[: limit + 1]
    )
    truncated = len(rows) > limit
    items = []
    for pk, lat, lng, state, due, warn, code, cat in rows[:limit]:
        items.append(
            [pk, round(lat, 6), round(lng, 6), sla_light(state, due, warn, now), state, code, cat]
        )
    return {"items": items, "truncated": truncated, "limit": limit}


def scope_bounds(who) -> tuple[float, float, float, float] | None:
    """The bounding box of the user's areas, to open maps on their territory."""
    prefixes = Principal.of(who).prefixes()
    qs = Area.objects.filter(min_lng__isnull=False)
    if prefixes is not None:
        if not prefixes:
            return None
        # The shortest code that covers each prefix is the area itself.
        codes = [p.ljust(12, "0") for p in prefixes if len(p) <= 12]
        grid_prefixes = [p for p in prefixes if len(p) > 12]
        qs = qs.filter(code__in=codes)
        boxes = list(qs.values_list("min_lng", "min_lat", "max_lng", "max_lat"))
        if grid_prefixes:
            from civicgrid.territory.models import Grid

            boxes += list(
                Grid.objects.filter(code__in=grid_prefixes, min_lng__isnull=False).values_list(
                    "min_lng", "min_lat", "max_lng", "max_lat"
                )
            )
    else:
        boxes = list(qs.filter(level=1).values_list("min_lng", "min_lat", "max_lng", "max_lat"))
    if not boxes:
        return None
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )
