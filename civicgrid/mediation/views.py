"""The mediation workspace of the console: queues, the dispute page, registers, roster, meetings.

Action forms come from the dispute workflow's table (``DISPUTES``): the offered actions are
``DISPUTES.allowed`` for the principal, the fields are each action's inputs, and a POST runs
``services.dispute_act``; a DomainError puts its message under the input it names.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from civicgrid.core.errors import DomainError, NotFound
from civicgrid.people.access import principal_of

from . import registers, selectors, services
from .models import (
    DisputeKind,
    DisputeSource,
    DisputeState,
    LegalRoute,
    MediatorKind,
    PartyRole,
    RiskLevel,
)
from .workflow import CAPACITY_LABELS, DISPUTES


def _level_choices():
    from civicgrid.territory.models import Area

    return Area.Level.choices


def not_found_as_404(view):
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(str(exc)) from None

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


@login_required
@require_GET
def workspace(request):
    """Queues by state and level; a mediator's queue is their own disputes."""
    p = principal_of(request)
    f = {
        "state": request.GET.get("state", "open"),
        "level": request.GET.get("level", ""),
        "source": request.GET.get("source", ""),
        "kind": request.GET.get("kind", ""),
        "q": request.GET.get("q", "").strip()[:50],
        "mine": request.GET.get("mine") == "1",
        "overdue": request.GET.get("overdue") == "1",
        "flagged": request.GET.get("flagged") == "1",
    }
    qs = selectors.dispute_list_for(p, **f).select_related("center", "mediator")
    page = Paginator(qs, selectors.PAGE).get_page(request.GET.get("page"))
    counts = selectors.queue_counts(p)
    open_n = sum(counts.get(s, 0) for s in ("registered", "triaged", "mediating"))
    tabs = [("open", _("Open"), open_n)] + [
        (s, label, counts.get(s, 0)) for s, label in DisputeState.choices
    ]
    return render(
        request,
        "mediation/workspace.html",
        {
            "f": f,
            "page": page,
            "tabs": tabs,
            "levels": _level_choices(),
            "sources": DisputeSource.choices,
            "kinds": DisputeKind.choices,
            "can_register": bool(p.centers) or p.is_superuser,
            "now": timezone.now(),
        },
    )


def _choices_for(dispute) -> dict[str, Any]:
    return {
        "body": [(b.pk, f"{b.name} · {b.center.name}") for b in selectors.bodies_for(dispute)],
        "mediator": [
            (
                m.pk,
                f"{m.name} · {m.get_kind_display()}{'' if m.available else ' · ' + _('unavailable')}",
            )
            for m in dispute.body.mediators.order_by("name")
        ]
        if dispute.body_id
        else [],
        "route": LegalRoute.choices,
    }


def _forms(request, dispute, failed: str = "", values=None, errors=None, non_field=""):
    p = principal_of(request)
    allowed = DISPUTES.allowed(p.user, dispute, p.dispute_capacities(dispute))
    out = []
    for a in DISPUTES.ordered():
        if a.name not in allowed or a.endpoint == "none" or a.who == ("system",):
            continue
        out.append(
            {
                "action": a.name,
                "label": a.label,
                "kind": a.style,
                "fields": a.inputs,
                "open": a.name == failed,
                "values": values if a.name == failed else {},
                "errors": errors if a.name == failed else {},
                "non_field": non_field if a.name == failed else "",
            }
        )
    return out


