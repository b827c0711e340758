"""The case actions' handlers: validate the inputs and plan the change.

Each ``plan_<action>(step)`` is registered on the case workflow (``registry.CASES``) and runs
inside the engine's transaction after the table, capacity and required-input checks. It fills
``step.changes`` (case columns), ``step.note``/``step.data`` (the action-log row),
``step.after`` (rows to write once the log row exists) and ``step.effects`` (notifications,
queued on commit). It raises DomainError naming the field for bad input and writes nothing
itself: the engine writes.

A module over 500 lines on purpose: one handler per action of the one table, with the input
helpers they share, reads best in one place.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from civicgrid.core.errors import DomainError, Forbidden
from civicgrid.people.access import handlers_over, leaders_over, operators_of_center
from civicgrid.people.models import Center, Department, Role, User
from civicgrid.people.scoping import in_scope

from . import sla
from .engine import CASES, OPEN, SYSTEM, Step, action_label, can_view
from .engine import REOPEN_WINDOW as _REOPEN_WINDOW
from .models import (
    Attachment,
    AttachmentKind,
    Case,
    CaseAction,
    Category,
    ExtensionRequest,
    Flow,
    Priority,
    RequestState,
    SlaState,
    State,
    Supervision,
    SupervisionKind,
    SuspensionRequest,
)
from .registry import CITIZEN_SOURCES, STAFF_SOURCES

logger = logging.getLogger(__name__)
MAX_TEXT = 4000
STOP_CLOCK = {"sla_due_at": None, "sla_warn_at": None, "sla_state": SlaState.NORMAL}


# --- input helpers ----------------------------------------------------------------------------


def text(step: Step, name: str, *, required: bool = True, max_len: int = MAX_TEXT) -> str:
    value = step.inputs.get(name)
    value = "" if value is None else str(value).strip()
    if required and not value:
        raise DomainError("required", _("%(field)s is required.") % {"field": name}, field=name)
    if len(value) > max_len:
        raise DomainError(
            "too_long",
            _("%(field)s must be at most %(n)s characters.") % {"field": name, "n": max_len},
            field=name,
        )
    return value


def as_datetime(value: Any, name: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        result = value
    elif isinstance(value, dt.date):
        result = dt.datetime.combine(value, dt.time(17, 30))
    else:
        result = parse_datetime(str(value or "")) if value else None
        if result is None and value:
            d = parse_date(str(value))
            result = dt.datetime.combine(d, dt.time(17, 30)) if d else None
    if result is None:
        raise DomainError(
            "invalid", _("%(field)s must be a date and time.") % {"field": name}, field=name
        )
    if timezone.is_naive(result):
        result = timezone.make_aware(result)
    return result


def as_date(value: Any, name: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return timezone.localdate(value) if timezone.is_aware(value) else value.date()
    if isinstance(value, dt.date):
        return value
    result = parse_date(str(value or "")) if value else None
    if result is None:
        raise DomainError("invalid", _("%(field)s must be a date.") % {"field": name}, field=name)
    return result


def resolve_category(value: Any, name: str = "category") -> Category:
    if isinstance(value, Category):
        cat = value
    else:
        q = Q(code=str(value))
        if isinstance(value, int) or (
            isinstance(value, str) and value.isdigit() and len(value) > 4
        ):
            q |= Q(pk=int(value))
        cat = Category.objects.filter(q).first()
    if cat is None or not cat.is_active:
        raise DomainError(
            "invalid_category",
            _("Category %(value)s does not exist or is not active.") % {"value": value},
            field=name,
        )
    return cat


def as_priority(value: Any) -> int:
    try:
        p = int(value)
    except (TypeError, ValueError):
        p = -1
    if p not in Priority.values:
        raise DomainError(
            "invalid",
            _("priority must be one of %(values)s.") % {"values": Priority.values},
            field="priority",
        )
    return p


def collect_attachments(step: Step, *, need_image: bool, name: str = "attachments"):
    """Split the ``attachments`` input into existing rows and prepared uploads, validated."""
    from .attachments import attachment_prepare, photo_count_check

    items = step.inputs.get(name) or []
    if not isinstance(items, list | tuple):
        items = [items]
    existing: list[Attachment] = []
    prepared = []
    for item in items:
        if isinstance(item, Attachment) or isinstance(item, int):
            att = (
                item if isinstance(item, Attachment) else Attachment.objects.filter(pk=item).first()
            )
            ok = (
                att is not None
                and att.action_id is None
                and att.task_id is None
                and (
                    att.case_id == step.case.pk
                    or (att.case_id is None and att.uploaded_by_id == getattr(step.actor, "pk", -1))
                )
            )
            if not ok:
                raise DomainError(
                    "invalid_attachment",
                    _("Attachment %(id)s is not an unused upload of this case.")
                    % {"id": getattr(att, "pk", item)},
                    field=name,
                )
            existing.append(att)
        else:
            prepared.append(attachment_prepare(item, field=name))
        photo_count_check(
            sum(1 for a in existing if a.kind == AttachmentKind.IMAGE)
            + sum(1 for p in prepared if p.kind == AttachmentKind.IMAGE),
            name,
        )
    kinds = [a.kind for a in existing] + [p.kind for p in prepared]
    if need_image and AttachmentKind.IMAGE not in kinds:
        raise DomainError(
            "photo_required",
            _("At least one photo is required in %(field)s.") % {"field": name},
            field=name,
        )

    def link(row) -> None:
        from .attachments import attachment_save

        for att in existing:
            att.case = step.case
            att.action = row
            att.save(update_fields=["case", "action"])
        for p in prepared:
            attachment_save(p, case=step.case, action=row, uploaded_by=_user(step.actor))

    step.after.append(link)
    step.data["attachments"] = len(kinds)


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


# --- notices ----------------------------------------------------------------------------------


def notify(*, users, kind: str, title: str, body: str = "", case: Any = None, sms=False, phones=()):
    """Send a notice; never raise: a notice must not undo or hide a committed action."""
    from civicgrid.notifications.services import notify as send

    users = [u for u in users if u is not None]
    phones = [p for p in phones if p]
    if not users and not phones:
        return
    try:
        send(users=users, kind=kind, title=title, body=body, case=case, sms=sms, phones=phones)
    except Exception:
        logger.exception("notification %s failed", kind)


# --- recipients -------------------------------------------------------------------------------


def operators_of(center_id: int, *, only: tuple[str, ...] = ()) -> list[User]:
    return operators_of_center(center_id, only=only)


def handlers_of(department_id: int, scope_code: str) -> list[User]:
    return handlers_over(department_id, scope_code)


def leaders_for(scope_code: str) -> list[User]:
    return leaders_over(scope_code)


def doers_of(case: Case) -> list[User]:
    if case.worker_id:
        return [case.worker]
    if case.department_id:
        return handlers_of(case.department_id, case.scope_code)
    return []


def _notify_later(step: Step, recipients, kind: str, title: str, body: str = "", **kw) -> None:
    case = step.case

    def run() -> None:
        users = recipients() if callable(recipients) else recipients
        notify(users=users, kind=kind, title=title, body=body, case=case, **kw)

    step.effects.append(run)


def _title(step: Step, what: str) -> str:
    return f"[{step.case.tracking_code}] {what}"


def _notify_reporter(step: Step, kind: str, what: str) -> None:
    case = step.case
    users = [case.reporter] if case.reporter_id else []
    phones = [case.reporter_phone] if not case.reporter_id and case.reporter_phone else []
    _notify_later(step, users, kind, _title(step, what), sms=bool(phones), phones=phones)


# --- actions ----------------------------------------------------------------------------------


@CASES.handler("accept")
def plan_accept(step: Step) -> None:
    case = step.case
    if step.role == "grid_worker" and case.flow != Flow.SERVICE:
        raise Forbidden(
            _("Only an operator may accept a case; grid workers take service orders."),
            code="permission_denied",
            field="action",
        )
    category = resolve_category(step.inputs["category"])
    priority = as_priority(step.inputs["priority"])
    step.note = text(step, "note", required=False)
    step.changes.update(category=category, priority=priority)
    if case.filed_at is None:
        step.changes["filed_at"] = step.now
    step.changes.update(sla.handling_clock(category, step.now, step.now))
    step.data.update(category=category.code, priority=priority)
    if category.pk != case.category_id:
        step.data["previous_category"] = case.category.code


@CASES.handler("reject")
def plan_reject(step: Step) -> None:
    step.note = text(step, "reason")
    step.changes.update(STOP_CLOCK)
    _notify_reporter(step, "case_rejected", _("Your report was not accepted"))


@CASES.handler("merge")
def plan_merge(step: Step) -> None:
    case = step.case
    raw = step.inputs["target"]
    if isinstance(raw, Case):
        target = raw
    else:
        target = Case.objects.filter(
            Q(tracking_code=str(raw).strip().upper())
            | (Q(pk=int(raw)) if str(raw).isdigit() else Q(pk=None))
        ).first()
    if target is None or not can_view(step.actor, target):
        raise DomainError(
            "invalid_target", _("The target case %(t)s was not found.") % {"t": raw}, field="target"
        )
    if target.pk == case.pk:
        raise DomainError(
            "invalid_target", _("A case cannot be merged into itself."), field="target"
        )
    if target.state not in OPEN:
        raise DomainError(
            "invalid_target",
            _("The target case %(t)s is not open (%(state)s).")
            % {"t": target.tracking_code, "state": target.get_state_display()},
            field="target",
        )
    step.note = text(step, "note", required=False)
    step.changes.update(merged_into=target, **STOP_CLOCK)
    step.data["target"] = target.tracking_code
    _notify_reporter(step, "case_merged", _("Your report was merged with an existing case"))


@CASES.handler("self_close")
def plan_self_close(step: Step) -> None:
    case = step.case
    if not case.category.self_closable:
        raise DomainError(
            "not_self_closable",
            _("Category %(c)s may not be self-closed by a grid worker.")
            % {"c": case.category.name},
            field="category",
        )
    result = text(step, "result")
    collect_attachments(step, need_image=True)
    step.note = result
    step.changes.update(result=result, closed_at=step.now, self_closed=True, **STOP_CLOCK)
    _notify_reporter(step, "case_closed", _("Your report was handled and closed"))


def _department(value: Any) -> Department:
    if isinstance(value, Department):
        return value
    q = Q(code=str(value))
    if str(value).isdigit():
        q |= Q(pk=int(value))
    dept = Department.objects.filter(q).select_related("area").first()
    if dept is None:
        raise DomainError(
            "invalid_department",
            _("Department %(d)s does not exist.") % {"d": value},
            field="department",
        )
    return dept


def _worker(value: Any) -> User:
    user = value if isinstance(value, User) else User.objects.filter(pk=value).first()
    if user is None or not user.is_active:
        raise DomainError(
            "invalid_worker", _("Worker %(w)s does not exist.") % {"w": value}, field="worker"
        )
    return user


@CASES.handler("dispatch")
def plan_dispatch(step: Step) -> None:
    case = step.case
    dept_in, worker_in = step.inputs.get("department"), step.inputs.get("worker")
    if dept_in and worker_in:
        raise DomainError(
            "invalid",
            _("Dispatch to a department or to a worker, not both."),
            field="worker",
        )
    step.note = text(step, "note", required=False)
    changes: dict[str, Any] = {"dispatched_at": step.now, "dispatch_count": case.dispatch_count + 1}
    if dept_in:
        dept = _department(dept_in)
        if not dept.is_active:
            raise DomainError(
                "invalid_department",
                _("Department %(d)s is not active.") % {"d": dept.name},
                field="department",
            )
        if not case.scope_code.startswith(dept.area.prefix):
            raise DomainError(
                "department_out_of_scope",
                _("Department %(d)s does not serve the case's location.") % {"d": dept.name},
                field="department",
            )
        changes.update(department=dept, worker=None)
        step.data["department"] = dept.code
        _plan_co_departments(step, dept, changes)
        if (
            case.department_id == dept.pk
            and case.state == State.ASSIGNED
            and "co_department_ids" not in changes
        ):
            raise DomainError(
                "already_assigned",
                _("The case is already dispatched to %(d)s.") % {"d": dept.name},
                field="department",
            )
        _notify_later(
            step,
            lambda: handlers_of(dept.pk, case.scope_code),
            "case_dispatched",
            _title(step, _("New case dispatched to %(d)s") % {"d": dept.name}),
            sms=case.priority >= Priority.HIGH,
        )
    else:
        if _as_list(step.inputs.get("co_departments"), "co_departments"):
            raise DomainError(
                "co_departments_need_lead",
                _("Co-departments work with a lead department: dispatch to a department."),
                field="co_departments",
            )
        if case.co_department_ids:
            changes["co_department_ids"] = []
            _plan_parts(step, [], changes)
        worker = _worker(worker_in)
        roles = (Role.GRID_WORKER, Role.GRID_CHIEF, Role.HANDLER)
        if case.flow == Flow.SERVICE:
            # 村社派单: a service order goes to a party member or volunteer (docs/party.md).
            roles += (Role.PARTY_MEMBER,)
        if not in_scope(worker, case.scope_code, roles) or worker.is_superuser:
            raise DomainError(
                "worker_out_of_scope",
                _("%(w)s does not work where this case is.") % {"w": worker},
                field="worker",
            )
        if case.worker_id == worker.pk and case.state == State.ASSIGNED:
            raise DomainError(
                "already_assigned",
                _("The case is already dispatched to %(w)s.") % {"w": worker},
                field="worker",
            )
        changes.update(department=None, worker=worker)
        step.data["worker"] = worker.pk
        _notify_later(
            step,
            [worker],
            "case_dispatched",
            _title(step, _("A case was dispatched to you")),
            sms=case.priority >= Priority.HIGH,
        )
    if case.state == State.ASSIGNED:
        step.data["redispatch"] = True
    if case.final_due is None:
        changes.update(sla.handling_clock(case.category, step.now, step.now))
    step.changes.update(changes)


def _as_list(value: Any, name: str) -> list:
    if value is None or value == "":
        return []
    if isinstance(value, str | int | Department):
        value = [value]
    if not isinstance(value, list | tuple | set):
        raise DomainError(
            "invalid", _("%(field)s must be a list of departments.") % {"field": name}, field=name
        )
    return [v for v in value if v not in (None, "")]


def _serving_departments(case: Case, values: list, name: str) -> list[Department]:
    """Resolve department codes/ids; each active and serving the case's location, no repeats."""
    out: list[Department] = []
    for value in values:
        try:
            dept = _department(value)
        except DomainError as exc:
            exc.field = name
            raise
        if not dept.is_active:
            raise DomainError(
                "invalid_department",
                _("Department %(d)s is not active.") % {"d": dept.name},
                field=name,
            )
        if not case.scope_code.startswith(dept.area.prefix):
            raise DomainError(
                "department_out_of_scope",
                _("Department %(d)s does not serve the case's location.") % {"d": dept.name},
                field=name,
            )
        if any(d.pk == dept.pk for d in out):
            raise DomainError(
                "duplicate_department",
                _("Department %(d)s is named twice.") % {"d": dept.name},
                field=name,
            )
        out.append(dept)
    return out


