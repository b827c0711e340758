"""The case workflow: one transition table and one engine function.

``TRANSITIONS`` says, for every action, from which states it may run, the state it leads to,
which capacities may run it and which inputs it needs. ``case_act`` is the only code that
changes ``Case.state``: it checks the table, the actor's capacity on this case (scope), the
inputs, then writes the case with an optimistic version check (``UPDATE … WHERE id AND
version``; zero rows → 409), appends the immutable ``CaseAction`` row and queues side effects
with ``transaction.on_commit`` so that a notification can never undo a transition.

Capacities are what a user *is* for one case, derived from role assignments and scope:
``operator`` (an operator whose area contains the owner center's area), ``handler`` (of the
assigned department, case inside the assignment's area), ``assignee`` (the assigned worker),
``grid_worker`` (member of the case's grid), ``grid_chief`` and ``leader`` (case inside their
area), ``reporter`` (who reported it) and ``system`` (the SLA sweep).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicgrid.core.errors import Conflict, DomainError, NotFound
from civicgrid.people.access import Principal

from .models import OPEN_STATES, Case, CaseAction, Flow, State

S = State
OPEN = tuple(OPEN_STATES)
ANY = tuple(State)
OPERATOR, HANDLER, ASSIGNEE = "operator", "handler", "assignee"
GRID_WORKER, GRID_CHIEF, LEADER = "grid_worker", "grid_chief", "leader"
REPORTER, SYSTEM = "reporter", "system"
CAPACITIES = (OPERATOR, HANDLER, ASSIGNEE, GRID_WORKER, GRID_CHIEF, LEADER, REPORTER, SYSTEM)
CAPACITY_LABELS = {
    OPERATOR: gettext_lazy("Operator"),
    HANDLER: gettext_lazy("Handler"),
    ASSIGNEE: gettext_lazy("Assigned worker"),
    GRID_WORKER: gettext_lazy("Grid worker"),
    GRID_CHIEF: gettext_lazy("Grid chief"),
    LEADER: gettext_lazy("Leader"),
    REPORTER: gettext_lazy("Reporter"),
    SYSTEM: gettext_lazy("System"),
    "citizen": gettext_lazy("Citizen"),
    "anonymous": gettext_lazy("Anonymous"),
}
REOPEN_WINDOW = dt.timedelta(days=30)


@dataclass(frozen=True)
class Transition:
    action: str
    sources: tuple[str, ...]
    target: str | None  # None: the state does not change
    roles: tuple[str, ...]
    required: tuple[str, ...] = ()
    label: Any = ""
    service_label: Any = None  # the 六联单 vocabulary, when it differs


def _t(action, sources, target, roles, required=(), label="", service_label=None):
    return Transition(
        action, tuple(sources), target, tuple(roles), tuple(required), label, service_label
    )


STAFF = (OPERATOR, HANDLER, ASSIGNEE, GRID_WORKER, GRID_CHIEF, LEADER)
VERIFIERS = (OPERATOR, GRID_WORKER, GRID_CHIEF)
DOERS = (HANDLER, ASSIGNEE)

# fmt: off
TRANSITIONS: dict[str, Transition] = {t.action: t for t in [
    _t("report", (), S.REPORTED, (), ("category", "description", "location"),
       gettext_lazy("Report"), gettext_lazy("Order placed (群众点单)")),
    _t("accept", (S.REPORTED,), S.FILED, (OPERATOR,), ("category", "priority"),
       gettext_lazy("Accept and file"), gettext_lazy("Take the order (网格接单)")),
    _t("reject", (S.REPORTED,), S.REJECTED, (OPERATOR,), ("reason",),
       gettext_lazy("Reject")),
    _t("merge", (S.REPORTED, S.FILED), S.MERGED, (OPERATOR,), ("target",),
       gettext_lazy("Merge")),
    _t("self_close", (S.REPORTED,), S.CLOSED, (GRID_WORKER,), ("result", "attachments"),
       gettext_lazy("Self-close")),
    _t("dispatch", (S.FILED, S.ASSIGNED), S.ASSIGNED, (OPERATOR,), ("department|worker",),
       gettext_lazy("Dispatch"), gettext_lazy("Dispatch the order (村社派单)")),
    _t("return", (S.ASSIGNED,), S.FILED, DOERS, ("reason",),
       gettext_lazy("Return")),
    _t("sign", (S.ASSIGNED,), S.IN_PROGRESS, DOERS, (),
       gettext_lazy("Sign for"), gettext_lazy("Fulfil the order: sign (党员履单)")),
    _t("submit", (S.IN_PROGRESS,), S.HANDLED, DOERS, ("result", "attachments"),
       gettext_lazy("Submit result"), gettext_lazy("Fulfil the order: result (党员履单)")),
    _t("verify", (S.HANDLED,), S.CLOSED, VERIFIERS, ("note",),
       gettext_lazy("Verify and close"), gettext_lazy("Check fulfilment (督查兑单)")),
    _t("rework", (S.HANDLED,), S.IN_PROGRESS, VERIFIERS, ("reason",),
       gettext_lazy("Send back for rework")),
    _t("escalate", (S.REPORTED, S.FILED), S.REPORTED, (OPERATOR,), ("reason",),
       gettext_lazy("Escalate")),
    _t("reopen", (S.CLOSED,), S.FILED, (OPERATOR,), ("reason",),
       gettext_lazy("Reopen")),
    _t("extend_request", (S.ASSIGNED, S.IN_PROGRESS), None, DOERS, ("due", "reason"),
       gettext_lazy("Request extension")),
    _t("extend_approve", (S.FILED, S.ASSIGNED, S.IN_PROGRESS, S.HANDLED), None, (OPERATOR,),
       (), gettext_lazy("Approve extension")),
    _t("extend_deny", (S.FILED, S.ASSIGNED, S.IN_PROGRESS, S.HANDLED), None, (OPERATOR,),
       ("reason",), gettext_lazy("Deny extension")),
    _t("suspend_request", (S.IN_PROGRESS,), None, DOERS, ("reason", "review_date"),
       gettext_lazy("Request suspension")),
    _t("suspend_approve", (S.IN_PROGRESS,), S.SUSPENDED, (OPERATOR,), (),
       gettext_lazy("Approve suspension")),
    _t("suspend_deny", (S.IN_PROGRESS,), None, (OPERATOR,), ("reason",),
       gettext_lazy("Deny suspension")),
    _t("resume", (S.SUSPENDED,), S.IN_PROGRESS, (OPERATOR,), (),
       gettext_lazy("Resume")),
    _t("supervise", OPEN, None, (OPERATOR, LEADER, SYSTEM), ("note",),
       gettext_lazy("Supervise")),
    _t("comment", ANY, None, STAFF, ("text",),
       gettext_lazy("Comment")),
    _t("rate", (S.CLOSED,), None, (REPORTER, OPERATOR), ("score",),
       gettext_lazy("Rate"), gettext_lazy("Rate the order")),
]}
# fmt: on

SERVICE_STATE_LABELS = {
    S.REPORTED: gettext_lazy("Order placed"),
    S.FILED: gettext_lazy("Order taken"),
    S.ASSIGNED: gettext_lazy("Order dispatched"),
    S.IN_PROGRESS: gettext_lazy("Being fulfilled"),
    S.HANDLED: gettext_lazy("Awaiting check"),
    S.CLOSED: gettext_lazy("Archived (归档销单)"),
}


def action_label(action: str, flow: str = Flow.CASE) -> str:
    t = TRANSITIONS.get(action)
    if t is None:
        return action
    if flow == Flow.SERVICE and t.service_label:
        return str(t.service_label)
    return str(t.label)


def state_label(state: str, flow: str = Flow.CASE) -> str:
    if flow == Flow.SERVICE and state in SERVICE_STATE_LABELS:
        return str(SERVICE_STATE_LABELS[state])
    return str(State(state).label)


# --- capacities -------------------------------------------------------------------------------


def capacities(user, case: Case) -> set[str]:
    """What ``user`` (a user or a ``Principal``) is for ``case``; empty for strangers.

    The rule lives in ``civicgrid.people.access.Principal.capacities`` (no query).
    """
    return Principal.of(user).capacities(case)


def can_view(user, case: Case) -> bool:
    """Whether ``user`` (a user or a ``Principal``) may see ``case`` at all (else 404)."""
    return Principal.of(user).can_view(case)


def allowed_actions(user, case: Case, caps: set[str] | None = None) -> list[str]:
    """Actions ``user`` may start on ``case`` now, by the table (inputs not yet checked)."""
    caps = capacities(user, case) if caps is None else caps
    out = []
    for t in TRANSITIONS.values():
        if case.state in t.sources and caps & set(t.roles) and _guard_ok(t.action, case, caps):
            out.append(t.action)
    return out


def _guard_ok(action: str, case: Case, caps: set[str]) -> bool:
    """Cheap preconditions beyond the table, so offered buttons do not fail on obvious grounds."""
    if action == "rate":
        return case.satisfaction is None
    if action == "reopen":
        return bool(case.closed_at) and timezone.now() - case.closed_at <= REOPEN_WINDOW
    if action == "self_close":
        return case.category.self_closable
    return True


# --- the engine -------------------------------------------------------------------------------


@dataclass
class Step:
    """What one action does, filled in by the action's handler before anything is written."""

    case: Case
    actor: Any
    role: str
    inputs: dict
    now: dt.datetime
    transition: Transition
    changes: dict = field(default_factory=dict)
    note: str = ""
    data: dict = field(default_factory=dict)
    touch_case: bool = True  # False: no row update (a comment)
    after: list[Callable[[CaseAction], None]] = field(default_factory=list)
    effects: list[Callable[[], None]] = field(default_factory=list)


