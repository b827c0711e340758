"""Template tags other apps' pages include: the grid board's and the grid page's party block,
the dashboard's 六联单 / 党建 / 包联 tile, the field home card and the console nav link."""

from __future__ import annotations

from django import template
from django.utils import timezone

from civicgrid.people.access import principal_of
from civicgrid.people.models import Role

from .. import selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def board_party(context, grid):
    """The public projection (organisation names and counts, never a person) and the QR code
    of the grid's service request form (群众点单)."""
    from django.urls import reverse
    from django.utils.safestring import mark_safe

    from civicgrid.public.views import _qr_svg, public_url

    url = public_url(context["request"], reverse("party:service_request") + f"?grid={grid.code}")
    return {"p": selectors.board_party(grid), "url": url, "qr": mark_safe(_qr_svg(url))}


@register.simple_tag(takes_context=True)
def grid_party(context, grid):
    return selectors.grid_party(principal_of(context["request"]), grid)


@register.simple_tag(takes_context=True)
def party_dashboard(context):
    """六联单, 党建 and 包联 figures of the dashboard's area (its ``area`` filter) in scope."""
    request = context["request"]
    principal = principal_of(request)
    prefix = ""
    code = (request.GET.get("area") or "").strip()
    if code.isdigit():
        from civicgrid.territory.models import Area

        area = Area.objects.filter(code=code).first()
        if area is not None and principal.in_scope(area.prefix, selectors.VIEW_ROLES):
            prefix = area.prefix
    month = timezone.localdate().replace(day=1)
    rows = selectors.compliance_rows(principal, month=month, prefix=prefix)
    visited = sum(1 for r in rows if r.visits)
    return {
        "orders": selectors.service_figures(principal, prefix),
        "party": selectors.party_counts(principal, prefix),
        "liaison": {"grids": len(rows), "visited": visited, "behind": len(rows) - visited},
        "labels": _step_labels(),
    }


def _step_labels():
    from civicgrid.cases.engine import state_label

    return {s: state_label(s, "service") for s in selectors.SERVICE_STEPS}


@register.simple_tag(takes_context=True)
def field_party_card(context):
    request = context["request"]
    principal = principal_of(request)
    to_take = selectors.orders_to_take(principal).count() if principal.grid_ids else 0
    mine = (
        selectors.my_orders(request.user).exclude(state="closed").count()
        if principal.has_role(Role.PARTY_MEMBER) or principal.grid_ids
        else 0
    )
    liaison_rows = selectors.compliance_rows(
        principal, month=timezone.localdate().replace(day=1), cadre_id=principal.pk
    )
    orders = bool(principal.grid_ids) or principal.has_role(Role.PARTY_MEMBER)
    return {
        "show": orders or bool(liaison_rows),
        "orders": orders,
        "to_take": to_take,
        "mine": mine,
        "liaison": bool(liaison_rows),
        "unvisited": sum(1 for r in liaison_rows if not r.visits),
    }


@register.inclusion_tag("party/_nav.html", takes_context=True)
def party_nav(context):
    request = context["request"]
    principal = principal_of(request)
    match = request.resolver_match
    return {
        "show": principal.has_role(Role.OPERATOR, Role.LEADER, Role.GRID_CHIEF, Role.ADMIN),
        "current": bool(match and match.app_name == "party"),
    }