def _plan_co_departments(step: Step, lead: Department, changes: dict) -> None:
    """主办/协办: the co-departments of this dispatch; their parts follow the dispatch."""
    case = step.case
    co = _serving_departments(
        case, _as_list(step.inputs.get("co_departments"), "co_departments"), "co_departments"
    )
    if any(d.pk == lead.pk for d in co):
        raise DomainError(
            "lead_is_co_department",
            _("%(d)s is the lead department; it cannot also be a co-department.")
            % {"d": lead.name},
            field="co_departments",
        )
    ids = sorted(d.pk for d in co)
    if ids != sorted(case.co_department_ids or []):
        changes["co_department_ids"] = ids
    if co:
        step.data["co_departments"] = [d.code for d in co]
    _plan_parts(step, co, changes)


def _plan_parts(step: Step, co: list[Department], changes: dict) -> None:
    from .cohandling import part_assign, part_cancel
    from .models import CasePart

    case = step.case
    keep = {d.pk for d in co}
    dropped = [
        p
        for p in CasePart.objects.filter(case=case).select_related("department")
        if p.is_open and p.department_id not in keep
    ]
    due = changes.get("final_due") or case.final_due

    def save(row) -> None:
        for part in dropped:
            part.case = case
            part_cancel(
                part, actor=step.actor, reason=_("No longer a co-department after re-dispatch.")
            )
        for dept in co:
            part_assign(
                case=case,
                department=dept,
                actor=step.actor,
                role=step.role,
                due_at=due,
                now=step.now,
                dispatch=row.pk,
            )

    step.after.append(save)


