"""The dispute workflow's action table and its handlers, on the shared engine.

登记 (register) → 分流 (triage: the 分流卡 names the body, the reason and the deadline) → 调处
(start, sessions) → 调解成功 (agree: the 协议书) / 调解不成 (fail: the legal route, a referral) /
撤回 (withdraw) → 履行 (fulfil) → 回访 (visit; a relapse reopens) → 归档 (archive); escalation
moves an open dispute to the next level's center. The API endpoints (``api.py``), the console
forms (``views.py``), the field app's allow-list and docs/mediation.md's table come from these
rows.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicgrid.cases.calendar import add_hours
from civicgrid.cases.handlers import as_date, as_datetime, parent_center, text
from civicgrid.core.conf import options
from civicgrid.core.errors import DomainError
from civicgrid.core.workflow import Action, Input, Step, Workflow
from civicgrid.people.access import Principal
from civicgrid.people.dispute_access import D_CENTER, D_GRID_WORKER, D_LEADER, D_MEDIATOR
from civicgrid.people.models import Center

from .models import (
    CONCLUDED_STATES,
    OPEN_STATES,
    Agreement,
    Dispute,
    DisputeAction,
    DisputeState,
    FollowUp,
    LegalRoute,
    MediationBody,
    Mediator,
    Session,
    new_number,
)

S = DisputeState
CENTER, MEDIATOR, GRID_WORKER, LEADER, SYSTEM = (
    D_CENTER,
    D_MEDIATOR,
    D_GRID_WORKER,
    D_LEADER,
    "system",
)
CAPACITY_LABELS = {
    CENTER: gettext_lazy("Mediation center staff"),
    MEDIATOR: gettext_lazy("Mediator"),
    GRID_WORKER: gettext_lazy("Grid worker"),
    LEADER: gettext_lazy("Leader"),
    SYSTEM: gettext_lazy("System"),
}
OPEN = tuple(OPEN_STATES)
TEXT = 4000
CONDUCTORS = (CENTER, MEDIATOR)
VISITORS = (CENTER, MEDIATOR, GRID_WORKER)


def _capacities(user, dispute) -> set[str]:
    return Principal.of(user).dispute_capacities(dispute)


def _can_view(user, dispute) -> bool:
    return Principal.of(user).can_view_dispute(dispute)


DISPUTES = Workflow(
    name="dispute",
    model=Dispute,
    log_model=DisputeAction,
    log_fk="dispute",
    capacities=_capacities,
    capacity_labels=CAPACITY_LABELS,
    noun=gettext_lazy("dispute"),
    can_view=_can_view,
    state_label=lambda d, state: str(DisputeState(state).label),
)


def _not_flagged(d, caps, user) -> bool:
    return not d.violence_flag


NOTE = Input("note", "textarea", False, gettext_lazy("Note"), max_length=TEXT)
REASON = Input("reason", "textarea", True, gettext_lazy("Reason"), max_length=TEXT)
VISIT_INPUTS = (
    Input("fulfilled", "checkbox", False, gettext_lazy("Agreement fulfilled")),
    Input("satisfied", "checkbox", False, gettext_lazy("Parties satisfied")),
    Input("note", "textarea", True, gettext_lazy("What the parties said"), max_length=TEXT),
)

# fmt: off
DISPUTES.add(
    Action("register", (), S.REGISTERED, (CENTER, GRID_WORKER), creation=True, endpoint="custom",
           inputs=(Input("kind", "select", True, gettext_lazy("Kind")),
                   Input("title", "text", True, gettext_lazy("Title"), max_length=200),
                   Input("facts", "textarea", True, gettext_lazy("Facts"))),
           label=gettext_lazy("Register"), summary="登记 Register a dispute"),
    Action("triage", (S.REGISTERED,), S.TRIAGED, (CENTER,), order=10, style="primary",
           inputs=(Input("body", "select", True, gettext_lazy("Mediation body"), value_type=int,
                         help="id of a mediation body of the holding center"),
                   Input("reason", "textarea", True, gettext_lazy("Why this body"),
                         max_length=TEXT),
                   Input("due", "datetime", False, gettext_lazy("To be resolved by"),
                         help="default: the mediation limit in working hours"),
                   Input("mediator", "select", False, gettext_lazy("Mediator"), value_type=int,
                         help="id of a mediator of that body")),
           label=gettext_lazy("Triage (分流)"), summary="分流 Triage to a mediation body"),
    Action("choose_mediator", (S.TRIAGED, S.MEDIATING), None, (CENTER,), order=20,
           path="mediator",
           inputs=(Input("mediator", "select", True, gettext_lazy("Mediator"), value_type=int,
                         help="id of a mediator of the dispute's body"),
                   Input("by_party", "checkbox", False,
                         gettext_lazy("Chosen by a party (点员)"))),
           label=gettext_lazy("Choose mediator"), summary="点员 Choose the mediator"),
    Action("start", (S.TRIAGED,), S.MEDIATING, CONDUCTORS, order=30, style="primary",
           inputs=(NOTE,), label=gettext_lazy("Start mediation (调处)"),
           summary="调处 Start mediating"),
    Action("session", (S.MEDIATING,), None, CONDUCTORS, order=40,
           inputs=(Input("held_at", "datetime", True, gettext_lazy("Held at")),
                   Input("place", "text", True, gettext_lazy("Place"), max_length=100),
                   Input("participants", "textarea", True, gettext_lazy("Participants"),
                         max_length=TEXT),
                   Input("summary", "textarea", True, gettext_lazy("What was said"),
                         max_length=TEXT),
                   Input("agreed", "checkbox", False, gettext_lazy("Agreed at this session"))),
           label=gettext_lazy("Record a session"), summary="调解会 Record a mediation session"),
    Action("agree", (S.MEDIATING,), S.AGREED, CONDUCTORS, order=50, style="primary",
           inputs=(Input("terms", "textarea", True, gettext_lazy("Terms of the agreement"),
                         max_length=TEXT),
                   Input("amount", "text", False, gettext_lazy("Amount (yuan)"), max_length=20),
                   Input("fulfil_by", "date", True, gettext_lazy("To be fulfilled by"))),
           label=gettext_lazy("Settled: agreement (调解成功)"),
           summary="调解成功 Settled with an agreement (协议书)"),
    Action("fail", (S.MEDIATING,), S.REFERRED, CONDUCTORS, order=60, style="danger",
           inputs=(Input("route", "select", True, gettext_lazy("Legal route")),
                   Input("note", "textarea", True, gettext_lazy("Referral"), max_length=TEXT)),
           label=gettext_lazy("Not settled: refer (调解不成)"),
           summary="调解不成 Not settled, referred to a legal route"),
    Action("withdraw", OPEN, S.WITHDRAWN, (CENTER,), order=120, style="danger",
           inputs=(REASON,), label=gettext_lazy("Withdrawn (撤回)"), summary="撤回 Withdrawn"),
    Action("escalate", OPEN, S.REGISTERED, (CENTER,), order=110, style="danger",
           inputs=(REASON,), label=gettext_lazy("Escalate to the higher center"),
           summary="上交 Escalate to the next level's center"),
    Action("fulfil", (S.AGREED,), S.FULFILLED, VISITORS, order=70, style="primary",
           inputs=(Input("note", "textarea", True, gettext_lazy("How it was fulfilled"),
                         max_length=TEXT),),
           field_app=True, label=gettext_lazy("Agreement fulfilled (履行)"),
           summary="履行 Record the agreement's fulfilment"),
    Action("visit", (S.AGREED, S.FULFILLED, S.REFERRED), None, VISITORS, order=80,
           inputs=VISIT_INPUTS, field_app=True, schema="DisputeVisitIn",
           label=gettext_lazy("Follow-up visit (回访)"), summary="回访 Follow-up visit"),
    Action("relapse", (S.AGREED, S.FULFILLED, S.REFERRED), S.MEDIATING, VISITORS, order=90,
           style="danger", inputs=VISIT_INPUTS, field_app=True, schema="DisputeVisitIn",
           label=gettext_lazy("Visit: relapse, reopen"),
           summary="回访发现反复 Follow-up visit found a relapse: reopen"),
    Action("archive", (S.FULFILLED, S.REFERRED, S.WITHDRAWN), S.ARCHIVED, (CENTER,), order=100,
           style="primary", inputs=(NOTE,), label=gettext_lazy("Archive (归档)"),
           summary="归档 Archive"),
    Action("flag_violence", (*OPEN, S.AGREED, S.FULFILLED, S.REFERRED), None,
           (CENTER, MEDIATOR, GRID_WORKER, LEADER), order=130, style="danger",
           path="flag-violence", inputs=(REASON,), guard=_not_flagged, field_app=True,
           label=gettext_lazy("Flag 民转刑 risk"),
           summary="民转刑预警 Flag a risk of turning violent (notifies center and police)"),
    Action("supervise", OPEN, None, (LEADER, SYSTEM), order=140,
           inputs=(Input("note", "textarea", True, gettext_lazy("Supervision note"),
                         max_length=TEXT),),
           label=gettext_lazy("Supervise (督办)"), summary="督办 Supervise"),
)
# fmt: on


# --- deadlines ----------------------------------------------------------------------------------


def triage_due(start: dt.datetime) -> dt.datetime:
    return add_hours(start, options().MEDIATION_TRIAGE_HOURS, "working")


def mediation_due(start: dt.datetime) -> dt.datetime:
    return add_hours(start, options().MEDIATION_LIMIT_HOURS, "working")


def followup_dates(start: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=n) for n in options().MEDIATION_FOLLOWUP_DAYS]


# --- notifications ------------------------------------------------------------------------------


def dispute_url(dispute: Dispute) -> str:
    from django.urls import reverse

    return reverse("mediation:dispute", args=[dispute.pk])


def notify_later(step: Step, recipients, kind: str, title: str, body: str = "") -> None:
    """Queue a notice after commit; ``recipients`` is a list or a callable returning one."""
    dispute = step.obj

    def send() -> None:
        from civicgrid.notifications.services import notify

        users = recipients() if callable(recipients) else recipients
        notify(users=users, kind=kind, title=title, body=body, url=dispute_url(dispute))

    step.effects.append(send)


def center_staff(dispute: Dispute) -> list:
    from civicgrid.people.access import operators_of_center

    return operators_of_center(dispute.center_id)


def police_over(code: str) -> list:
    """Handlers of the police departments whose area contains ``code`` (nearest first)."""
    from civicgrid.people.access import codes_over, handlers_over
    from civicgrid.people.models import Department

    key = options().MEDIATION_POLICE_KEY
    out: list = []
    for dept in Department.objects.filter(
        code__endswith=f"-{key}", area__code__in=codes_over(code)
    ).order_by("-area__level"):
        out += handlers_over(dept.pk, code)
    return out


def flag_violence_effect(step: Step, reason: str) -> None:
    d = step.obj
    title = _("民转刑 risk: dispute %(n)s") % {"n": d.number}
    body = f"{d.title} · {reason}"[:500]
    notify_later(
        step,
        lambda: center_staff(d) + police_over(d.scope_code),
        "dispute_violence",
        title,
        body,
    )


# --- handlers -------------------------------------------------------------------------------------


def _body(dispute: Dispute, value: Any) -> MediationBody:
    try:
        pk = int(value)
    except (TypeError, ValueError):
        pk = -1
    body = MediationBody.objects.filter(pk=pk, is_active=True).select_related("center").first()
    if body is None:
        raise DomainError(
            "invalid",
            _("body: no such active mediation body."),
            field="body",
            details={"body": value},
        )
    if (
        not dispute.owner_code.startswith(body.center.area.prefix)
        and body.center_id != dispute.center_id
    ):
        raise DomainError(
            "body_out_of_scope",
            _("body: %(b)s does not serve the area of %(c)s.")
            % {"b": body.name, "c": dispute.center.name},
            field="body",
        )
    return body


def _mediator(body_id: int | None, value: Any, field: str = "mediator") -> Mediator:
    try:
        pk = int(value)
    except (TypeError, ValueError):
        pk = -1
    m = Mediator.objects.filter(pk=pk).first()
    if m is None or m.body_id != body_id:
        raise DomainError(
            "invalid", _("mediator: not a mediator of the dispute's body."), field=field
        )
    if not m.available:
        raise DomainError(
            "mediator_unavailable",
            _("mediator: %(m)s is not available now.") % {"m": m.name},
            field=field,
        )
    return m


def _assign_mediator(step: Step, m: Mediator, by_party: bool) -> None:
    step.changes.update(mediator=m, mediator_user_id=m.user_id, chosen_by_party=by_party)
    step.data.update(mediator=m.pk, by_party=by_party)
    if m.user_id:
        notify_later(
            step,
            [m.user],
            "dispute_assigned",
            _("Dispute %(n)s assigned to you") % {"n": step.obj.number},
            step.obj.title,
        )


@DISPUTES.handler("triage")
def plan_triage(step: Step) -> None:
    d = step.obj
    body = _body(d, step.inputs.get("body"))
    reason = text(step, "reason", max_len=TEXT)
    due_raw = step.inputs.get("due")
    due = as_datetime(due_raw, "due") if due_raw else mediation_due(step.now)
    if due <= step.now:
        raise DomainError("invalid", _("due: must be in the future."), field="due")
    step.note = reason
    step.changes.update(body=body, triage_reason=reason, due_at=due, overdue=False)
    step.data.update(body=body.pk, due=due.isoformat())
    if step.inputs.get("mediator"):
        _assign_mediator(step, _mediator(body.pk, step.inputs["mediator"]), False)


@DISPUTES.handler("choose_mediator")
def plan_choose_mediator(step: Step) -> None:
    d = step.obj
    m = _mediator(d.body_id, step.inputs.get("mediator"))
    by_party = bool(step.inputs.get("by_party"))
    _assign_mediator(step, m, by_party)
    step.note = (_("Chosen by a party: %(m)s") if by_party else _("Mediator: %(m)s")) % {
        "m": m.name
    }


@DISPUTES.handler("start")
def plan_start(step: Step) -> None:
    if not step.obj.mediator_id:
        raise DomainError(
            "no_mediator", _("mediator: choose a mediator before mediating."), field="mediator"
        )
    step.note = text(step, "note", required=False, max_len=TEXT)


@DISPUTES.handler("session")
def plan_session(step: Step) -> None:
    d = step.obj
    held_at = as_datetime(step.inputs.get("held_at"), "held_at")
    if held_at > step.now + dt.timedelta(hours=1):
        raise DomainError(
            "invalid", _("held_at: a session is recorded after it was held."), field="held_at"
        )
    place = text(step, "place", max_len=100)
    participants = text(step, "participants", max_len=TEXT)
    summary = text(step, "summary", max_len=TEXT)
    agreed = bool(step.inputs.get("agreed"))
    step.note = summary
    step.data.update(place=place, agreed=agreed)

    def save(row) -> None:
        s = Session.objects.create(
            dispute=d,
            held_at=held_at,
            place=place,
            participants=participants,
            summary=summary,
            agreed=agreed,
            recorded_by=step.actor if getattr(step.actor, "pk", None) else None,
        )
        if d.mediator_id:
            s.mediators.add(d.mediator_id)

    step.after.append(save)


def parse_amount(value: Any, field: str = "amount") -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except InvalidOperation:
        raise DomainError(
            "invalid", _("%(f)s: a number of yuan.") % {"f": field}, field=field
        ) from None
    if amount < 0 or amount >= Decimal("1e12") or amount != amount:
        raise DomainError("invalid", _("%(f)s: out of range.") % {"f": field}, field=field)
    return amount.quantize(Decimal("0.01"))


def _conclude(step: Step, note: str) -> None:
    d = step.obj
    step.changes.update(
        concluded_at=step.now,
        concluded_level=d.level,
        due_at=None,
        overdue=False,
        outcome_note=note,
    )
    if d.case_id:
        step.effects.append(lambda: close_case(d, step.transition.name, note))


def close_case(dispute: Dispute, action: str, note: str) -> None:
    """Close the converted case through the case engine's own action (after the dispute commits)."""
    import logging

    from civicgrid.cases.engine import SYSTEM as CASE_SYSTEM
    from civicgrid.cases.engine import case_act
    from civicgrid.cases.models import OPEN_STATES as CASE_OPEN
    from civicgrid.cases.models import Case

    case = Case.objects.filter(pk=dispute.case_id).select_related("category").first()
    if case is None or case.state not in CASE_OPEN:
        return
    label = str(DISPUTES.actions[action].label)
    try:
        case_act(
            case=case,
            action="mediation_close",
            actor=None,
            role=CASE_SYSTEM,
            _system=True,
            result=_("Dispute %(n)s concluded: %(outcome)s. %(note)s")
            % {"n": dispute.number, "outcome": label, "note": note},
            dispute=dispute.number,
        )
    except DomainError as exc:  # the case moved meanwhile; the dispute's outcome stands
        logging.getLogger(__name__).warning("case %s not closed: %s", case.pk, exc.code)


