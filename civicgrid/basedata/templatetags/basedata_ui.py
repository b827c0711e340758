"""Base-data panels other apps' pages include with one line (each through a tiny template):

- ``{% basedata_home_tiles %}``: the field home's "collect" and "visits due" tiles with counts;
- ``{% basedata_case_links case %}``: the console case page's panel of linked records;
- ``{% basedata_dashboard_tiles %}``: the dashboard's base-data and special-population tiles.

Each reads the request's principal, so everything shown is scoped and sensitive tags respected.
"""

from __future__ import annotations

from django import template
from django.utils import timezone

from civicgrid.people.access import principal_of

register = template.Library()


@register.inclusion_tag("basedata/m/_home_tiles_body.html", takes_context=True)
def basedata_home_tiles(context):
    from civicgrid.basedata import stats

    request = context.get("request")
    principal = principal_of(request)
    if not principal.grid_ids:
        return {"show": False}
    return {"show": True, **stats.visit_counts(principal, timezone.localdate())}


@register.inclusion_tag("basedata/_case_links_body.html", takes_context=True)
def basedata_case_links(context, case):
    from civicgrid.basedata import fieldwork
    from civicgrid.basedata.models import CaseLink

    request = context.get("request")
    principal = principal_of(request)
    return {
        "case": case,
        "links": fieldwork.links_for_case(principal, case),
        "entities": CaseLink.Entity.choices,
        "can_link": principal.can_view(case) and principal.is_authenticated,
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("basedata/_dashboard_tiles_body.html", takes_context=True)
def basedata_dashboard_tiles(context):
    from civicgrid.basedata import stats

    request = context.get("request")
    return stats.dashboard(principal_of(request), timezone.localdate())