@CASES.handler("whistle")
def plan_whistle(step: Step) -> None:
    """吹哨: call named departments to the case; each must report in (报到) in time."""
    from civicgrid.people.access import Principal

    from .models import OPEN_CALL_STATES, WhistleCall
    from .whistles import report_due_from, whistle_blow

    case = step.case
    principal = Principal.of(step.actor)
    if not principal.blows_whistle(case):
        raise Forbidden(
            _(
                "Only an operator of a township or community center owning the case, or a grid "
                "chief over its location, may blow the whistle."
            ),
            code="permission_denied",
            field="actor",
        )
    depts = _serving_departments(
        case, _as_list(step.inputs.get("departments"), "departments"), "departments"
    )
    if not depts:
        raise DomainError("required", _("departments is required."), field="departments")
    busy = set(
        WhistleCall.objects.filter(
            case=case, department__in=depts, state__in=OPEN_CALL_STATES
        ).values_list("department__name", flat=True)
    )
    if busy:
        raise DomainError(
            "already_called",
            _("Already called and not yet done: %(d)s.") % {"d": ", ".join(sorted(busy))},
            field="departments",
        )
    reason = text(step, "reason")
    step.note = reason
    due = report_due_from(step.now)
    step.data.update(departments=[d.code for d in depts], report_due=due.isoformat())
    ids = sorted(set(case.called_department_ids or []) | {d.pk for d in depts})
    step.changes["called_department_ids"] = ids
    center_id = case.owner_id

    def save(row) -> None:
        whistle_blow(
            case=case,
            actor=step.actor,
            role=step.role,
            departments=depts,
            reason=reason,
            now=step.now,
            center_id=center_id,
        )

    step.after.append(save)


