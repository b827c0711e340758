"""Scoped reads of territory: every list and detail goes through the user's scope."""

from __future__ import annotations

from django.db.models import QuerySet

from civicgrid.core.errors import NotFound
from civicgrid.people.scoping import scope_filter

from .models import Area, Grid, MicroGrid


def area_list_for(user) -> QuerySet[Area]:
    return scope_filter(Area.objects.all(), user)


def area_get_for(user, code: str) -> Area:
    area = area_list_for(user).filter(code=code).first()
    if area is None:
        raise NotFound("area")
    return area


def grid_list_for(user, *, area: Area | None = None, q: str = "", kind: str = "") -> QuerySet[Grid]:
    qs = scope_filter(Grid.objects.select_related("area"), user)
    if area is not None:
        qs = qs.filter(code__startswith=area.prefix)
    if q:
        qs = qs.filter(name__icontains=q) | qs.filter(code__startswith=q)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("code")


def grid_get_for(user, code: str) -> Grid:
    grid = scope_filter(Grid.objects.select_related("area"), user).filter(code=code).first()
    if grid is None:
        raise NotFound("grid")
    return grid


def microgrid_list_for(user) -> QuerySet[MicroGrid]:
    return scope_filter(MicroGrid.objects.select_related("grid"), user)