def _empty(value) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | set):
        return len(value) == 0
    return False


def _refused(case: Case, action: str, user, caps: set[str]) -> DomainError:
    allowed = allowed_actions(user, case, caps)
    state = state_label(case.state, case.flow)
    names = ", ".join(allowed) if allowed else _("none")
    return DomainError(
        "action_not_allowed",
        _(
            "The action “%(action)s” is not allowed while the case is %(state)s (%(code)s). "
            "Allowed actions: %(allowed)s."
        )
        % {"action": action, "state": state, "code": case.state, "allowed": names},
        details={"state": case.state, "allowed_actions": allowed, "action": action},
        status=409,
    )


def case_act(
    *,
    case: Case,
    action: str,
    actor,
    role: str | None = None,
    expected_version: int | None = None,
    _system: bool = False,
    _reporter: bool = False,
    **inputs,
) -> CaseAction:
    """Run ``action`` on ``case`` as ``actor``; returns the appended action-log row.

    ``role`` picks the capacity to act in when the actor holds several. ``expected_version``
    (e.g. from an If-Match header) refuses with 409 when the case changed meanwhile.
    ``_system`` and ``_reporter`` are for trusted callers only (the SLA sweep; the public
    tracking page, where knowing the tracking code identifies the reporter).
    """
    from . import actions  # the per-action handlers

    transition = TRANSITIONS.get(action)
    if transition is None or action == "report":
        raise DomainError(
            "unknown_action",
            _("Unknown action “%(action)s”.") % {"action": action},
            field="action",
            details={"actions": [a for a in TRANSITIONS if a != "report"]},
        )
    caps = capacities(actor, case)
    if _system:
        caps.add(SYSTEM)
    if _reporter:
        caps.add(REPORTER)
    if not caps and not (actor is not None and can_view(actor, case)):
        raise NotFound(_("case"))
    if case.state not in transition.sources:
        raise _refused(case, action, actor, caps)
    usable = [r for r in transition.roles if r in caps]
    if role is not None:
        if role not in caps:
            raise DomainError(
                "role_not_held",
                _("You do not act as %(role)s on this case.") % {"role": role},
                field="role",
                status=403,
            )
        if role not in transition.roles:
            usable = []
        else:
            usable = [role]
    if not usable:
        raise DomainError(
            "permission_denied",
            _("Only %(roles)s may %(action)s this case.")
            % {
                "roles": " / ".join(str(CAPACITY_LABELS[r]) for r in transition.roles),
                "action": action_label(action, case.flow),
            },
            details={"required_roles": list(transition.roles), "your_roles": sorted(caps)},
            status=403,
        )
    if expected_version is not None and int(expected_version) != case.version:
        raise _conflict(case)
    for name in transition.required:
        if "|" in name:
            alts = name.split("|")
            if all(_empty(inputs.get(a)) for a in alts):
                raise DomainError(
                    "required",
                    _("One of %(fields)s is required.") % {"fields": ", ".join(alts)},
                    field=alts[0],
                )
        elif _empty(inputs.get(name)):
            raise DomainError("required", _("%(field)s is required.") % {"field": name}, field=name)

    step = Step(
        case=case,
        actor=actor,
        role=usable[0],
        inputs=inputs,
        now=timezone.now(),
        transition=transition,
    )
    handler = getattr(actions, f"do_{action}")
    with transaction.atomic():
        handler(step)  # validates and fills step; may read but does not write
        return _commit(step)


