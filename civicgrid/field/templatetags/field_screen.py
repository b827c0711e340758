"""The patrol screen's link in the console navigation, for those who may open it."""

from django import template

from civicgrid.field import screen

register = template.Library()


@register.inclusion_tag("field/_screen_nav.html", takes_context=True)
def patrol_screen_link(context):
    request = context["request"]
    match = request.resolver_match
    return {
        "show": request.user.is_authenticated and screen.can_open(request),
        "active": bool(match and match.app_name == "patrols"),
    }
