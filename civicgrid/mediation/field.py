"""The grid worker's mediation pages in the field app: my grids' disputes, 排查 registration and
回访 visits. Writes go through the phone's outbox (static/civicgrid/js/field.js) to
/api/mediation/ with a client UUID, so an offline registration or visit is sent later, once."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils import timezone
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET

from civicgrid.people.access import principal_of

from . import selectors
from .models import OPEN_STATES, DisputeKind, FollowUp, PartyRole
from .views import not_found_as_404
from .workflow import DISPUTES

field_login = login_required(login_url=reverse_lazy("field:login"))


def field_actions(principal, dispute) -> list:
    """The field app's allow-list: actions allowed now and marked ``field_app`` in the table."""
    allowed = set(DISPUTES.allowed(principal.user, dispute, principal.dispute_capacities(dispute)))
    return [a for a in DISPUTES.ordered() if a.field_app and a.name in allowed]


@field_login
@require_GET
@ensure_csrf_cookie
def field_home(request: HttpRequest) -> HttpResponse:
    p = principal_of(request)
    qs = selectors.dispute_list_for(p).filter(grid_id__in=p.grid_ids).select_related("grid")
    visits = (
        FollowUp.objects.filter(dispute__in=qs, done_at__isnull=True)
        .select_related("dispute")
        .order_by("due_date")[:50]
    )
    return render(
        request,
        "mediation/field_home.html",
        {
            "tab": "home",
            "open": qs.filter(state__in=OPEN_STATES)[:50],
            "visits": visits,
            "recent": qs.exclude(state__in=OPEN_STATES)[:20],
            "today": timezone.localdate(),
        },
    )


@field_login
@require_GET
@ensure_csrf_cookie
def field_new(request: HttpRequest) -> HttpResponse:
    p = principal_of(request)
    from civicgrid.territory.models import Grid

    return render(
        request,
        "mediation/field_new.html",
        {
            "tab": "home",
            "grids": Grid.objects.filter(pk__in=p.grid_ids).order_by("code"),
            "kinds": DisputeKind.choices,
            "roles": PartyRole.choices,
        },
    )


@field_login
@require_GET
@ensure_csrf_cookie
@not_found_as_404
def field_dispute(request: HttpRequest, pk: int) -> HttpResponse:
    p = principal_of(request)
    d = selectors.dispute_get_for(p, pk)
    return render(
        request,
        "mediation/field_dispute.html",
        {
            "tab": "home",
            "d": d,
            "parties": d.parties.all(),
            "visits": d.followups.all(),
            "actions": [a.name for a in field_actions(p, d)],
        },
    )