def _detail(request, dispute, **form_state):
    p = principal_of(request)
    caps = p.dispute_capacities(dispute)
    timeline = [
        {
            "r": r,
            "label": DISPUTES.actions[r.action].label if r.action in DISPUTES.actions else r.action,
            "role": CAPACITY_LABELS.get(r.role, r.role),
            "to": DisputeState(r.to_state).label if r.to_state in DisputeState.values else "",
        }
        for r in dispute.actions.select_related("actor").order_by("created_at", "id")
    ]
    return render(
        request,
        "mediation/dispute.html",
        {
            "d": dispute,
            "parties": dispute.parties.select_related("person").all(),
            "sessions": dispute.sessions.prefetch_related("mediators").all(),
            "agreements": dispute.agreements.all(),
            "visits": dispute.followups.select_related("visitor").all(),
            "meetings": dispute.meetings.all(),
            "timeline": timeline,
            "forms": _forms(request, dispute, **form_state),
            "choices": _choices_for(dispute),
            "caps": [CAPACITY_LABELS.get(c, c) for c in sorted(caps)],
            "now": timezone.now(),
        },
        status=400 if form_state.get("errors") or form_state.get("non_field") else 200,
    )


@login_required
@require_GET
@not_found_as_404
def dispute_detail(request, pk: int):
    return _detail(request, selectors.dispute_get_for(request, pk))


def _inputs_from_post(action: str, post) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i in DISPUTES.actions[action].inputs:
        if i.kind == "checkbox":
            out[i.name] = post.get(i.name) in ("on", "1", "true")
        else:
            v = (post.get(i.name) or "").strip()
            out[i.name] = v or None if i.kind in ("select", "datetime", "date", "int") else v
    return out


@login_required
@require_POST
@not_found_as_404
def dispute_act(request, pk: int, action: str):
    d = selectors.dispute_get_for(request, pk)
    if action not in DISPUTES.actions or DISPUTES.actions[action].creation:
        raise Http404("action")
    inputs = _inputs_from_post(action, request.POST)
    try:
        version = int(request.POST.get("version") or 0) or None
    except ValueError:
        version = None
    try:
        services.dispute_act(
            dispute=d, action=action, actor=request.user, expected_version=version, **inputs
        )
    except NotFound:
        raise
    except DomainError as exc:
        field = exc.field if exc.field in inputs else ""
        d = selectors.dispute_get_for(request, pk)
        return _detail(
            request,
            d,
            failed=action,
            values=inputs,
            errors={field: exc.message} if field else {},
            non_field="" if field else exc.message,
        )
    messages.success(request, _("Done: %(a)s.") % {"a": DISPUTES.actions[action].label})
    return redirect("mediation:dispute", pk=d.pk)


def _parties_from_post(post) -> list[dict[str, str]]:
    rows = []
    for i in range(4):
        name = (post.get(f"party{i}_name") or "").strip()
        if not name:
            continue
        rows.append(
            {
                "role": post.get(f"party{i}_role") or PartyRole.APPLICANT,
                "name": name,
                "id_number": (post.get(f"party{i}_id") or "").strip(),
                "phone": (post.get(f"party{i}_phone") or "").strip(),
            }
        )
    return rows


@login_required
@require_http_methods(["GET", "POST"])
def dispute_new(request):
    """登记 at a center: 来访, 来信, 网上 (and a 矛盾纠纷 case's conversion by its number)."""
    p = principal_of(request)
    from civicgrid.people.models import Center

    centers = Center.objects.filter(pk__in=p.centers) if not p.is_superuser else Center.objects
    centers = list(centers.select_related("area").order_by("area__code")[:200])
    values: dict[str, Any] = {"source": DisputeSource.VISIT}
    error, error_field = "", ""
    if request.method == "POST":
        values = {k: request.POST.get(k, "").strip() for k in request.POST}
        try:
            case_code = values.get("case", "")
            if case_code:
                from civicgrid.cases.models import Case

                case = (
                    Case.objects.filter(tracking_code=case_code).select_related("category").first()
                )
                if case is None or not p.can_view(case):
                    raise DomainError("invalid", _("case: no such case"), field="case")
                d = services.dispute_from_case(
                    case=case,
                    actor=request.user,
                    kind=values.get("kind", ""),
                    parties=_parties_from_post(request.POST),
                    amount=values.get("amount"),
                    risk=values.get("risk") or 1,
                )
            else:
                d = services.dispute_register(
                    actor=request.user,
                    source=values.get("source", ""),
                    kind=values.get("kind", ""),
                    title=values.get("title", ""),
                    facts=values.get("facts", ""),
                    parties=_parties_from_post(request.POST),
                    grid=values.get("grid") or None,
                    center=values.get("center") or None,
                    address=values.get("address", ""),
                    amount=values.get("amount"),
                    risk=values.get("risk") or 1,
                    violence_flag=request.POST.get("violence_flag") == "on",
                    visitor_count=values.get("visitor_count") or 1,
                )
        except DomainError as exc:
            error, error_field = exc.message, exc.field or ""
        else:
            messages.success(request, _("Dispute %(n)s registered.") % {"n": d.number})
            return redirect("mediation:dispute", pk=d.pk)
    return render(
        request,
        "mediation/new.html",
        {
            "centers": centers,
            "values": values,
            "error": error,
            "error_field": error_field,
            "sources": [c for c in DisputeSource.choices if c[0] in services.CENTER_SOURCES],
            "kinds": DisputeKind.choices,
            "risks": RiskLevel.choices,
            "roles": PartyRole.choices,
            "party_rows": range(4),
        },
        status=400 if error else 200,
    )


