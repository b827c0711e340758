"""The console's audit search (superusers and installation administrators)."""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.views.decorators.http import require_GET

from . import selectors
from .models import Action


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
            "object_types": selectors.OBJECT_TYPES,
        },
    )