@CASES.handler("return")
def plan_return(step: Step) -> None:
    case = step.case
    step.note = text(step, "reason")
    step.data.update(
        department=case.department.code if case.department_id else None, worker=case.worker_id
    )
    step.changes.update(department=None, worker=None, return_count=case.return_count + 1)
    _notify_later(
        step,
        lambda: operators_of(case.owner_id),
        "case_returned",
        _title(step, _("A case was returned: %(r)s") % {"r": step.note[:60]}),
    )


@CASES.handler("sign")
def plan_sign(step: Step) -> None:
    step.note = text(step, "note", required=False)
    step.changes["signed_at"] = step.now


@CASES.handler("submit")
def plan_submit(step: Step) -> None:
    case = step.case
    result = text(step, "result")
    collect_attachments(step, need_image=case.category.photo_required)
    _plan_open_parts(step)
    step.note = result
    step.changes.update(result=result, handled_at=step.now)
    _notify_later(
        step,
        lambda: operators_of(case.owner_id),
        "case_handled",
        _title(step, _("A result was submitted and awaits verification")),
    )


def _plan_open_parts(step: Step) -> None:
    """主办 submits: every co-department's part submitted, or a recorded reason (which then
    withdraws the parts still open)."""
    from .cohandling import part_cancel
    from .models import CasePart, PartState

    case = step.case
    parts = list(
        CasePart.objects.filter(case=case)
        .exclude(state=PartState.CANCELLED)
        .select_related("department")
    )
    if not parts:
        return
    open_parts = [p for p in parts if p.is_open]
    step.data["parts"] = {p.department.code: p.state for p in parts}
    if not open_parts:
        return
    reason = text(step, "parts_reason", required=False)
    if not reason:
        raise DomainError(
            "parts_open",
            _(
                "Co-departments have not submitted their parts yet (%(d)s): wait for them or "
                "give the reason to submit without them."
            )
            % {"d": ", ".join(p.department.name for p in open_parts)},
            field="parts_reason",
            details={"open_parts": [p.department.code for p in open_parts]},
        )
    step.data["parts_reason"] = reason

    def save(row) -> None:
        for part in open_parts:
            part.case = case
            part_cancel(part, actor=step.actor, reason=reason)

    step.after.append(save)


