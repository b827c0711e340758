"""The field app's base-data pages (mounted under /field/basedata/, inside the app's service
worker scope, so a visited page opens again offline).

- collection (``collect``): my grids' houses on the map and searchable by address, a new house
  by a tap on the map; the household, persons and tags of the chosen house in one form, sent
  through the phone's outbox to ``POST /api/basedata/collect`` (client UUID: nothing doubled);
- visits (``visits``): tags due within 14 days or overdue, a one-tap "visited" and a form with
  note, photo and findings (a category raises a case), sent to ``POST /api/basedata/visits/field``.

The data a page needs offline (houses, residents with masked ID numbers, visible tag kinds,
categories) is embedded in it; everything is scoped by the principal and sensitive tags only
appear for the roles that serve them.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie

from civicgrid.people.access import principal_of
from civicgrid.public.selectors import public_categories
from civicgrid.territory.models import Grid

from . import selectors
from .models import House, HouseholdMember, Person, PersonTag

MAX_HOUSES = 3000
DUE_WITHIN = 14

_login = login_required(login_url=reverse_lazy("field:login"))


def _page(view):
    return _login(never_cache(ensure_csrf_cookie(view)))


def _grids(principal) -> list[Grid]:
    """The grids the principal may collect in: a worker's team grids, else none (the console
    is where chiefs and operators work)."""
    return list(Grid.objects.filter(pk__in=principal.grid_ids).order_by("code"))


def _grid_shapes(grids) -> dict:
    from shapely.geometry import mapping

    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": g.code, "name": g.name, "mine": True},
                "geometry": mapping(g.geometry.simplify(0.00001, preserve_topology=True)),
            }
            for g in grids
            if g.geometry is not None
        ],
    }


def _kinds(principal, grids) -> list[dict]:
    """Tag kinds the worker may set: open ones and the sensitive ones served in one of the
    grids (a grid worker serves every sensitive kind of their grids)."""
    kinds = selectors.visible_kinds(principal)
    codes = [g.code for g in grids]
    out = []
    for k in kinds:
        if k.sensitive and not any(selectors.can_see_kind(principal, k, c) for c in codes):
            continue
        out.append(
            {
                "code": k.code,
                "name": k.name,
                "sensitive": k.sensitive,
                "group": k.get_group_display(),
                "fields": k.fields,
            }
        )
    return out


def _houses(principal, grids) -> list[dict]:
    codes = [g.code for g in grids]
    if not codes:
        return []
    visible = PersonTag.objects.filter(selectors.tag_visible_q(principal)).select_related("kind")
    residents = (
        Person.objects.filter(scope_code__in=codes)
        .select_related("membership")
        .prefetch_related(Prefetch("tags", queryset=visible, to_attr="shown_tags"))
        .order_by("pk")
    )
    houses = list(
        House.objects.filter(selectors.scope_q(principal, "scope_code"), scope_code__in=codes)
        .prefetch_related(Prefetch("residents", queryset=residents, to_attr="people"))
        .order_by("address", "building", "unit", "room")[:MAX_HOUSES]
    )
    out = []
    for h in houses:
        people = []
        for p in h.people:
            m = getattr(p, "membership", None)  # none: not in a household yet
            people.append(
                {
                    "id": p.pk,
                    "name": p.name,
                    "id_number": p.id_number_mask,
                    "phone": p.phone_mask,
                    "category": p.category,
                    "relation": m.relation if m is not None else "",
                    "tags": [{"kind": t.kind.code, "data": t.data} for t in p.shown_tags],
                }
            )
        out.append(
            {
                "id": h.pk,
                "label": str(h),
                "address": h.address,
                "building": h.building,
                "unit": h.unit,
                "room": h.room,
                "use": h.use,
                "grid": h.scope_code,
                "lat": h.lat,
                "lng": h.lng,
                "persons": people,
            }
        )
    return out


@_page
def collect(request):
    principal = principal_of(request)
    grids = _grids(principal)
    return render(
        request,
        "basedata/m/collect.html",
        {
            "tab": "home",
            "grids": grids,
            "grids_geojson": _grid_shapes(grids),
            "houses": _houses(principal, grids),
            "kinds": _kinds(principal, grids),
            "choices": {
                "use": [[v, str(label)] for v, label in House.Use.choices],
                "category": [[v, str(label)] for v, label in Person.Category.choices],
                "id_type": [[v, str(label)] for v, label in Person.IdType.choices],
                "relation": [[v, str(label)] for v, label in HouseholdMember.Relation.choices],
                "political": [[v, str(label)] for v, label in Person.Political.choices],
            },
            "map": {
                "tiles": getattr(settings, "MAP_TILE_URL", ""),
                "attribution": getattr(settings, "MAP_TILE_ATTRIBUTION", ""),
            },
        },
    )


@_page
def visits(request):
    principal = principal_of(request)
    today = timezone.localdate()
    grids = _grids(principal)
    codes = [g.code for g in grids]
    rows = list(
        selectors.visits_due_for(principal, within_days=DUE_WITHIN, today=today)
        .filter(scope_code__in=codes)
        .select_related("person__house")[:300]
    )
    for t in rows:
        t.overdue_days = (today - t.next_visit_due).days if t.next_visit_due else 0
    overdue = [t for t in rows if t.overdue_days > 0]
    due = [t for t in rows if t.overdue_days <= 0]
    cats = public_categories()
    return render(
        request,
        "basedata/m/visits.html",
        {
            "tab": "home",
            "overdue": overdue,
            "due": due,
            "today": today,
            "soon": today + dt.timedelta(days=DUE_WITHIN),
            "categories": cats,
            "has_grids": bool(grids),
        },
    )
