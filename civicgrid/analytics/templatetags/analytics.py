"""``{% analytics_nav %}``: the dashboard link in the top bar, for users who may see it."""

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _

from civicgrid.analytics.selectors import can_view_analytics

register = template.Library()


@register.simple_tag(takes_context=True)
def analytics_nav(context) -> str:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not can_view_analytics(user):
        return ""
    match = getattr(request, "resolver_match", None)
    active = "active" if match is not None and match.app_name == "analytics" else ""
    return format_html(
        '<a href="{}" class="{}">{}</a>', reverse("analytics:dashboard"), active, _("Dashboard")
    )
