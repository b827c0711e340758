"""The transition table, exhaustively: every action from every state, every persona × scope."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from civicgrid.cases.engine import TRANSITIONS, allowed_actions, case_act
from civicgrid.cases.models import (
    CaseAction,
    ExtensionRequest,
    State,
    SuspensionRequest,
)
from civicgrid.core.errors import DomainError, NotFound
from civicgrid.people.models import Role
from civicgrid.people.tests.factories import UserFactory, add_member, assign

from .conftest import B1, drive, photo, report

pytestmark = pytest.mark.usefixtures("frozen_clock")

ACTIONS = [a for a in TRANSITIONS if a != "report"]


@pytest.fixture
def omni(world):
    """One user holding every capacity on a grid-A1 case dispatched to dept A."""
    u = UserFactory(username="omni")
    assign(u, Role.OPERATOR, world.dist_a, center=world.center_a)
    assign(u, Role.HANDLER, world.dist_a, department=world.dept_a)
    assign(u, Role.GRID_WORKER, world.comm_a)
    assign(u, Role.LEADER, world.dist_a)
    assign(u, Role.GRID_CHIEF, world.street_a)
    add_member(u, world.grid_a1)
    return u


def valid_inputs(action, world, cats, case):
    """Inputs that satisfy every rule of ``action`` except possibly the state."""
    if action in ("extend_approve", "extend_deny"):
        ExtensionRequest.objects.create(
            case=case,
            requested_by=world.handler_a,
            requested_due=timezone.now() + dt.timedelta(days=20),
            reason="需协调",
        )
    if action in ("suspend_approve", "suspend_deny"):
        SuspensionRequest.objects.create(
            case=case,
            requested_by=world.handler_a,
            review_date=timezone.localdate() + dt.timedelta(days=30),
            reason="需资金",
        )
    return {
        "accept": {"category": cats.small, "priority": 3},
        "reject": {"reason": "重复来电"},
        "merge": {"target": report(world, cats)},
        "self_close": {"result": "已劝离", "attachments": [photo()]},
        "dispatch": {"worker": world.worker_a1},
        "return": {"reason": "非本单位职责"},
        "sign": {},
        "submit": {"result": "已处理", "attachments": [photo()]},
        "verify": {"note": "核查属实"},
        "rework": {"reason": "未清理干净"},
        "escalate": {"reason": "需街道协调"},
        "reopen": {"reason": "群众反映问题反弹"},
        "extend_request": {"due": timezone.now() + dt.timedelta(days=30), "reason": "需采购"},
        "extend_approve": {},
        "extend_deny": {"reason": "无正当理由"},
        "suspend_request": {
            "reason": "待法院判决",
            "review_date": timezone.localdate() + dt.timedelta(days=60),
        },
        "suspend_approve": {},
        "suspend_deny": {"reason": "理由不足"},
        "resume": {},
        "supervise": {"note": "请加快办理"},
        "comment": {"text": "已电话联系"},
        "rate": {"score": 5, "text": "满意"},
        "callback": {"caller": "张先生", "score": 4, "text": "基本满意"},
        "attach": {"file": photo()},
        "warn": {},
        "mediation_close": {"result": "调解成功，双方签订协议", "dispute": "TJ2025061100001"},
        "whistle": {"departments": [world.dept_a.code], "reason": "需多部门到场"},
    }[action]


# Trusted callers' flags: the sweep runs ``warn`` and a dispute's conclusion ``mediation_close``
# as the system.
TRUSTED = {"warn": {"_system": True}, "mediation_close": {"_system": True}}


def anonymous_report(world, cats):
    from django.contrib.auth.models import AnonymousUser

    return report(
        world, cats, actor=AnonymousUser(), source="citizen", reporter_phone="13800000001"
    )


def case_for(action, world, cats, state):
    """A case in ``state`` that ``action``'s own preconditions accept: a citizen's report to
    rate, a phoned-in report (no signed-in reporter) for a call-back."""
    if action == "rate":
        from .test_engine import citizen_report

        return drive(world, cats, state, case=citizen_report(world, cats))
    if action == "callback":
        return drive(world, cats, state, case=anonymous_report(world, cats))
    return drive(world, cats, state)


@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize("action", ACTIONS)
def test_every_action_from_every_state(world, cats, omni, action, state):
    if action == "rate":
        omni = world.citizen  # only the reporter rates
    case = case_for(action, world, cats, state)
    inputs = valid_inputs(action, world, cats, case)
    before_state, before_version = case.state, case.version
    log_before = CaseAction.objects.filter(case=case).count()
    allowed = state in TRANSITIONS[action].sources
    if allowed:
        row = case_act(case=case, action=action, actor=omni, **inputs, **TRUSTED.get(action, {}))
        case.refresh_from_db()
        expected = TRANSITIONS[action].target or before_state
        assert case.state == expected
        assert row.from_state == before_state and row.to_state == expected
        assert CaseAction.objects.filter(case=case).count() == log_before + 1
    else:
        with pytest.raises(DomainError) as exc:
            case_act(case=case, action=action, actor=omni, **inputs, **TRUSTED.get(action, {}))
        err = exc.value
        assert err.code == "action_not_allowed"
        assert err.status == 409
        assert err.details["state"] == state
        assert action not in err.details["allowed_actions"]
        assert state in err.message
        for name in err.details["allowed_actions"]:
            assert name in err.message
        case.refresh_from_db()
        assert (case.state, case.version) == (before_state, before_version)
        assert CaseAction.objects.filter(case=case).count() == log_before


@pytest.mark.parametrize("state", list(State))
def test_allowed_actions_follow_the_table(world, cats, omni, state):
    case = drive(world, cats, state)
    got = set(allowed_actions(omni, case))
    # omni did not report this grid worker's report (no rating, no call-back) and is not the
    # system (no warning, no closing by a dispute's conclusion).
    others = {"rate", "callback", "warn", "mediation_close"}
    expected = {a for a in ACTIONS if state in TRANSITIONS[a].sources and a not in others}
    assert got == expected


# What each persona is on a grid-A1 case (hand-written, not derived from the code under test).
# handler_a is only involved once the case is dispatched to dept A.
CAPS = {
    "operator_a": {"operator"},
    "handler_a": {"handler"},
    "worker_a1": {"grid_worker"},
    "chief_a": {"grid_chief"},
    "leader_a": {"leader"},
    "admin": set(),
    "outsider_b": set(),
    "citizen": {"reporter"},
}
# Who may at least see the case (else 404).
VISIBLE = {"operator_a", "handler_a", "worker_a1", "chief_a", "leader_a", "admin", "citizen"}
DISPATCHED = {State.ASSIGNED, State.IN_PROGRESS, State.HANDLED, State.CLOSED, State.SUSPENDED}
# The state each action is tried from in the role matrix.
FROM = {
    "accept": State.REPORTED,
    "reject": State.REPORTED,
    "merge": State.FILED,
    "self_close": State.REPORTED,
    "dispatch": State.FILED,
    "return": State.ASSIGNED,
    "sign": State.ASSIGNED,
    "submit": State.IN_PROGRESS,
    "verify": State.HANDLED,
    "rework": State.HANDLED,
    "escalate": State.FILED,
    "reopen": State.CLOSED,
    "extend_request": State.IN_PROGRESS,
    "extend_approve": State.IN_PROGRESS,
    "extend_deny": State.ASSIGNED,
    "suspend_request": State.IN_PROGRESS,
    "suspend_approve": State.IN_PROGRESS,
    "suspend_deny": State.IN_PROGRESS,
    "resume": State.SUSPENDED,
    "supervise": State.IN_PROGRESS,
    "comment": State.HANDLED,
    "rate": State.CLOSED,
    "attach": State.IN_PROGRESS,
}
# Actions of the system or needing a particular report, tested on their own.
PERSONA_ACTIONS = [a for a in ACTIONS if a in FROM]


def citizen_report(world, cats, at=None):
    from civicgrid.cases import services

    from .conftest import A1

    at = at or A1
    return services.case_report(
        actor=world.citizen,
        category=cats.small,
        description="路灯不亮",
        lat=at[0],
        lng=at[1],
        source="citizen",
    )


@pytest.mark.parametrize("persona", sorted(CAPS))
@pytest.mark.parametrize("action", PERSONA_ACTIONS)
def test_every_persona_in_scope(world, cats, action, persona):
    state = FROM[action]
    case = drive(world, cats, state, case=citizen_report(world, cats))
    inputs = valid_inputs(action, world, cats, case)
    actor = getattr(world, persona)
    caps = set(CAPS[persona])
    visible = persona in VISIBLE
    if persona == "handler_a" and state not in DISPATCHED:
        caps, visible = set(), False
    may = bool(caps & set(TRANSITIONS[action].roles))
    if action == "accept" and caps == {"grid_worker"}:
        may = False  # a grid worker takes service orders only (网格接单, docs/party.md)
    if may:
        case_act(case=case, action=action, actor=actor, **inputs)
        case.refresh_from_db()
        assert case.state == (TRANSITIONS[action].target or state)
    else:
        with pytest.raises(DomainError) as exc:
            case_act(case=case, action=action, actor=actor, **inputs)
        if visible:
            assert exc.value.code == "permission_denied"
            assert exc.value.status == 403
        else:
            assert isinstance(exc.value, NotFound)
        case.refresh_from_db()
        assert case.state == state


@pytest.mark.parametrize("persona", sorted(CAPS))
@pytest.mark.parametrize("action", ["accept", "supervise", "comment", "self_close", "verify"])
def test_out_of_scope_case_is_not_found_for_district_a(world, cats, action, persona):
    """The same personas on a case in district B: nobody from A may act, and it is a 404."""
    state = FROM[action]
    case = report(world, cats, at=B1, actor=world.citizen, source="citizen")
    if state != State.REPORTED:
        # drive it in district B with B's operator (owner: district B center)
        from civicgrid.cases import services

        services.case_accept(case=case, actor=world.outsider_b, category=cats.small, priority=2)
        if state in (State.HANDLED, State.IN_PROGRESS):
            services.case_dispatch(case=case, actor=world.outsider_b, department=world.dept_b)
            from civicgrid.people.tests.factories import UserFactory

            hb = UserFactory(username="handler_b")
            assign(hb, Role.HANDLER, world.dist_b, department=world.dept_b)
            services.case_sign(case=case, actor=hb)
            if state == State.HANDLED:
                services.case_submit(case=case, actor=hb, result="ok", attachments=[photo()])
    inputs = valid_inputs(action, world, cats, case) if action != "merge" else {}
    actor = getattr(world, persona)
    if persona == "outsider_b":
        if "operator" in TRANSITIONS[action].roles:
            case_act(case=case, action=action, actor=actor, **inputs)
            return
        with pytest.raises(DomainError) as exc:
            case_act(case=case, action=action, actor=actor, **inputs)
        assert exc.value.code == "permission_denied"
        return
    if persona == "citizen":
        # the citizen reported it: visible, but not allowed to do staff actions
        with pytest.raises(DomainError) as exc:
            case_act(case=case, action=action, actor=actor, **inputs)
        assert exc.value.code == "permission_denied"
        return
    if persona == "admin":
        # city-wide admin sees every case but does not act on it
        with pytest.raises(DomainError) as exc:
            case_act(case=case, action=action, actor=actor, **inputs)
        assert exc.value.code == "permission_denied"
        return
    with pytest.raises(NotFound):
        case_act(case=case, action=action, actor=actor, **inputs)


def test_role_argument_selects_capacity_and_is_checked(world, cats, omni):
    case = drive(world, cats, State.IN_PROGRESS)
    row = case_act(case=case, action="supervise", actor=omni, role="leader", note="督办")
    assert row.role == "leader"
    with pytest.raises(DomainError) as exc:
        case_act(case=case, action="supervise", actor=world.leader_a, role="operator", note="x")
    assert exc.value.code == "role_not_held"
    with pytest.raises(DomainError) as exc:
        case_act(case=case, action="supervise", actor=omni, role="handler", note="x")
    assert exc.value.code == "permission_denied"


def test_unknown_action_is_refused_naming_the_field(world, cats):
    case = report(world, cats)
    with pytest.raises(DomainError) as exc:
        case_act(case=case, action="teleport", actor=world.operator_a)
    assert exc.value.code == "unknown_action" and exc.value.field == "action"


@pytest.mark.parametrize(
    "action,field",
    [("reject", "reason"), ("accept", "category"), ("verify", "note"), ("dispatch", "department")],
)
def test_missing_input_names_the_field_and_changes_nothing(world, cats, action, field):
    state = {
        "reject": State.REPORTED,
        "accept": State.REPORTED,
        "verify": State.HANDLED,
        "dispatch": State.FILED,
    }[action]
    case = drive(world, cats, state)
    version = case.version
    with pytest.raises(DomainError) as exc:
        case_act(case=case, action=action, actor=world.operator_a)
    assert exc.value.code == "required" and exc.value.field == field
    case.refresh_from_db()
    assert case.version == version and case.state == state


def test_stale_instance_gets_409_and_nothing_changes(world, cats):
    case = drive(world, cats, State.FILED)
    from civicgrid.cases.models import Case

    stale = Case.objects.get(pk=case.pk)
    case_act(case=case, action="dispatch", actor=world.operator_a, department=world.dept_a)
    with pytest.raises(DomainError) as exc:
        case_act(case=stale, action="escalate", actor=world.operator_a, reason="升级")
    assert exc.value.code == "version_conflict" and exc.value.status == 409
    case.refresh_from_db()
    assert case.state == State.ASSIGNED
    assert CaseAction.objects.filter(case=case, action="escalate").count() == 0


def test_expected_version_mismatch_is_a_conflict(world, cats):
    case = report(world, cats)
    with pytest.raises(DomainError) as exc:
        case_act(
            case=case,
            action="reject",
            actor=world.operator_a,
            reason="x",
            expected_version=case.version + 5,
        )
    assert exc.value.code == "version_conflict"
