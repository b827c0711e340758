"""Console pages of the patrol screen (/console/patrols/) and its dashboard panel.

The page is a Leaflet map with the area's workers, positions and today's tracks, a worker list
and a replay of any worker's day; its data come from the JSON of ``screen_api`` (one request
for the overview, one per replayed day). Out of scope (role or area) answers 404.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from civicgrid.core.errors import NotFound
from civicgrid.people.access import principal_of
from civicgrid.territory.models import Area

from . import screen

DASHBOARD_DAYS = {"1": 1, "7": 7, "30": 30}


def _day(value: str | None) -> dt.date:
    today = timezone.localdate()
    try:
        day = dt.date.fromisoformat((value or "").strip())
    except ValueError:
        return today
    return min(day, today)


def _strings() -> dict[str, str]:
    return {
        "patrol": _("On patrol"),
        "stale": _("Signal lost"),
        "off": _("Not on patrol"),
        "noFix": _("No position yet"),
        "km": _("km"),
        "checkins": _("check-ins"),
        "replay": _("Replay"),
        "play": _("Play"),
        "pause": _("Pause"),
        "noPoints": _("No track points on this day."),
        "loading": _("Loading…"),
        "failed": _("Could not load the data."),
        "lastFix": _("last fix"),
        "shown": _("%(n)s of %(total)s workers"),
        "checkin": _("Check-in"),
        "tooFar": _("too far from the place"),
        "close": _("Close"),
        "points": _("%(n)s points"),
    }


@login_required
@require_GET
def screen_page(request: HttpRequest) -> HttpResponse:
    area = screen.screen_area_for(request, request.GET.get("area"))
    day = _day(request.GET.get("date"))
    p = principal_of(request)
    children = [
        a
        for a in Area.objects.filter(parent=area).order_by("code")
        if p.in_scope(a.code, screen.SCREEN_ROLES)
    ]
    parent = area.parent if area.parent_id else None
    if parent is not None and not p.in_scope(parent.code, screen.SCREEN_ROLES):
        parent = None
    config = {
        "data": reverse("api:screen_get"),
        "day": reverse("api:screen_worker_day", args=[0]),
        "areas": "/api/territory/areas",
        "grids": "/api/territory/grids",
        "area": area.code,
        "date": day.isoformat(),
        "bounds": screen._bounds(area),
        "tile_url": settings.MAP_TILE_URL,
        "tile_attribution": settings.MAP_TILE_ATTRIBUTION,
        "stale_s": screen.STALE_S,
        "i18n": _strings(),
    }
    return render(
        request,
        "field/screen.html",
        {
            "area": area,
            "parent": parent,
            "children": children,
            "day": day,
            "today": timezone.localdate(),
            "config": config,
        },
    )


@login_required
@require_GET
def dashboard_panel(request: HttpRequest) -> HttpResponse:
    """The dashboard's panel: km and check-ins per grid of the dashboard's area (HTMX)."""
    if not screen.can_open(request):
        return HttpResponse(status=204)
    try:
        area = screen.screen_area_for(request, request.GET.get("area"))
    except NotFound:
        return HttpResponse(status=204)
    days = DASHBOARD_DAYS.get(request.GET.get("days", "7"), 7)
    today = timezone.localdate()
    start = timezone.make_aware(
        dt.datetime.combine(today - dt.timedelta(days=days - 1), dt.time.min)
    )
    end = timezone.make_aware(dt.datetime.combine(today + dt.timedelta(days=1), dt.time.min))
    rows = screen.grid_stats(request, area, start, end)
    return render(
        request,
        "field/_dashboard_patrols_rows.html",
        {
            "area": area,
            "rows": rows[:50],
            "more": max(0, len(rows) - 50),
            "days": days,
            "choices": list(DASHBOARD_DAYS.values()),
            "total_km": round(sum(r.km for r in rows), 1),
            "total_checkins": sum(r.checkins for r in rows),
        },
    )
