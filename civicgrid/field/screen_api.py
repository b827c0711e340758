"""JSON of the patrol screen, mounted under /api/field/screen (session or token auth).

Compact on purpose (a district has thousands of workers): rows are arrays, tracks encoded
polylines; ``civicgrid.field.screen`` documents the fields. Out of scope answers 404.
"""

from __future__ import annotations

import datetime as dt
import json

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Path, Router

from civicgrid.api.params import ObjectId
from civicgrid.core.errors import DomainError

from . import screen

router = Router()


@router.get(
    "", url_name="screen_get", summary="Patrol screen: an area's workers, positions, today's tracks"
)
def screen_get(request: HttpRequest, area: str = "", date: dt.date | None = None):
    """``workers``: ``[id, name, grid, status, lat, lng, last fix ms, km, check-ins]``
    (status ``patrol`` / ``stale`` / ``off``); ``tracks``: ``[worker, patrol, polyline]``."""
    target = screen.screen_area_for(request, area)
    data = screen.screen_data(request, target, date)
    # Megabytes for a district: compact separators, and no schema pass over 2,000 rows.
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    response = HttpResponse(body, content_type="application/json")
    response["Cache-Control"] = "private, no-cache"
    return response


@router.get(
    "/workers/{worker_id}/day", url_name="screen_worker_day", summary="One worker's day for replay"
)
def screen_worker_day(request: HttpRequest, worker_id: Path[ObjectId], date: dt.date | None = None):
    """``points``: ``[ms, lat, lng, patrol]``; ``checkins``: ``[ms, lat, lng, place, within,
    metres]``."""
    return screen.worker_day(request, worker_id, date or timezone.localdate())


@router.get(
    "/grids",
    url_name="screen_grids",
    summary="Km, hours, patrols and check-ins per grid of an area",
)
def screen_grids(
    request: HttpRequest,
    area: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
):
    target = screen.screen_area_for(request, area)
    end_day = date_to or timezone.localdate()
    start_day = date_from or end_day
    if start_day > end_day:
        raise DomainError("invalid", _("date_from must not be after date_to."), field="date_from")
    if (end_day - start_day).days > 366:
        raise DomainError("invalid", _("At most one year at a time."), field="date_from")
    start = timezone.make_aware(dt.datetime.combine(start_day, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(end_day + dt.timedelta(days=1), dt.time.min))
    rows = screen.grid_stats(request, target, start, end)
    return {
        "area": {"code": target.code, "name": target.name},
        "date_from": start_day,
        "date_to": end_day,
        "grids": [r.__dict__ for r in rows],
    }