def _conflict(case: Case) -> Conflict:
    return Conflict(
        "version_conflict",
        _("The case was changed by someone else meanwhile; reload it and try again."),
        details={"version": case.version},
    )


def _commit(step: Step) -> CaseAction:
    case, t = step.case, step.transition
    from_state = case.state
    to_state = t.target or from_state
    if t.target:
        step.changes["state"] = t.target
    if step.touch_case:
        step.changes["updated_at"] = step.now
        new_version = case.version + 1
        updated = Case.objects.filter(pk=case.pk, version=case.version).update(
            version=new_version, **step.changes
        )
        if updated == 0:
            raise _conflict(case)
        for k, v in step.changes.items():
            setattr(case, k, v)
        case.version = new_version
    row = CaseAction.objects.create(
        case=case,
        action=t.action,
        actor=step.actor if getattr(step.actor, "pk", None) else None,
        role=step.role,
        from_state=from_state,
        to_state=to_state,
        note=step.note,
        data=step.data,
        created_at=step.now,
    )
    for fn in step.after:
        fn(row)
    if step.role in (HANDLER, ASSIGNEE):
        from .models import Supervision

        # Any move by the doer after a supervision counts as an answer to it.
        Supervision.objects.filter(case=case, answered_at__isnull=True).update(answered_at=step.now)
    for effect in step.effects:
        transaction.on_commit(effect)
    return row
