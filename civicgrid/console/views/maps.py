"""The map page: boundaries as the base layer, cases of the visible extent as clustered markers."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from civicgrid.cases.models import State
from civicgrid.core.errors import DomainError
from civicgrid.ops.replica import replica_reads
from civicgrid.people.access import principal_of

from .. import queries
from .common import clean_choice


def _filters(request) -> dict:
    g = request.GET
    return {
        "state": clean_choice(g.get("state"), ["open", *State.values]) or "open",
        "category": (g.get("category") or "").strip()[:4],
        "sla": clean_choice(g.get("sla"), queries.SLA_FILTERS),
        "area": (g.get("area") or "").strip()[:12],
    }


@login_required
@require_GET
def map_page(request):
    return render(
        request,
        "console/map.html",
        {
            "f": _filters(request),
            "states": State.choices,
            "categories": queries.category_choices(),
            "map_config": {
                "bounds": queries.scope_bounds(principal_of(request)),
                "tile_url": settings.MAP_TILE_URL,
                "tile_attribution": settings.MAP_TILE_ATTRIBUTION,
                "limit": queries.MAP_LIMIT,
            },
        },
    )


@login_required
@require_GET
@replica_reads()
def map_cases(request):
    """Cases inside ``bbox`` (scoped, filtered, at most MAP_LIMIT) as compact JSON rows:
    ``[id, lat, lng, light, state, tracking_code, category]``."""
    try:
        bbox = queries.parse_bbox(request.GET.get("bbox"))
        data = queries.map_points(principal_of(request), bbox, _filters(request))
    except DomainError as exc:
        return JsonResponse(exc.as_dict(), status=400)
    response = JsonResponse(data)
    response["Cache-Control"] = "private, no-cache"
    return response