def submitted_by(case: Case) -> int | None:
    """Who submitted the result now awaiting verification (the last ``submit``)."""
    if case.state != State.HANDLED:
        return None
    row = (
        CaseAction.objects.filter(case=case, action="submit")
        .order_by("-created_at", "-id")
        .values_list("actor_id", flat=True)
        .first()
    )
    return row


def _not_own_work(step: Step) -> None:
    """Verification is independent: whoever submitted the result never verifies or closes it,
    whatever capacity they act in (a grid chief or operator dispatched the case included)."""
    me = getattr(step.actor, "pk", None)
    if me is not None and submitted_by(step.case) == me:
        raise Forbidden(
            _("You submitted this result, so someone else must verify it."),
            code="own_work",
            field="actor",
        )


@CASES.handler("verify")
def plan_verify(step: Step) -> None:
    _not_own_work(step)
    step.note = text(step, "note")
    step.changes.update(closed_at=step.now, **STOP_CLOCK)
    _notify_reporter(step, "case_closed", _("Your report was handled and closed"))


@CASES.handler("mediation_close")
def plan_mediation_close(step: Step) -> None:
    result = text(step, "result")
    step.note = result
    step.data["dispute"] = text(step, "dispute", max_len=20)
    step.changes.update(result=result, closed_at=step.now, **STOP_CLOCK)
    _notify_reporter(step, "case_closed", _("Your report was handled and closed"))


