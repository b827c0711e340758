"""The console's audit search (superusers and installation administrators)."""

from __future__ import annotations

import json

from django.apps import apps
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from . import selectors
from .models import Action

SPECIAL = {"territory.import": _("territory import"), "audit.auditevent": _("audit trail")}
ACTORS = {"system": _("system"), "anonymous": _("anonymous")}


def type_label(label: str) -> str:
    if label in SPECIAL:
        return str(SPECIAL[label])
    try:
        return str(apps.get_model(label)._meta.verbose_name)
    except (LookupError, ValueError):
        return label


def _cursor(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() and len(value) < 19 else None


@login_required
@require_GET
def event_list(request):
    if not selectors.can_read_audit(request.user):
        raise PermissionDenied
    f = selectors.parse_filter(request.GET)
    qs = selectors.events(f)
    page = selectors.page(
        qs, before=_cursor(request.GET.get("before")), after=_cursor(request.GET.get("after"))
    )
    for e in page.items:
        e.type_label = type_label(e.object_type) if e.object_type else ""
        e.actor_display = str(ACTORS.get(e.actor_label, e.actor_label))
        e.before_json = json.dumps(e.before, ensure_ascii=False, indent=1) if e.before else ""
        e.after_json = json.dumps(e.after, ensure_ascii=False, indent=1) if e.after else ""
        e.details_json = json.dumps(e.details, ensure_ascii=False, indent=1) if e.details else ""
    return render(
        request,
        "audit/event_list.html",
        {
            "f": f,
            "page": page,
            "actions": Action.choices,
            "object_types": sorted(
                ((t, type_label(t)) for t in selectors.OBJECT_TYPES), key=lambda x: x[1]
            ),
        },
    )
