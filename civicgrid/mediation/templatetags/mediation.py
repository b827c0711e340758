"""``{% mediation_dashboard %}``: the mediation panel of the analytics dashboard (server-rendered)."""

from __future__ import annotations

from django import template

from civicgrid.core.errors import DomainError

register = template.Library()


@register.inclusion_tag("mediation/_dashboard_panel.html", takes_context=True)
def mediation_dashboard(context):
    """The indicators for the dashboard's period and area, with 环比 and 同比."""
    from civicgrid.analytics.periods import period_from
    from civicgrid.analytics.selectors import resolve_filters

    from ..indicators import INDICATORS, report

    request = context["request"]
    g = request.GET
    try:
        period = period_from(g.get("period", "month"), g.get("date"), g.get("start"), g.get("end"))
        filters = resolve_filters(request.user, area=g.get("area", ""))
    except DomainError:
        return {"tiles": []}
    rep = report(request.user, period, filters.prefix)
    tiles = []
    for i in INDICATORS:
        tiles.append(
            {
                "key": i.key,
                "label": i.label,
                "rate": i.unit == "rate",
                "value": rep["values"][i.key],
                "mom": rep["change_previous"][i.key] if i.key != "overdue" else None,
                "yoy": rep["change_year_ago"][i.key] if i.key != "overdue" else None,
                "better": i.higher_is_better,
            }
        )
    return {"tiles": tiles, "period": rep["period"]}


@register.filter
def pct(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


@register.filter
def signed_change(value, rate: bool = False) -> str:
    """A change as +3.2 pp (rates) or +12.0 % (counts)."""
    if value is None:
        return "—"
    sign = "+" if value > 0 else ""
    return f"{sign}{value * 100:.1f}{' pp' if rate else '%'}"