@CASES.handler("rework")
def plan_rework(step: Step) -> None:
    _not_own_work(step)
    case = step.case
    step.note = text(step, "reason")
    step.changes["rework_count"] = case.rework_count + 1
    step.data["rework"] = case.rework_count + 1
    _notify_later(
        step,
        lambda: doers_of(case),
        "case_rework",
        _title(step, _("Rework required: %(r)s") % {"r": step.note[:60]}),
    )


def parent_center(center: Center) -> Center | None:
    area = center.area.parent
    while area is not None:
        found = Center.objects.filter(area=area).select_related("area").first()
        if found is not None:
            return found
        area = area.parent
    return None


@CASES.handler("escalate")
def plan_escalate(step: Step) -> None:
    case = step.case
    step.note = text(step, "reason")
    current = Center.objects.select_related("area__parent").get(pk=case.owner_id)
    parent = parent_center(current)
    if parent is None:
        raise DomainError(
            "no_parent_center",
            _("%(c)s has no higher center to escalate to.") % {"c": current.name},
            field="owner",
        )
    step.changes.update(
        owner=parent,
        owner_code=parent.area.code,
        escalation_count=case.escalation_count + 1,
        department=None,
        worker=None,
        **sla.response_clock(case.category, step.now, step.now),
    )
    step.data.update(from_center=current.area.code, to_center=parent.area.code)
    _notify_later(
        step,
        lambda: operators_of(parent.pk),
        "case_escalated",
        _title(step, _("A case was escalated to %(c)s") % {"c": parent.name}),
    )


@CASES.handler("reopen")
def plan_reopen(step: Step) -> None:
    case = step.case
    if case.closed_at is None or step.now - case.closed_at > _REOPEN_WINDOW:
        raise DomainError(
            "reopen_window_passed",
            _("A case can be reopened within %(d)s days of closing only.")
            % {"d": _REOPEN_WINDOW.days},
            field="closed_at",
        )
    step.note = text(step, "reason")
    step.changes.update(
        reopen_count=case.reopen_count + 1,
        closed_at=None,
        self_closed=False,
        department=None,
        worker=None,
        **sla.handling_clock(case.category, step.now, step.now),
    )


def _pending(model, case: Case):
    req = model.objects.filter(case=case, state=RequestState.PENDING).first()
    if req is None:
        raise DomainError(
            "no_pending_request",
            _("There is no pending request on this case."),
            field="request",
        )
    return req


@CASES.handler("extend_request")
def plan_extend_request(step: Step) -> None:
    case = step.case
    due = as_datetime(step.inputs["due"], "due")
    reason = text(step, "reason")
    floor = max(filter(None, [case.final_due, step.now]))
    if due <= floor:
        raise DomainError(
            "invalid_due",
            _("The new deadline must be later than the current one (%(d)s).")
            % {"d": timezone.localtime(floor).strftime("%Y-%m-%d %H:%M")},
            field="due",
        )
    if ExtensionRequest.objects.filter(case=case, state=RequestState.PENDING).exists():
        raise DomainError(
            "request_pending", _("An extension request is already pending."), field="due"
        )
    step.note = reason
    step.data["due"] = due.isoformat()
    step.after.append(
        lambda row: ExtensionRequest.objects.create(
            case=case,
            requested_by=step.actor,
            previous_due=case.final_due,
            requested_due=due,
            reason=reason,
            created_at=step.now,
        )
    )
    _notify_later(
        step,
        lambda: operators_of(case.owner_id),
        "extension_requested",
        _title(step, _("Extension requested until %(d)s") % {"d": f"{due:%Y-%m-%d}"}),
    )


