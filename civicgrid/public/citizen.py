"""Citizens' helpers on the portal: "已有人反映" duplicate suggestions, the public page of a
matter to follow instead of reporting it again, and a signed-in citizen's "my reports".

Suggestions come from the square map's projection (``selectors.square_map_list``): category,
time, progress and a coarsened point only; private categories, staff-only sources and
personal data never appear (docs/party.md).
"""

from __future__ import annotations

import datetime as dt
import math

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from civicgrid.cases.engine import state_label
from civicgrid.cases.models import Case
from civicgrid.core.errors import DomainError
from civicgrid.territory import crs as crs_mod

from . import selectors

DUPLICATE_RADIUS_M = 100
DUPLICATE_HOURS = 72
MAX_SUGGESTIONS = 5


def _number(value, field: str, lo: float, hi: float) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise DomainError(
            "invalid", _("%(f)s must be a number.") % {"f": field}, field=field
        ) from None
    if not (lo <= x <= hi) or math.isnan(x):
        raise DomainError("invalid", _("%(f)s is out of range.") % {"f": field}, field=field)
    return x


def nearby_open(*, category: str, lat: float, lng: float, now=None) -> list[selectors.SquareItem]:
    """Open public matters of ``category`` within 100 m reported in the last 72 hours."""
    now = now or timezone.now()
    dlat = DUPLICATE_RADIUS_M / 111_320
    dlng = DUPLICATE_RADIUS_M / (111_320 * max(0.1, math.cos(math.radians(lat))))
    # The square map's points are coarsened to ~100 m cells: search one cell further out.
    pad = selectors.SQUARE_CELL
    items = selectors.square_map_list(
        date_from=now - dt.timedelta(hours=DUPLICATE_HOURS),
        date_to=now,
        categories=[category],
        status="open",
        bbox=(lng - dlng - pad, lat - dlat - pad, lng + dlng + pad, lat + dlat + pad),
        limit=MAX_SUGGESTIONS,
        now=now,
    )
    return items


@require_GET
def duplicates(request: HttpRequest) -> JsonResponse:
    """JSON for the report forms: ``?category=0401&lat=..&lng=..[&crs=gcj02]``."""
    g = request.GET
    category = (g.get("category") or "").strip()
    try:
        if not category.isdigit() or len(category) != 4:
            raise DomainError("invalid", _("Choose a category."), field="category")
        lat = _number(g.get("lat"), "lat", -90, 90)
        lng = _number(g.get("lng"), "lng", -180, 180)
        crs = crs_mod.check_crs((g.get("crs") or crs_mod.WGS84).strip())
        lat, lng = crs_mod.to_wgs84(lat, lng, crs)
    except DomainError as exc:
        return JsonResponse(
            {"code": exc.code, "message": exc.message, "details": {"field": exc.field}}, status=400
        )
    items = nearby_open(category=category, lat=lat, lng=lng)
    return JsonResponse(
        {
            "items": [
                {
                    "id": i.public_id,
                    "category": i.category_name,
                    "state": i.state,
                    "state_label": i.state_label,
                    "reported_at": i.reported_at.isoformat(),
                    "area": i.area_name,
                    "url": reverse("public:matter", args=[i.public_id]),
                }
                for i in items
            ]
        }
    )


@require_GET
def matter(request: HttpRequest, public_id: str) -> HttpResponse:
    """The public page of one matter (the square map's projection) to follow instead."""
    item = selectors.square_map_get(public_id)
    return render(request, "public/matter.html", {"item": item})


@login_required
@never_cache
def my_reports(request: HttpRequest) -> HttpResponse:
    """A signed-in citizen's own reports and service requests, newest first."""
    rows = (
        Case.objects.filter(reporter_id=request.user.pk)
        .select_related("category")
        .order_by("-reported_at", "-pk")[:100]
    )
    return render(
        request,
        "public/my_reports.html",
        {"rows": [(c, state_label(c.state, c.flow)) for c in rows]},
    )