@login_required
@require_GET
@not_found_as_404
def agreement_print(request, pk: int):
    """协议书 on A4 (print CSS page)."""
    d = selectors.dispute_get_for(request, pk)
    agreement = d.agreements.order_by("-signed_at", "-id").first()
    if agreement is None:
        raise Http404("agreement")
    return render(
        request,
        "mediation/agreement_print.html",
        {"d": d, "a": agreement, "parties": d.parties.all(), "sessions": d.sessions.all()},
    )


@login_required
@require_GET
@not_found_as_404
def triage_card(request, pk: int):
    """矛盾纠纷分流卡 of one dispute, printable."""
    d = selectors.dispute_get_for(request, pk)
    row = registers.TRIAGE.row_of(d)
    return render(
        request,
        "mediation/card_print.html",
        {
            "d": d,
            "register": registers.TRIAGE,
            "cells": list(zip(registers.TRIAGE.headers(), row, strict=True)),
        },
    )


@login_required
@require_GET
def roster(request):
    """点员台: the mediators a party may choose from, with specialties and availability."""
    f = {
        "kind": request.GET.get("kind", ""),
        "specialty": request.GET.get("specialty", ""),
        "available": request.GET.get("available") == "1",
    }
    qs = selectors.roster_for(request, **f)
    page = Paginator(qs, selectors.PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "mediation/roster.html",
        {
            "f": f,
            "page": page,
            "kinds": MediatorKind.choices,
            "specialties": DisputeKind.choices,
            "specialty_labels": dict(DisputeKind.choices),
        },
    )


def _register_or_404(code: str) -> registers.Register:
    reg = registers.REGISTERS.get(code)
    if reg is None:
        raise Http404("register")
    return reg


def _period(request) -> tuple[dt.date, dt.date]:
    today = timezone.localdate()
    try:
        start = dt.date.fromisoformat(request.GET.get("from", ""))
    except ValueError:
        start = today.replace(day=1) - dt.timedelta(days=90)
    try:
        end = dt.date.fromisoformat(request.GET.get("to", ""))
    except ValueError:
        end = today
    return start, end


@login_required
@require_GET
def register_page(request, code: str):
    reg = _register_or_404(code)
    start, end = _period(request)
    qs = reg.queryset(principal_of(request), start, end)
    page = Paginator(qs, selectors.PAGE).get_page(request.GET.get("page"))
    rows = [reg.row_of(obj) for obj in page]
    return render(
        request,
        "mediation/register.html",
        {
            "reg": reg,
            "registers": registers.REGISTERS.values(),
            "headers": reg.headers(),
            "rows": rows,
            "page": page,
            "start": start,
            "end": end,
        },
    )


