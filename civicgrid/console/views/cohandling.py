"""主办/协办 parts and 吹哨报到 calls on the case page, and the board of open whistles.

The forms come from the parts' and calls' action tables (``cases.cohandling.PARTS``,
``cases.whistles.WHISTLE_CALLS``); which are offered comes from the engine's ``allowed``;
what is acceptable is decided by the engine, whose DomainError is shown with the form.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from civicgrid.cases.cohandling import PARTS, part_act, part_get_for, parts_of
from civicgrid.cases.models import CallState
from civicgrid.cases.selectors import case_get_for
from civicgrid.cases.whistles import (
    WHISTLE_CALLS,
    call_act,
    call_get_for,
    open_calls_for,
    whistles_of,
)
from civicgrid.core.errors import DomainError, NotFound
from civicgrid.core.workflow import Workflow
from civicgrid.people.access import principal_of

from .home import poll_seconds


def countdown(due, now) -> dict[str, Any]:
    """Minutes left to ``due`` (negative: overdue), for the 报到 countdown."""
    minutes = int((due - now).total_seconds() // 60)
    h, m = divmod(abs(minutes), 60)
    return {"minutes": minutes, "text": f"{h}:{m:02d}", "late": minutes < 0}


def _forms(wf: Workflow, user, obj, failed=None) -> list[dict]:
    out = []
    for name in wf.allowed(user, obj):
        a = wf.actions[name]
        if a.endpoint != "generated":
            continue
        errors = failed[1] if failed and failed[0] == (obj.pk, name) else {}
        out.append(
            {
                "action": name,
                "label": str(a.label),
                "style": a.style,
                "fields": a.inputs,
                "errors": errors,
                "open": bool(errors),
            }
        )
    return out


def cohandling_context(request, case, failed=None) -> dict[str, Any]:
    """The case page's co-handling and whistle panels."""
    user = principal_of(request)
    now = timezone.now()
    parts = parts_of(case)
    for p in parts:
        p.case = case
        p.forms = _forms(PARTS, user, p, failed)
    whistles = whistles_of(case)
    for w in whistles:
        for c in w.calls.all():
            c.forms = _forms(WHISTLE_CALLS, user, c, failed)
            c.clock = countdown(c.report_due, now) if c.state == CallState.CALLED else None
    return {"parts": parts, "whistles": whistles}


def _run(request, pk: int, kind: str, sub: int, action: str):
    principal = principal_of(request)
    case = case_get_for(principal, pk)
    wf = PARTS if kind == "part" else WHISTLE_CALLS
    a = wf.actions.get(action)
    if a is None or a.creation or a.endpoint != "generated":
        raise Http404("action")
    obj = (
        part_get_for(principal, case, sub) if kind == "part" else call_get_for(principal, case, sub)
    )
    inputs = {i.name: (request.POST.get(i.name) or "").strip() for i in a.inputs}
    version = request.POST.get("version") or ""
    run = part_act if kind == "part" else call_act
    try:
        run(
            **{kind if kind == "part" else "call": obj},
            action=action,
            actor=request.user,
            expected_version=int(version) if version.isdigit() else None,
            **inputs,
        )
    except NotFound:
        raise
    except DomainError as exc:
        messages.error(request, f"{a.label}: {exc.message}")
    else:
        messages.success(request, _("%(action)s: done.") % {"action": a.label})
    target = reverse("console:case_detail", args=[pk])
    anchor = "#cohandling" if kind == "part" else "#whistles"
    return redirect(target + anchor)


@login_required
@require_POST
def part_action(request, pk: int, part: int, action: str):
    return _run(request, pk, "part", part, action)


@login_required
@require_POST
def call_action(request, pk: int, call: int, action: str):
    return _run(request, pk, "call", call, action)


@login_required
@require_GET
def whistle_board(request):
    """吹哨报到 board: the open whistle calls on the cases in my scope, by deadline."""
    principal = principal_of(request)
    now = timezone.now()
    calls = list(open_calls_for(principal)[:300])
    groups: dict[int, dict] = {}
    for c in calls:
        g = groups.setdefault(c.whistle_id, {"whistle": c.whistle, "case": c.case, "calls": []})
        c.clock = countdown(c.report_due, now) if c.state == CallState.CALLED else None
        g["calls"].append(c)
    rows = sorted(groups.values(), key=lambda g: min(c.report_due for c in g["calls"]))
    waiting = sum(1 for c in calls if c.state == CallState.CALLED)
    late = sum(1 for c in calls if c.clock and c.clock["late"])
    return render(
        request,
        "console/whistles.html",
        {
            "rows": rows,
            "now": now,
            "waiting": waiting,
            "late": late,
            "reported": sum(1 for c in calls if c.state == CallState.REPORTED),
            "poll": poll_seconds(),
        },
    )