def _decide(step: Step, req, state: str) -> None:
    def save(row) -> None:
        req.state = state
        req.decided_by = _user(step.actor)
        req.decided_at = step.now
        req.decision_note = step.note
        fields = ["state", "decided_by", "decided_at", "decision_note"]
        if isinstance(req, ExtensionRequest):
            fields.append("requested_due")
        req.save(update_fields=fields)

    step.after.append(save)
    _notify_later(
        step,
        [req.requested_by],
        f"{step.transition.action}",
        _title(step, action_label(step.transition.action)),
        body=step.note,
    )


@CASES.handler("extend_approve")
def plan_extend_approve(step: Step) -> None:
    case = step.case
    req = _pending(ExtensionRequest, case)
    due = as_datetime(step.inputs["due"], "due") if step.inputs.get("due") else req.requested_due
    if due <= step.now:
        raise DomainError("invalid_due", _("The new deadline must be in the future."), field="due")
    step.note = text(step, "note", required=False)
    step.data.update(
        due=due.isoformat(), previous_due=case.final_due and case.final_due.isoformat()
    )
    step.changes["extension_count"] = case.extension_count + 1
    step.changes.update(sla.moved_handling_clock(case.category, due, step.now))
    req.requested_due = due
    _decide(step, req, RequestState.APPROVED)


@CASES.handler("extend_deny")
def plan_extend_deny(step: Step) -> None:
    req = _pending(ExtensionRequest, step.case)
    step.note = text(step, "reason")
    _decide(step, req, RequestState.DENIED)


@CASES.handler("suspend_request")
def plan_suspend_request(step: Step) -> None:
    case = step.case
    reason = text(step, "reason")
    review = as_date(step.inputs["review_date"], "review_date")
    if review <= timezone.localdate(step.now):
        raise DomainError("invalid", _("review_date must be after today."), field="review_date")
    if SuspensionRequest.objects.filter(case=case, state=RequestState.PENDING).exists():
        raise DomainError(
            "request_pending", _("A suspension request is already pending."), field="reason"
        )
    step.note = reason
    step.data["review_date"] = review.isoformat()
    step.after.append(
        lambda row: SuspensionRequest.objects.create(
            case=case,
            requested_by=step.actor,
            reason=reason,
            review_date=review,
            created_at=step.now,
        )
    )
    _notify_later(
        step,
        lambda: operators_of(case.owner_id),
        "suspension_requested",
        _title(step, _("Suspension requested: %(r)s") % {"r": reason[:60]}),
    )


@CASES.handler("suspend_approve")
def plan_suspend_approve(step: Step) -> None:
    req = _pending(SuspensionRequest, step.case)
    step.note = text(step, "note", required=False)
    step.data["review_date"] = req.review_date.isoformat()
    step.changes.update(suspended_at=step.now, suspended_review_date=req.review_date, **STOP_CLOCK)
    _decide(step, req, RequestState.APPROVED)


@CASES.handler("suspend_deny")
def plan_suspend_deny(step: Step) -> None:
    req = _pending(SuspensionRequest, step.case)
    step.note = text(step, "reason")
    _decide(step, req, RequestState.DENIED)


@CASES.handler("resume")
def plan_resume(step: Step) -> None:
    case = step.case
    step.note = text(step, "note", required=False)
    since = case.suspended_at or step.now
    step.changes.update(suspended_at=None, suspended_review_date=None)
    if case.final_due is not None:
        # The clock stopped at suspension: what was left then is what is left now.
        left = sla.remaining_hours(case.category, since, case.final_due)
        from .calendar import add_hours

        due = add_hours(step.now, left, case.category.sla_unit)
        step.changes.update(sla.moved_handling_clock(case.category, due, step.now))
        step.data.update(remaining_hours=round(left, 2), due=due.isoformat())