@DISPUTES.handler("agree")
def plan_agree(step: Step) -> None:
    d = step.obj
    terms = text(step, "terms", max_len=TEXT)
    amount = parse_amount(step.inputs.get("amount"))
    fulfil_by = as_date(step.inputs.get("fulfil_by"), "fulfil_by")
    today = timezone.localdate(step.now)
    if fulfil_by < today:
        raise DomainError("invalid", _("fulfil_by: must not be in the past."), field="fulfil_by")
    step.note = terms
    step.data.update(
        amount=str(amount) if amount is not None else None, fulfil_by=fulfil_by.isoformat()
    )
    _conclude(step, terms)
    now = step.now

    def save(row) -> None:
        Agreement.objects.create(
            dispute=d,
            number=new_number("XY"),
            terms=terms,
            amount=amount,
            signed_at=now,
            fulfil_by=fulfil_by,
        )
        FollowUp.objects.bulk_create(
            [FollowUp(dispute=d, due_date=day) for day in followup_dates(today)]
        )

    step.after.append(save)


@DISPUTES.handler("fail")
def plan_fail(step: Step) -> None:
    route = str(step.inputs.get("route") or "")
    if route not in LegalRoute.values:
        raise DomainError(
            "invalid",
            _("route: one of %(v)s.") % {"v": ", ".join(LegalRoute.values)},
            field="route",
        )
    note = text(step, "note", max_len=TEXT)
    step.note = f"{LegalRoute(route).label}: {note}"
    step.changes.update(legal_route=route, referral_note=note)
    step.data["route"] = route
    _conclude(step, note)
    today = timezone.localdate(step.now)
    step.after.append(
        lambda row: (
            FollowUp.objects.create(dispute=step.obj, due_date=followup_dates(today)[0])
            if options().MEDIATION_FOLLOWUP_DAYS
            else None
        )
    )


