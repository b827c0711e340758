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
from civicgrid.people.models import GridMember, Role, RoleAssignment

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


def _assignments(user) -> list[RoleAssignment]:
    cached = user.__dict__.get("_cases_assignments")
    if cached is None:
        # Only codes and levels are read: never pull the areas' boundary polygons here.
        cached = list(
            RoleAssignment.objects.filter(user=user)
            .select_related("area")
            .only("role", "department_id", "center_id", "area__code", "area__level")
        )
        user.__dict__["_cases_assignments"] = cached
    return cached


def capacities(user, case: Case) -> set[str]:
    """What ``user`` is for ``case`` (see the module docstring). Empty for strangers."""
    if user is None or not user.is_authenticated or not user.is_active:
        return set()
    caps: set[str] = set()
    if case.reporter_id and case.reporter_id == user.pk:
        caps.add(REPORTER)
    if case.worker_id and case.worker_id == user.pk:
        caps.add(ASSIGNEE)
    if user.is_superuser:
        caps |= {OPERATOR, LEADER, GRID_CHIEF}
    is_worker = False
    for ra in _assignments(user):
        prefix = ra.area.prefix
        if ra.role == Role.OPERATOR and case.owner_code.startswith(prefix):
            caps.add(OPERATOR)
        elif (
            ra.role == Role.HANDLER
            and ra.department_id
            and ra.department_id == case.department_id
            and case.scope_code.startswith(prefix)
        ):
            caps.add(HANDLER)
        elif ra.role == Role.LEADER and case.scope_code.startswith(prefix):
            caps.add(LEADER)
        elif ra.role == Role.GRID_CHIEF and case.scope_code.startswith(prefix):
            caps.add(GRID_CHIEF)
        elif ra.role == Role.GRID_WORKER:
            is_worker = True
    if (
        is_worker
        and case.grid_id
        and GridMember.objects.filter(user=user, grid_id=case.grid_id).exists()
    ):
        caps.add(GRID_WORKER)
    return caps


def can_view(user, case: Case) -> bool:
    """Whether ``user`` may see ``case`` at all (else it answers 404)."""
    from .selectors import case_visible_q

    if capacities(user, case):
        return True
    return Case.objects.filter(case_visible_q(user), pk=case.pk).exists()


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
