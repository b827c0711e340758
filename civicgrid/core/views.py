from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render

from civicgrid.people.scoping import scope_filter, user_roles
from civicgrid.territory.models import Area, Grid


@login_required
def home(request):
    """Role-aware landing page; the operator console replaces the body as it grows."""
    areas = scope_filter(Area.objects.all(), request.user).order_by("level", "code")
    context = {
        "roles": sorted(user_roles(request.user)),
        "top_areas": areas[:8],
        "area_count": areas.count(),
        "grid_count": scope_filter(Grid.objects.all(), request.user).count(),
    }
    return render(request, "core/home.html", context)


def healthz(request):
    with connection.cursor() as cur:
        cur.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