@login_required
@require_GET
def register_print(request, code: str):
    reg = _register_or_404(code)
    start, end = _period(request)
    qs = reg.queryset(principal_of(request), start, end)[: registers.PRINT_LIMIT]
    return render(
        request,
        "mediation/register_print.html",
        {
            "reg": reg,
            "headers": reg.headers(),
            "rows": [reg.row_of(o) for o in qs],
            "start": start,
            "end": end,
            "limit": registers.PRINT_LIMIT,
        },
    )


@login_required
@require_GET
def register_export(request, code: str):
    reg = _register_or_404(code)
    start, end = _period(request)
    return registers.export_response(reg, principal_of(request), start, end)


@login_required
@require_http_methods(["GET", "POST"])
def meetings(request):
    """研判会商: the list and the form recording a meeting."""
    p = principal_of(request)
    from civicgrid.people.models import Center

    centers = list(
        (Center.objects if p.is_superuser else Center.objects.filter(pk__in=p.centers))
        .select_related("area")
        .order_by("area__code")[:200]
    )
    error, values = "", {}
    if request.method == "POST":
        values = {k: request.POST.get(k, "").strip() for k in request.POST}
        tasks = []
        for i in range(3):
            if values.get(f"task{i}"):
                tasks.append(
                    {
                        "task": values.get(f"task{i}"),
                        "owner": values.get(f"task{i}_owner"),
                        "due_date": values.get(f"task{i}_due"),
                    }
                )
        try:
            numbers = [n.strip() for n in values.get("disputes", "").split(",") if n.strip()]
            ids = list(
                selectors.dispute_list_for(p)
                .filter(number__in=numbers)
                .values_list("pk", flat=True)
            )
            if len(ids) != len(set(numbers)):
                raise DomainError(
                    "invalid", _("disputes: unknown or out of scope"), field="disputes"
                )
            from civicgrid.cases.models import Case

            codes = [n.strip() for n in values.get("cases", "").split(",") if n.strip()]
            case_ids = list(
                Case.objects.filter(p.case_visible_q(), tracking_code__in=codes).values_list(
                    "pk", flat=True
                )
            )
            if len(case_ids) != len(set(codes)):
                raise DomainError("invalid", _("cases: unknown or out of scope"), field="cases")
            m = services.meeting_record(
                actor=request.user,
                center=values.get("center") or None,
                held_at=values.get("held_at"),
                place=values.get("place", ""),
                host=values.get("host", ""),
                attendees=values.get("attendees", ""),
                topic=values.get("topic", ""),
                situation=values.get("situation", ""),
                opinions=values.get("opinions", ""),
                decisions=values.get("decisions", ""),
                disputes=ids,
                cases=case_ids,
                tasks=tasks,
            )
        except DomainError as exc:
            error = exc.message
        else:
            messages.success(request, _("Meeting recorded."))
            return redirect("mediation:meeting", pk=m.pk)
    page = Paginator(selectors.meeting_list_for(p).prefetch_related("tasks"), 20).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "mediation/meetings.html",
        {"page": page, "centers": centers, "error": error, "values": values},
        status=400 if error else 200,
    )


@login_required
@require_GET
@not_found_as_404
def meeting_detail(request, pk: int):
    m = selectors.meeting_get_for(request, pk)
    p = principal_of(request)
    return render(
        request,
        "mediation/meeting.html",
        {
            "m": m,
            "disputes": m.disputes.filter(p.dispute_visible_q()),
            "cases": m.cases.filter(p.case_visible_q()),
            "tasks": m.tasks.all(),
        },
    )


@login_required
@require_POST
@not_found_as_404
def meeting_task_done(request, pk: int, task_id: int):
    """Mark a meeting's follow-up task done (staff of the meeting's center)."""
    from .models import MeetingTask

    m = selectors.meeting_get_for(request, pk)
    task = MeetingTask.objects.filter(pk=task_id, meeting=m).select_related("meeting").first()
    if task is None:
        raise Http404("task")
    services.meeting_task_done(task=task, actor=request.user)
    return redirect("mediation:meeting", pk=m.pk)