@CASES.handler("supervise")
def plan_supervise(step: Step) -> None:
    case = step.case
    auto = step.role == SYSTEM
    step.note = text(step, "note")
    step.changes["supervision_count"] = case.supervision_count + 1
    if auto:
        step.changes["sla_state"] = SlaState.OVERDUE
        step.data["auto"] = True
    kind = SupervisionKind.OVERDUE if auto else SupervisionKind.MANUAL
    step.after.append(
        lambda row: Supervision.objects.create(
            case=case,
            kind=kind,
            by=_user(step.actor),
            department_id=case.department_id,
            note=step.note,
            created_at=step.now,
        )
    )
    title = _title(step, _("Supervision: %(n)s") % {"n": step.note[:60]})

    def recipients():
        users = doers_of(case)
        if auto:
            users += operators_of(case.owner_id) + leaders_for(case.scope_code)
        return list({u.pk: u for u in users}.values())

    _notify_later(step, recipients, "case_supervised", title, sms=auto)


@CASES.handler("comment")
def plan_comment(step: Step) -> None:
    step.note = text(step, "text")
    step.touch_case = False
    step.data["internal"] = bool(step.inputs.get("internal", True))


def _score(step: Step) -> int:
    try:
        score = int(step.inputs["score"])
    except (TypeError, ValueError):
        score = 0
    if not 1 <= score <= 5:
        raise DomainError("invalid", _("score must be between 1 and 5."), field="score")
    return score


@CASES.handler("rate")
def plan_rate(step: Step) -> None:
    """Only the reporter of a citizen's own report rates it (a genuine rating, 满意率)."""
    case = step.case
    if case.source not in CITIZEN_SOURCES:
        raise Forbidden(
            _("A report filed by staff carries no citizen rating."),
            code="not_ratable",
            field="score",
        )
    if case.satisfaction is not None:
        raise DomainError("already_rated", _("This case has already been rated."), field="score")
    score = _score(step)
    step.note = text(step, "text", required=False, max_len=1000)
    step.changes.update(satisfaction=score, rating_text=step.note, rated_at=step.now)
    step.data["score"] = score


@CASES.handler("callback")
def plan_callback(step: Step) -> None:
    """An operator records a caller's 回访, naming the caller; it is not a citizen rating."""
    case = step.case
    if case.reporter_id is not None or case.source in STAFF_SOURCES:
        raise DomainError(
            "not_callback",
            _("Only a report without a signed-in reporter is followed up by a call-back."),
            field="caller",
        )
    caller = text(step, "caller", max_len=50)
    score = _score(step)
    step.note = text(step, "text", required=False, max_len=1000)
    step.data.update(caller=caller, score=score, callback=True)


@CASES.handler("attach")
def plan_attach(step: Step) -> None:
    """Store a photo or clip on the case ahead of the action that will cite its id."""
    from .attachments import attachment_prepare, attachment_save

    prepared = attachment_prepare(step.inputs["file"], field="file")
    step.data.update(kind=prepared.kind, sha256=prepared.sha256, size=len(prepared.content))

    def save(row) -> None:
        # Not linked to this log row: the upload stays free to be cited by the next action.
        row.attachment = attachment_save(prepared, case=step.case, uploaded_by=_user(step.actor))

    step.after.append(save)


@CASES.handler("warn")
def plan_warn(step: Step) -> None:
    """The SLA sweep's yellow light: the running clock passed its warning point, or a
    suspended case's review date has come (挂账复核)."""
    case = step.case
    step.changes["sla_state"] = SlaState.WARNING
    if case.state == State.SUSPENDED:
        step.note = _("Suspended case due for review on %(d)s") % {"d": case.suspended_review_date}
        step.data["review_date"] = str(case.suspended_review_date)
        _notify_later(
            step, lambda: operators_of(case.owner_id), "suspension_review", _title(step, step.note)
        )
        return
    due = timezone.localtime(case.sla_due_at).strftime("%Y-%m-%d %H:%M")
    step.note = _("Deadline approaching: %(due)s") % {"due": due}
    step.data["due"] = case.sla_due_at.isoformat()

    def recipients():
        users = doers_of(case) + operators_of(case.owner_id)
        return list({u.pk: u for u in users}.values())

    _notify_later(step, recipients, "case_warning", _title(step, step.note))
