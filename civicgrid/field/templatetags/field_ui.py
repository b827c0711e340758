"""Template helpers of the mobile pages: the shared icons (core's ``icons``), durations."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _

from civicgrid.core.templatetags.icons import ICONS, icon  # noqa: F401 - ICONS re-exported

register = template.Library()

# The icons are shared with the public face; the field pages keep loading them from here.
register.simple_tag(icon, name="icon")


@register.filter
def duration(seconds) -> str:
    """1 h 05 min / 12 min / 40 s, in the active language."""
    try:
        s = int(seconds or 0)
    except (TypeError, ValueError):
        return ""
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    if h:
        return _("%(h)s h %(m)02d min") % {"h": h, "m": m}
    if m:
        return _("%(m)s min") % {"m": m}
    return _("%(s)s s") % {"s": sec}


@register.filter
def km(metres) -> str:
    try:
        return f"{float(metres or 0) / 1000:.2f}"
    except (TypeError, ValueError):
        return "0.00"


@register.filter
def hm(seconds) -> str:
    """A duration as h:mm for big figures (1:05)."""
    try:
        s = int(seconds or 0)
    except (TypeError, ValueError):
        return ""
    return f"{s // 3600}:{s % 3600 // 60:02d}"
