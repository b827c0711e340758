"""吹哨报到: whistles on cases and the departments' report-ins, a workflow on the engine.

A township/community center operator or a grid chief blows the whistle on a case (the case
action ``whistle``), naming departments. The ``Whistle`` row records who, why and the report-in
deadline (``WHISTLE_REPORT_HOURS`` working hours, default 2); each named department gets a
``WhistleCall`` — the workflow row, with its own version and log (``WhistleCallAction``):

    blow (creation) → called ─report_in→ reported ─act→ done
    called / reported ─cancel→ cancelled (the caller withdraws the call)
    supervise (the sweep, no state change): a call not reported in by its deadline, or reported
    in late, gets one automatic supervision (a ``Supervision`` row of kind ``whistle``)

``whistle_sweep`` is the SLA sweep's part for whistles: one supervision per call and deadline,
guaranteed three ways — the sweep re-reads the call under ``serialized`` (an advisory lock on
PostgreSQL), the engine's version compare-and-set refuses a second writer, and a partial
unique constraint allows one supervision row per call.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import IntegrityError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicgrid.core.conf import options
from civicgrid.core.errors import DomainError, NotFound
from civicgrid.core.locks import serialized
from civicgrid.core.workflow import Action, Input, Step, Workflow
from civicgrid.people.access import CALLED, CALLER, SYSTEM, Principal

from .models import (
    OPEN_CALL_STATES,
    CallState,
    Case,
    Supervision,
    SupervisionKind,
    Whistle,
    WhistleCall,
    WhistleCallAction,
)

logger = logging.getLogger(__name__)
C = CallState
TEXT = 4000
BATCH = 500
LABELS = {
    CALLED: gettext_lazy("Called department"),
    CALLER: gettext_lazy("Whistle-blower"),
    SYSTEM: gettext_lazy("System"),
}


def call_capacities(user, call: WhistleCall) -> set[str]:
    return Principal.of(user).call_capacities(call)


def _can_view(user, call: WhistleCall) -> bool:
    return Principal.of(user).can_view_call(call)


WHISTLE_CALLS = Workflow(
    name="whistle_call",
    model=WhistleCall,
    log_model=WhistleCallAction,
    log_fk="call",
    capacities=call_capacities,
    capacity_labels=LABELS,
    noun=gettext_lazy("whistle call"),
    can_view=_can_view,
    state_label=lambda call, state: str(CallState(state).label),
)
# fmt: off
WHISTLE_CALLS.add(
    Action("blow", (), C.CALLED, (CALLER,), creation=True, endpoint="none",
           label=gettext_lazy("Blow the whistle"),
           summary="吹哨 Call a department to the case (by the case's whistle action)"),
    Action("report_in", (C.CALLED,), C.REPORTED, (CALLED,), order=10, style="primary",
           inputs=(Input("note", "textarea", False, gettext_lazy("Who attends, and when"),
                         max_length=TEXT),),
           schema="WhistleCallNoteIn", label=gettext_lazy("Report in (报到)"), summary="报到 Report in"),
    Action("act", (C.REPORTED,), C.DONE, (CALLED,), order=20, style="primary",
           inputs=(Input("result", "textarea", True, gettext_lazy("What the department did"),
                         max_length=TEXT),),
           schema="WhistleCallResultIn", label=gettext_lazy("Record the action taken"), summary="处置 Record the action taken"),
    Action("cancel", (C.CALLED, C.REPORTED), C.CANCELLED, (CALLER,), order=30, style="danger",
           inputs=(Input("reason", "textarea", True, gettext_lazy("Reason"), max_length=TEXT),),
           schema="WhistleCallReasonIn", label=gettext_lazy("Withdraw the call"), summary="撤哨 Withdraw the call"),
    Action("supervise", (C.CALLED, C.REPORTED, C.DONE), None, (SYSTEM,), order=900,
           endpoint="none", label=gettext_lazy("Report-in supervised"),
           summary="报到督办 Automatic supervision of a late or missing report-in (the sweep)"),
)
# fmt: on


def report_due_from(now: dt.datetime) -> dt.datetime:
    """The report-in deadline of a whistle blown at ``now`` (working hours)."""
    from .calendar import add_hours

    return add_hours(now, options().WHISTLE_REPORT_HOURS, "working")


def _text(step: Step, name: str, required: bool = True) -> str:
    value = str(step.inputs.get(name) or "").strip()
    if required and not value:
        raise DomainError("required", _("%(field)s is required.") % {"field": name}, field=name)
    if len(value) > TEXT:
        raise DomainError(
            "too_long",
            _("%(field)s must be at most %(n)s characters.") % {"field": name, "n": TEXT},
            field=name,
        )
    return value


def _tell(step: Step, recipients, kind: str, what: str, sms: bool = False) -> None:
    from .handlers import notify

    call = step.obj
    case = call.case
    title = f"[{case.tracking_code}] {what}"

    def run() -> None:
        notify(users=recipients(), kind=kind, title=title, body=step.note[:200], case=case, sms=sms)

    step.effects.append(run)


def _department_handlers(call: WhistleCall):
    from .handlers import handlers_of

    return lambda: handlers_of(call.department_id, call.scope_code)


def _whistle_side(call: WhistleCall):
    """The one who blew the whistle and the operators of the whistling center."""
    from .handlers import operators_of

    def users():
        w = call.whistle
        out = ([w.blown_by] if w.blown_by_id else []) + operators_of(w.center_id)
        return list({u.pk: u for u in out if u is not None}.values())

    return users


def is_late(call: WhistleCall, at: dt.datetime) -> bool:
    """A report-in at the deadline instant is late, as the sweep supervises at that instant."""
    return at >= call.report_due


@WHISTLE_CALLS.handler("report_in")
def plan_report_in(step: Step) -> None:
    call = step.obj
    step.note = _text(step, "note", required=False)
    late = is_late(call, step.now)
    step.changes.update(reported_at=step.now, late=late)
    step.data["late"] = late
    # A report-in answers the supervision of this call, if the sweep got there first.
    step.after.append(
        lambda row: Supervision.objects.filter(whistle_call=call, answered_at__isnull=True).update(
            answered_at=step.now
        )
    )
    _tell(
        step,
        _whistle_side(call),
        "whistle_reported",
        _("%(d)s reported in") % {"d": call.department.name},
    )


@WHISTLE_CALLS.handler("act")
def plan_act(step: Step) -> None:
    call = step.obj
    step.note = _text(step, "result")
    step.changes.update(result=step.note, done_at=step.now)
    _tell(
        step,
        _whistle_side(call),
        "whistle_acted",
        _("%(d)s recorded its action on the whistle") % {"d": call.department.name},
    )


@WHISTLE_CALLS.handler("cancel")
def plan_cancel(step: Step) -> None:
    call = step.obj
    step.note = _text(step, "reason")
    _tell(step, _department_handlers(call), "whistle_cancelled", _("A whistle call was withdrawn"))


@WHISTLE_CALLS.handler("supervise")
def plan_supervise(step: Step) -> None:
    from .handlers import leaders_for, operators_of

    call = step.obj
    if call.supervised_at is not None:
        raise DomainError(
            "already_supervised",
            _("This report-in deadline has already been supervised."),
            field="supervised_at",
            status=409,
        )
    missing = call.state == C.CALLED
    due = timezone.localtime(call.report_due).strftime("%Y-%m-%d %H:%M")
    if missing:
        step.note = _("Automatic supervision: %(d)s has not reported in by %(due)s.") % {
            "d": call.department.name,
            "due": due,
        }
    else:
        step.note = _("Automatic supervision: %(d)s reported in late (due %(due)s).") % {
            "d": call.department.name,
            "due": due,
        }
    step.changes["supervised_at"] = step.now
    step.data.update(auto=True, missing=missing, due=call.report_due.isoformat())
    step.after.append(
        lambda row: Supervision.objects.create(
            case=call.case,
            kind=SupervisionKind.WHISTLE,
            department_id=call.department_id,
            whistle_call=call,
            note=step.note,
            created_at=step.now,
            # Reported in late: the report-in already answered it.
            answered_at=None if missing else call.reported_at,
        )
    )

    def recipients():
        out = _department_handlers(call)() + _whistle_side(call)()
        if missing:
            out += operators_of(call.case.owner_id) + leaders_for(call.scope_code)
        return list({u.pk: u for u in out}.values())

    _tell(step, recipients, "whistle_supervised", step.note, sms=missing)


# --- blowing the whistle (run by the case action ``whistle``) ------------------------------------


def whistle_blow(*, case: Case, actor, role: str, departments, reason: str, now, center_id):
    """Create the whistle and one call per department (each logged); inside the case action."""
    due = report_due_from(now)
    whistle = Whistle.objects.create(
        case=case,
        center_id=center_id,
        scope_code=case.scope_code,
        blown_by=actor if getattr(actor, "pk", None) else None,
        role=role,
        reason=reason,
        report_due=due,
        created_at=now,
    )
    for dept in departments:
        call = WhistleCall(
            whistle=whistle,
            case=case,
            department=dept,
            scope_code=case.scope_code,
            report_due=due,
            created_at=now,
        )
        step = Step(
            obj=call,
            actor=actor,
            role=role,
            inputs={},
            now=now,
            transition=WHISTLE_CALLS.creation(),
            workflow=WHISTLE_CALLS,
            note=reason,
            data={"department": dept.code, "report_due": due.isoformat()},
        )
        _tell(
            step,
            _department_handlers(call),
            "whistle_called",
            _("Whistle: %(d)s must report in by %(due)s")
            % {"d": dept.name, "due": timezone.localtime(due).strftime("%m-%d %H:%M")},
            sms=True,
        )
        WHISTLE_CALLS.create(step)
    return whistle


# --- reads ----------------------------------------------------------------------------------------


def whistles_of(case: Case) -> list[Whistle]:
    rows = list(
        Whistle.objects.filter(case=case)
        .select_related("blown_by", "center")
        .prefetch_related("calls__department")
        .order_by("-created_at", "-id")
    )
    for w in rows:
        for c in w.calls.all():
            c.case = case
            c.whistle = w
    return rows


def open_calls_for(user, *, center: int | None = None):
    """Open whistle calls on the cases ``user`` sees, oldest deadline first (the board)."""
    p = Principal.of(user)
    qs = (
        WhistleCall.objects.filter(state__in=OPEN_CALL_STATES)
        .filter(case__in=Case.objects.filter(p.case_visible_q()).values("pk"))
        .select_related("case__category", "department", "whistle__center", "whistle__blown_by")
        .order_by("report_due", "id")
    )
    if center:
        qs = qs.filter(whistle__center_id=center)
    return qs


def call_get_for(user, case: Case, key) -> WhistleCall:
    call = (
        WhistleCall.objects.filter(case=case, pk=int(key)).select_related("department", "whistle")
        if str(key).isdigit()
        else WhistleCall.objects.none()
    ).first()
    if call is None or not Principal.of(user).can_view(case):
        raise NotFound(_("whistle call"))
    call.case = case
    return call


def call_act(*, call: WhistleCall, action: str, actor, expected_version=None, **inputs):
    return WHISTLE_CALLS.act(
        obj=call, action=action, actor=actor, expected_version=expected_version, inputs=inputs
    )


# --- the sweep ------------------------------------------------------------------------------------


def _needs_supervision(now: dt.datetime) -> Q:
    return Q(supervised_at__isnull=True) & (Q(state=C.CALLED, report_due__lte=now) | Q(late=True))


def whistle_sweep(now: dt.datetime | None = None) -> dict[str, int]:
    """Supervise each call whose report-in is missing at its deadline or came late; once."""
    now = now or timezone.now()
    counts = {"whistle": 0, "whistle_skipped": 0}
    failed: set[int] = set()
    while True:
        ids = list(
            WhistleCall.objects.filter(_needs_supervision(now))
            .exclude(pk__in=failed)
            .order_by("report_due", "id")
            .values_list("pk", flat=True)[:BATCH]
        )
        if not ids:
            break
        for pk in ids:
            try:
                with serialized(f"whistle_call:{pk}"):
                    call = (
                        WhistleCall.objects.filter(_needs_supervision(now), pk=pk)
                        .select_related("case", "department", "whistle")
                        .first()
                    )
                    if call is None:  # another worker supervised it meanwhile
                        counts["whistle_skipped"] += 1
                        continue
                    WHISTLE_CALLS.act(
                        obj=call,
                        action="supervise",
                        actor=None,
                        role=SYSTEM,
                        extra_caps=[SYSTEM],
                        expected_version=call.version,
                    )
                counts["whistle"] += 1
            except (DomainError, IntegrityError) as exc:
                logger.info("whistle sweep skipped call %s: %s", pk, exc)
                failed.add(pk)
                counts["whistle_skipped"] += 1
    return counts