@DISPUTES.handler("withdraw")
def plan_withdraw(step: Step) -> None:
    reason = text(step, "reason", max_len=TEXT)
    step.note = reason
    _conclude(step, reason)


@DISPUTES.handler("escalate")
def plan_escalate(step: Step) -> None:
    d = step.obj
    step.note = text(step, "reason", max_len=TEXT)
    current = Center.objects.select_related("area__parent").get(pk=d.center_id)
    parent = parent_center(current)
    if parent is None:
        raise DomainError(
            "no_parent_center",
            _("%(c)s has no higher center to escalate to.") % {"c": current.name},
            field="center",
        )
    step.changes.update(
        center=parent,
        owner_code=parent.area.code,
        level=parent.area.level,
        escalation_count=d.escalation_count + 1,
        body=None,
        mediator=None,
        mediator_user_id=None,
        chosen_by_party=False,
        due_at=triage_due(step.now),
        overdue=False,
    )
    step.data.update(from_center=current.area.code, to_center=parent.area.code)
    notify_later(
        step,
        lambda: operators_of_center_id(parent.pk),
        "dispute_escalated",
        _("Dispute %(n)s escalated to %(c)s") % {"n": d.number, "c": parent.name},
        d.title,
    )


def operators_of_center_id(center_id: int) -> list:
    from civicgrid.people.access import operators_of_center

    return operators_of_center(center_id)


