"""The case workflow on the shared engine (``civicgrid.core.workflow``).

The action table is ``registry.CASES`` (one row per action); the handlers are in
``handlers.py``. ``case_act`` runs an action through the engine, which is the only code that
changes ``Case.state``: it checks the table, the actor's capacity on this case (scope), the
inputs, then writes the case with an optimistic version check (zero rows → 409), appends the
immutable ``CaseAction`` row and queues side effects with ``transaction.on_commit``.

Capacities are what a user *is* for one case, derived from role assignments and scope:
``operator`` (an operator whose area contains the owner center's area), ``handler`` (of the
assigned department, case inside the assignment's area), ``assignee`` (the assigned worker),
``grid_worker`` (member of the case's grid), ``grid_chief`` and ``leader`` (case inside their
area), ``reporter`` (who reported it) and ``system`` (the SLA sweep).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from civicgrid.core.workflow import Action, Step
from civicgrid.people.access import Principal

from .models import Case, CaseAction, Flow, State
from .registry import (  # noqa: F401  (the names callers import from here)
    ACTORS,
    ANY,
    ASSIGNEE,
    CAPACITIES,
    CAPACITY_LABELS,
    CASES,
    DOERS,
    GRID_CHIEF,
    GRID_WORKER,
    HANDLER,
    LEADER,
    OPEN,
    OPERATOR,
    REOPEN_WINDOW,
    REPORTER,
    STAFF,
    SYSTEM,
    TRANSITIONS,
    VERIFIERS,
    S,
)

Transition = Action

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
    return CASES.allowed(user, case, caps)


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
    tracking page, once it has established that the caller is the reporter).
    """
    extra = ([SYSTEM] if _system else []) + ([REPORTER] if _reporter else [])
    return CASES.act(
        obj=case,
        action=action,
        actor=actor,
        role=role,
        expected_version=expected_version,
        extra_caps=extra,
        inputs=inputs,
    )


__all__ = ["Step", "Transition", "capacities", "can_view", "case_act", "allowed_actions"]
