"""主办/协办: the parts of a co-handled case, a small workflow of their own on the engine.

A case dispatched to a lead department (主办) with co-departments (协办) gets one ``CasePart``
per co-department. Each part has its own table, version and log (``CasePartAction``) and moves
through the engine like a case:

    create (by the dispatch) → assigned ─sign→ in_progress ─submit→ submitted
    assigned ─return→ returned (the co-department declines; the center re-dispatches)
    submitted ─rework→ in_progress (the lead department or the center sends the part back)
    assigned / in_progress / returned ─cancel→ cancelled (dropped by a re-dispatch, or closed
    off by the lead's submit with a recorded reason)
    returned / cancelled ─reassign→ assigned (named again by a re-dispatch)

The case itself stays on its own table: the lead's ``submit`` (handlers.plan_submit) needs
every part submitted or a reason, which is logged on the case and closes the open parts.
Capacities on a part come from ``Principal.part_capacities``: ``co_handler`` (a handler of the
co-department over the case), ``lead`` (a handler of the lead department) and ``operator``.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicgrid.core.errors import DomainError, NotFound
from civicgrid.core.workflow import Action, Input, Step, Workflow
from civicgrid.people.access import CO_HANDLER, LEAD, OPERATOR, SYSTEM, Principal

from .models import Case, CasePart, CasePartAction, PartState

P = PartState
TEXT = 4000
LABELS = {
    CO_HANDLER: gettext_lazy("Co-department handler"),
    LEAD: gettext_lazy("Lead department handler"),
    OPERATOR: gettext_lazy("Operator"),
    SYSTEM: gettext_lazy("System"),
}


def part_capacities(user, part: CasePart) -> set[str]:
    return Principal.of(user).part_capacities(part)


def _can_view(user, part: CasePart) -> bool:
    return Principal.of(user).can_view(part.case)


PARTS = Workflow(
    name="case_part",
    model=CasePart,
    log_model=CasePartAction,
    log_fk="part",
    capacities=part_capacities,
    capacity_labels=LABELS,
    noun=gettext_lazy("co-handling part"),
    can_view=_can_view,
    state_label=lambda part, state: str(PartState(state).label),
)
REASON = Input("reason", "textarea", True, gettext_lazy("Reason"), max_length=TEXT)
# A part is sent back only while its case is still being handled (not once the lead submitted).
CASE_WORKING = ("assigned", "in_progress")


def _case_working(part, caps, user) -> bool:
    return part.case.state in CASE_WORKING


# fmt: off
PARTS.add(
    Action("create", (), P.ASSIGNED, (OPERATOR,), creation=True, endpoint="none",
           label=gettext_lazy("Assign a co-handling part"),
           summary="协办派遣 Assign a part to a co-department (by the case's dispatch)"),
    Action("sign", (P.ASSIGNED,), P.IN_PROGRESS, (CO_HANDLER,), order=10, style="primary",
           inputs=(Input("note", "textarea", False, gettext_lazy("Note"), max_length=TEXT),),
           schema="CasePartNoteIn", label=gettext_lazy("Sign for the part"), summary="协办签收 Sign for the part"),
    Action("submit", (P.IN_PROGRESS,), P.SUBMITTED, (CO_HANDLER,), order=20, style="primary",
           inputs=(Input("result", "textarea", True, gettext_lazy("Result of the part"),
                         max_length=TEXT),),
           schema="CasePartResultIn", label=gettext_lazy("Submit the part"), summary="协办反馈 Submit the part's result"),
    Action("return", (P.ASSIGNED,), P.RETURNED, (CO_HANDLER,), order=30, style="danger",
           inputs=(REASON,), schema="CasePartReasonIn",
           label=gettext_lazy("Return the part"),
           summary="协办退回 Return the part (not ours)"),
    Action("rework", (P.SUBMITTED,), P.IN_PROGRESS, (LEAD, OPERATOR), order=40, style="danger",
           inputs=(REASON,), schema="CasePartReasonIn", guard=_case_working,
           label=gettext_lazy("Send the part back"), summary="协办返工 Send the part back"),
    Action("cancel", (P.ASSIGNED, P.IN_PROGRESS, P.RETURNED), P.CANCELLED, (OPERATOR, SYSTEM),
           order=50, style="danger", inputs=(REASON,), endpoint="none",
           label=gettext_lazy("Withdraw the part"), summary="撤销协办 Withdraw the part"),
    Action("reassign", (P.RETURNED, P.CANCELLED), P.ASSIGNED, (OPERATOR,), order=60,
           endpoint="none", inputs=(Input("note", "textarea", False, gettext_lazy("Note")),),
           label=gettext_lazy("Assign the part again"),
           summary="重新协办 Assign the part again (by a re-dispatch)"),
)
# fmt: on


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


def _tell(step: Step, recipients, kind: str, what: str) -> None:
    from .handlers import notify

    part = step.obj
    case = part.case
    title = f"[{case.tracking_code}] {what}"

    def run() -> None:
        notify(users=recipients(), kind=kind, title=title, body=step.note[:200], case=case)

    step.effects.append(run)


def _co_handlers(part: CasePart):
    from .handlers import handlers_of

    return lambda: handlers_of(part.department_id, part.case.scope_code)


def _lead_and_center(part: CasePart):
    from .handlers import handlers_of, operators_of

    def users():
        case = part.case
        out = operators_of(case.owner_id) + handlers_of(case.department_id, case.scope_code)
        return list({u.pk: u for u in out}.values())

    return users


@PARTS.handler("sign")
def plan_sign(step: Step) -> None:
    step.note = _text(step, "note", required=False)
    step.changes["signed_at"] = step.now


@PARTS.handler("submit")
def plan_submit(step: Step) -> None:
    part = step.obj
    step.note = _text(step, "result")
    step.changes.update(result=step.note, submitted_at=step.now)
    step.data["on_time"] = part.due_at is None or step.now <= part.due_at
    _tell(
        step,
        _lead_and_center(part),
        "part_submitted",
        _("%(d)s submitted its co-handling part") % {"d": part.department.name},
    )


@PARTS.handler("return")
def plan_return(step: Step) -> None:
    part = step.obj
    step.note = _text(step, "reason")
    _tell(
        step,
        _lead_and_center(part),
        "part_returned",
        _("%(d)s returned its co-handling part") % {"d": part.department.name},
    )


@PARTS.handler("rework")
def plan_rework(step: Step) -> None:
    part = step.obj
    if part.case.state not in CASE_WORKING:
        raise DomainError(
            "case_not_in_progress",
            _("A part is sent back only while the case is being handled."),
            field="state",
        )
    step.note = _text(step, "reason")
    step.changes.update(rework_count=part.rework_count + 1, submitted_at=None)
    step.data["rework"] = part.rework_count + 1
    _tell(
        step,
        _co_handlers(part),
        "part_rework",
        _("Co-handling part sent back for rework: %(r)s") % {"r": step.note[:60]},
    )


@PARTS.handler("cancel")
def plan_cancel(step: Step) -> None:
    part = step.obj
    step.note = _text(step, "reason")
    _tell(
        step,
        _co_handlers(part),
        "part_cancelled",
        _("Your co-handling part was withdrawn"),
    )


@PARTS.handler("reassign")
def plan_reassign(step: Step) -> None:
    part = step.obj
    step.note = _text(step, "note", required=False)
    step.changes.update(
        due_at=step.inputs.get("due_at"), signed_at=None, submitted_at=None, result=""
    )
    _tell(
        step,
        _co_handlers(part),
        "part_assigned",
        _("A co-handling part was assigned to %(d)s") % {"d": part.department.name},
    )


# --- used by the case's dispatch and submit ------------------------------------------------------


def part_assign(*, case: Case, department, actor, role: str, due_at, now, dispatch: int) -> None:
    """Create (or assign again) the part of ``department`` on ``case``; inside the dispatch."""
    existing = CasePart.objects.filter(case=case, department=department).first()
    if existing is not None:
        existing.case = case
        if existing.state in (P.RETURNED, P.CANCELLED):
            PARTS.act(
                obj=existing,
                action="reassign",
                actor=actor,
                role=OPERATOR,
                inputs={"due_at": due_at},
            )
        return
    part = CasePart(
        case=case, department=department, scope_code=case.scope_code, due_at=due_at, created_at=now
    )
    step = Step(
        obj=part,
        actor=actor,
        role=role,
        inputs={},
        now=now,
        transition=PARTS.creation(),
        workflow=PARTS,
        data={"department": department.code, "dispatch": dispatch},
    )
    _tell(
        step,
        _co_handlers(part),
        "part_assigned",
        _("A co-handling part was assigned to %(d)s") % {"d": department.name},
    )
    PARTS.create(step)


def part_cancel(part: CasePart, *, actor, reason: str) -> None:
    """Withdraw an open part (a re-dispatch dropped it, or the lead submitted without it)."""
    PARTS.act(
        obj=part,
        action="cancel",
        actor=actor,
        role=SYSTEM,
        extra_caps=[SYSTEM],
        inputs={"reason": reason},
    )


def parts_of(case: Case) -> list[CasePart]:
    return list(CasePart.objects.filter(case=case).select_related("department").order_by("id"))


def part_get_for(user, case: Case, key) -> CasePart:
    """The part of ``case`` named by its id or its department's code; 404 when not visible."""
    qs = CasePart.objects.filter(case=case).select_related("department")
    key = str(key)
    part = (qs.filter(pk=int(key)).first() if key.isdigit() else None) or qs.filter(
        department__code=key
    ).first()
    if part is None or not Principal.of(user).can_view(case):
        raise NotFound(_("co-handling part"))
    part.case = case
    return part


def part_act(*, part: CasePart, action: str, actor, expected_version=None, **inputs):
    """Run a part action through the engine; returns the log row."""
    return PARTS.act(
        obj=part, action=action, actor=actor, expected_version=expected_version, inputs=inputs
    )