@DISPUTES.handler("fulfil")
def plan_fulfil(step: Step) -> None:
    d = step.obj
    note = text(step, "note", max_len=TEXT)
    step.note = note
    agreement = d.agreements.order_by("-signed_at", "-id").first()
    if agreement is None:
        raise DomainError("no_agreement", _("agreement: none on file."), field="agreement")
    now = step.now
    step.after.append(
        lambda row: Agreement.objects.filter(pk=agreement.pk).update(
            fulfilled_at=now, fulfilment_note=note
        )
    )


def _plan_visit(step: Step, relapse: bool) -> None:
    d = step.obj
    note = text(step, "note", max_len=TEXT)
    fulfilled = bool(step.inputs.get("fulfilled"))
    satisfied = bool(step.inputs.get("satisfied"))
    client_id = step.inputs.get("client_id") or None
    step.note = note
    step.data.update(fulfilled=fulfilled, satisfied=satisfied, relapse=relapse)
    actor = step.actor if getattr(step.actor, "pk", None) else None
    now = step.now

    def save(row) -> None:
        pending = d.followups.filter(done_at__isnull=True).order_by("due_date", "id").first()
        values = dict(
            done_at=now,
            visitor=actor,
            fulfilled=fulfilled,
            satisfied=satisfied,
            relapse=relapse,
            note=note,
            client_id=client_id,
        )
        if pending is not None:
            FollowUp.objects.filter(pk=pending.pk).update(**values)
        else:
            FollowUp.objects.create(dispute=d, due_date=timezone.localdate(now), **values)

    step.after.append(save)


