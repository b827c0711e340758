"""Template helpers of the console: masked phones, SLA lights, state badges, query strings."""

from __future__ import annotations

import datetime as dt

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from civicgrid.audit.selectors import can_read_audit
from civicgrid.cases.engine import state_label
from civicgrid.cases.models import OPEN_STATES
from civicgrid.people.access import principal_of

from ..queries import home_kinds, sla_light

register = template.Library()

STATE_TONES = {
    "reported": "info",
    "filed": "info",
    "assigned": "primary",
    "in_progress": "primary",
    "handled": "warn",
    "closed": "ok",
    "rejected": "muted",
    "merged": "muted",
    "suspended": "muted",
}


@register.filter
def mask_phone(value: str | None) -> str:
    """139****5678: enough to recognise a caller, not enough to call them."""
    digits = (value or "").strip()
    if not digits:
        return ""
    if len(digits) >= 11:
        return digits[:3] + "****" + digits[-4:]
    if len(digits) >= 7:
        return digits[:2] + "*" * (len(digits) - 4) + digits[-2:]
    return "*" * len(digits)


def duration_text(seconds: float) -> str:
    seconds = abs(int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return _("%(d)sd %(h)sh") % {"d": days, "h": hours}
    if hours:
        return _("%(h)sh %(m)sm") % {"h": hours, "m": minutes}
    return _("%(m)sm") % {"m": minutes}


@register.simple_tag
def sla_clock(case, now: dt.datetime | None = None):
    """The SLA light and countdown; console.js keeps the text ticking."""
    now = now or timezone.now()
    light = sla_light(case.state, case.sla_due_at, case.sla_warn_at, now)
    if case.state not in OPEN_STATES:
        return format_html('<span class="sla sla-done">{}</span>', _("Finished"))
    if case.sla_due_at is None:
        return format_html('<span class="sla sla-stopped">{}</span>', _("Clock stopped"))
    left = (case.sla_due_at - now).total_seconds()
    text = (
        _("%(t)s left") % {"t": duration_text(left)}
        if left > 0
        else _("%(t)s overdue") % {"t": duration_text(left)}
    )
    return format_html(
        '<span class="sla sla-{}" data-due="{}" data-warn="{}" title="{}">{}</span>',
        light,
        case.sla_due_at.isoformat(),
        case.sla_warn_at.isoformat() if case.sla_warn_at else "",
        timezone.localtime(case.sla_due_at).strftime("%Y-%m-%d %H:%M"),
        text,
    )


@register.simple_tag
def state_badge(case_or_state, flow: str = "case"):
    state = getattr(case_or_state, "state", case_or_state)
    flow = getattr(case_or_state, "flow", flow)
    return format_html(
        '<span class="state state-{} tone-{}">{}</span>',
        state,
        STATE_TONES.get(state, "info"),
        state_label(state, flow),
    )


@register.simple_tag(takes_context=True)
def qs(context, **changes) -> str:
    """The current query string with some parameters replaced (None or "" removes them)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        params.pop(key, None)
        if value not in (None, ""):
            params[key] = value
    encoded = urlencode(sorted((k, v) for k in params for v in params.getlist(k)))
    return "?" + encoded if encoded else "?"


@register.filter
def capped(n: int, cap: int = 10_000) -> str:
    if n is None:
        return "–"
    return f"{cap:,}+" if n > cap else f"{n:,}"


@register.inclusion_tag("console/_nav.html", takes_context=True)
def console_nav(context):
    request = context["request"]
    user = request.user
    kinds = home_kinds(principal_of(request)) if user.is_authenticated else []
    match = request.resolver_match
    current = match.url_name if match and match.app_name == "console" else ""
    return {
        "user": user,
        "is_operator": "operator" in kinds,
        "is_auditor": can_read_audit(user),
        "current": current,
        "audit_current": bool(match and match.app_name == "audit"),
        "request": request,
    }


@register.simple_tag
def case_url(case) -> str:
    return reverse("console:case_detail", args=[case.pk])


@register.simple_tag
def console_i18n():
    """Strings console.js needs (countdown units, lightbox buttons), in the page's language."""
    from django.utils.html import json_script

    return json_script(
        {
            "left": _("%(t)s left"),
            "overdue": _("%(t)s overdue"),
            "d": _("%(d)sd %(h)sh"),
            "h": _("%(h)sh %(m)sm"),
            "m": _("%(m)sm"),
            "close": _("Close"),
            "prev": _("Previous"),
            "next": _("Next"),
            "loading": _("Loading…"),
            "shown": _("%(n)s cases shown"),
            "truncated": _("only the %(n)s most recent are shown; zoom in for all"),
            "outside": _("Outside every grid"),
            "open": _("Open case"),
        },
        "console-i18n",
    )


@register.filter
def get(mapping, key):
    """``mapping[key]`` in a template, or "" (for forms keyed by field name)."""
    try:
        return mapping.get(key, "")
    except AttributeError:
        return ""


@register.filter
def as_str(value) -> str:
    return "" if value is None else str(value)


@register.filter
def action_label(row) -> str:
    """The label of an action-log row in its case's vocabulary (六联单 or case)."""
    from civicgrid.cases.engine import action_label as label

    return label(row.action, getattr(row.case, "flow", "case"))