@DISPUTES.handler("visit")
def plan_visit(step: Step) -> None:
    _plan_visit(step, relapse=False)


@DISPUTES.handler("relapse")
def plan_relapse(step: Step) -> None:
    d = step.obj
    _plan_visit(step, relapse=True)
    step.changes.update(
        relapse_count=d.relapse_count + 1,
        concluded_at=None,
        concluded_level=None,
        due_at=mediation_due(step.now),
        overdue=False,
        legal_route="",
        referral_note="",
        outcome_note="",
    )
    # The visits planned for the old outcome are moot: the next outcome plans its own.
    step.after.append(lambda row: d.followups.filter(done_at__isnull=True).delete())
    notify_later(
        step,
        lambda: center_staff(d),
        "dispute_relapse",
        _("Dispute %(n)s relapsed and was reopened") % {"n": d.number},
        step.note,
    )


@DISPUTES.handler("archive")
def plan_archive(step: Step) -> None:
    d = step.obj
    if d.state == S.FULFILLED and not d.followups.filter(done_at__isnull=False).exists():
        raise DomainError(
            "no_visit",
            _("followups: a fulfilled agreement is archived after at least one follow-up visit."),
            field="followups",
        )
    step.note = text(step, "note", required=False, max_len=TEXT)
    step.changes["archived_at"] = step.now


@DISPUTES.handler("flag_violence")
def plan_flag_violence(step: Step) -> None:
    reason = text(step, "reason", max_len=TEXT)
    step.note = reason
    step.changes.update(violence_flag=True, violence_flagged_at=step.now, risk=3)
    flag_violence_effect(step, reason)


@DISPUTES.handler("supervise")
def plan_supervise(step: Step) -> None:
    d = step.obj
    step.note = text(step, "note", max_len=TEXT)
    step.changes["supervision_count"] = d.supervision_count + 1
    if step.role == SYSTEM:
        step.changes["overdue"] = True
    notify_later(
        step,
        lambda: center_staff(d) + ([d.mediator_user] if d.mediator_user_id else []),
        "dispute_overdue" if step.role == SYSTEM else "dispute_supervised",
        _("Dispute %(n)s supervised") % {"n": d.number},
        step.note,
    )


__all__ = ["DISPUTES", "CONCLUDED_STATES"]
