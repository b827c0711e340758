"""主办/协办: dispatch with co-departments, the parts' workflow, the lead's submit, access."""

from __future__ import annotations

import pytest

from civicgrid.cases import services
from civicgrid.cases.cohandling import PARTS, part_act
from civicgrid.cases.engine import allowed_actions, can_view, capacities, case_act
from civicgrid.cases.models import Case, CaseAction, CasePart, CasePartAction, PartState, State
from civicgrid.core.errors import DomainError, NotFound
from civicgrid.notifications.models import Notification
from civicgrid.people.access import Principal, operators_of_center
from civicgrid.people.models import Role
from civicgrid.people.tests.factories import UserFactory, assign

from .conftest import drive, photo

pytestmark = pytest.mark.usefixtures("frozen_clock")


def co_case(world, cats, co, *, depts=None):
    case = drive(world, cats, State.FILED)
    services.case_dispatch(
        case=case,
        actor=world.operator_a,
        department=world.dept_a,
        co_departments=[d.code for d in (depts if depts is not None else [co.a2])],
    )
    case.refresh_from_db()
    return case


def part(case, dept) -> CasePart:
    p = CasePart.objects.select_related("department").get(case=case, department=dept)
    p.case = Case.objects.get(pk=case.pk)
    return p


# --- dispatch -------------------------------------------------------------------------------------


def test_dispatch_with_co_departments_creates_one_logged_part_each(world, cats, co):
    case = co_case(world, cats, co, depts=[co.a2, co.a3])
    assert case.state == State.ASSIGNED and case.department == world.dept_a
    assert sorted(case.co_department_ids) == sorted([co.a2.pk, co.a3.pk])
    parts = CasePart.objects.filter(case=case).order_by("department__code")
    assert [(p.department.code, p.state) for p in parts] == [
        ("A-HB", PartState.ASSIGNED),
        ("A-SW", PartState.ASSIGNED),
    ]
    assert all(p.due_at == case.final_due for p in parts)
    for p in parts:
        log = list(CasePartAction.objects.filter(part=p).values_list("action", "to_state"))
        assert log == [("create", PartState.ASSIGNED)]
    row = CaseAction.objects.filter(case=case, action="dispatch").last()
    assert sorted(row.data["co_departments"]) == ["A-HB", "A-SW"]


def test_single_department_dispatch_is_unchanged(world, cats):
    case = drive(world, cats, State.ASSIGNED)
    assert not case.co_department_ids and not CasePart.objects.filter(case=case).exists()
    assert "co_departments" not in CaseAction.objects.filter(case=case).last().data


@pytest.mark.parametrize(
    "kw, field",
    [
        ({"worker": "worker", "co": ["A-SW"]}, "co_departments"),
        ({"co": ["A-CG"]}, "co_departments"),  # the lead itself
        ({"co": ["B-CG"]}, "co_departments"),  # does not serve the case's location
        ({"co": ["NOPE"]}, "co_departments"),
        ({"co": ["A-SW", "A-SW"]}, "co_departments"),
    ],
)
def test_bad_co_departments_are_refused_naming_the_field(world, cats, co, kw, field):
    case = drive(world, cats, State.FILED)
    inputs = {"co_departments": kw["co"]}
    if "worker" in kw:
        inputs["worker"] = world.worker_a1
    else:
        inputs["department"] = world.dept_a
    with pytest.raises(DomainError) as exc:
        case_act(case=case, action="dispatch", actor=world.operator_a, **inputs)
    assert exc.value.field == field
    assert not CasePart.objects.filter(case=case).exists()


def test_redispatch_withdraws_dropped_parts_and_reassigns_named_again(world, cats, co):
    case = co_case(world, cats, co, depts=[co.a2, co.a3])
    services.case_dispatch(
        case=case, actor=world.operator_a, department=world.dept_a, co_departments=["A-SW"]
    )
    assert part(case, co.a3).state == PartState.CANCELLED
    assert part(case, co.a2).state == PartState.ASSIGNED
    case.refresh_from_db()
    assert case.co_department_ids == [co.a2.pk]
    services.case_dispatch(
        case=case,
        actor=world.operator_a,
        department=world.dept_a,
        co_departments=["A-SW", "A-HB"],
    )
    assert part(case, co.a3).state == PartState.ASSIGNED
    actions = CasePartAction.objects.filter(part__department=co.a3).values_list("action", flat=True)
    assert list(actions) == ["create", "cancel", "reassign"]


def test_same_lead_without_change_is_still_refused(world, cats, co):
    case = co_case(world, cats, co)
    with pytest.raises(DomainError) as exc:
        services.case_dispatch(
            case=case, actor=world.operator_a, department=world.dept_a, co_departments=["A-SW"]
        )
    assert exc.value.code == "already_assigned"


# --- the part's workflow, every action from every state ---------------------------------------------


@pytest.fixture
def omni_part(world, co):
    """One user holding every capacity on a part of co-department A-SW: its handler, the lead's
    handler and an operator of the owner."""
    u = UserFactory(username="omni_part")
    assign(u, Role.HANDLER, world.dist_a, department=co.a2)
    assign(u, Role.HANDLER, world.dist_a, department=world.dept_a)
    assign(u, Role.OPERATOR, world.dist_a, center=world.center_a)
    return u


def drive_part(world, cats, co, state):
    case = co_case(world, cats, co)
    p = part(case, co.a2)
    if state == PartState.ASSIGNED:
        return p
    if state == PartState.RETURNED:
        part_act(part=p, action="return", actor=co.h2, reason="不属本单位")
        return part(case, co.a2)
    if state == PartState.CANCELLED:
        services.case_dispatch(
            case=Case.objects.get(pk=case.pk),
            actor=world.operator_a,
            department=world.dept_a,
            co_departments=[],
        )
        return part(case, co.a2)
    part_act(part=p, action="sign", actor=co.h2)
    if state == PartState.IN_PROGRESS:
        return part(case, co.a2)
    part_act(part=part(case, co.a2), action="submit", actor=co.h2, result="管道已修复")
    assert state == PartState.SUBMITTED
    return part(case, co.a2)


PART_INPUTS = {
    "sign": {},
    "submit": {"result": "已完成"},
    "return": {"reason": "非本单位职责"},
    "rework": {"reason": "未彻底修复"},
    "cancel": {"reason": "不再需要"},
    "reassign": {},
}


@pytest.mark.parametrize("state", list(PartState))
@pytest.mark.parametrize("action", [a for a in PARTS.actions if a != "create"])
def test_every_part_action_from_every_state(world, cats, co, omni_part, action, state):
    p = drive_part(world, cats, co, state)
    before = CasePartAction.objects.filter(part=p).count()
    a = PARTS.actions[action]
    if state in a.sources:
        row = part_act(part=p, action=action, actor=omni_part, **PART_INPUTS[action])
        p.refresh_from_db()
        assert p.state == (a.target or state) and row.from_state == state
        assert CasePartAction.objects.filter(part=p).count() == before + 1
    else:
        with pytest.raises(DomainError) as exc:
            part_act(part=p, action=action, actor=omni_part, **PART_INPUTS[action])
        assert exc.value.code == "action_not_allowed" and exc.value.status == 409
        assert exc.value.details["state"] == state
        p.refresh_from_db()
        assert p.state == state
        assert CasePartAction.objects.filter(part=p).count() == before


def test_stale_part_version_is_refused(world, cats, co):
    p = drive_part(world, cats, co, PartState.ASSIGNED)
    with pytest.raises(DomainError) as exc:
        part_act(part=p, action="sign", actor=co.h2, expected_version=p.version + 1)
    assert exc.value.code == "version_conflict"


def test_submit_part_requires_a_result(world, cats, co):
    p = drive_part(world, cats, co, PartState.IN_PROGRESS)
    with pytest.raises(DomainError) as exc:
        part_act(part=p, action="submit", actor=co.h2, result="  ")
    assert exc.value.field == "result"


# --- the lead's submit ----------------------------------------------------------------------------------


def test_lead_submit_needs_every_part_or_a_reason(world, cats, co):
    case = co_case(world, cats, co, depts=[co.a2, co.a3])
    services.case_sign(case=case, actor=world.handler_a)
    with pytest.raises(DomainError) as exc:
        services.case_submit(
            case=case, actor=world.handler_a, result="已处理", attachments=[photo()]
        )
    assert exc.value.field == "parts_reason" and exc.value.code == "parts_open"
    assert sorted(exc.value.details["open_parts"]) == ["A-HB", "A-SW"]
    case.refresh_from_db()
    assert case.state == State.IN_PROGRESS
    # A-SW does its part; A-HB does not.
    part_act(part=part(case, co.a2), action="sign", actor=co.h2)
    part_act(part=part(case, co.a2), action="submit", actor=co.h2, result="管道已修复")
    with pytest.raises(DomainError):
        services.case_submit(
            case=case, actor=world.handler_a, result="已处理", attachments=[photo()]
        )
    services.case_submit(
        case=case,
        actor=world.handler_a,
        result="已处理",
        attachments=[photo()],
        parts_reason="环保局现场确认无需处置",
    )
    case.refresh_from_db()
    assert case.state == State.HANDLED
    row = CaseAction.objects.filter(case=case, action="submit").last()
    assert row.data["parts_reason"] == "环保局现场确认无需处置"
    assert row.data["parts"] == {"A-SW": "submitted", "A-HB": "assigned"}
    assert part(case, co.a3).state == PartState.CANCELLED
    assert part(case, co.a2).state == PartState.SUBMITTED


def test_lead_submit_with_every_part_submitted_needs_no_reason(world, cats, co):
    case = co_case(world, cats, co)
    services.case_sign(case=case, actor=world.handler_a)
    part_act(part=part(case, co.a2), action="sign", actor=co.h2)
    part_act(part=part(case, co.a2), action="submit", actor=co.h2, result="管道已修复")
    services.case_submit(case=case, actor=world.handler_a, result="已处理", attachments=[photo()])
    case.refresh_from_db()
    assert case.state == State.HANDLED


# --- who may do what: persona × scope -------------------------------------------------------------------


def personas(world, co):
    return {
        "lead_handler": world.handler_a,
        "co_handler": co.h2,
        "other_department": co.h3,
        "township_operator": co.town,
        "grid_chief": world.chief_a,
        "outsider": world.outsider_b,
    }


# persona: (sees the case, case capacities that matter, part actions offered on an assigned
# part, may blow the whistle)
MATRIX = {
    "lead_handler": (True, {"handler"}, set(), False),
    "co_handler": (True, {"co_handler"}, {"sign", "return"}, False),
    "other_department": (False, set(), set(), False),
    "township_operator": (True, {"operator"}, {"cancel"}, True),  # withdraws by re-dispatch
    "grid_chief": (True, {"grid_chief"}, set(), True),
    "outsider": (False, set(), set(), False),
}


@pytest.mark.parametrize("who", list(MATRIX))
def test_persona_scope_matrix(world, cats, co, who):
    case = co_case(world, cats, co)
    user = personas(world, co)[who]
    sees, caps, part_actions, whistles = MATRIX[who]
    principal = Principal.of(user)
    assert can_view(principal, case) is sees
    assert Case.objects.filter(principal.case_visible_q(), pk=case.pk).exists() is sees
    assert capacities(principal, case) & {"handler", "co_handler", "operator", "grid_chief"} == (
        caps
    )
    p = part(case, co.a2)
    assert set(PARTS.allowed(principal, p)) == part_actions
    assert ("whistle" in allowed_actions(principal, case)) is whistles
    if not sees:
        with pytest.raises(NotFound):
            part_act(part=p, action="sign", actor=user)


def test_co_handler_acts_on_its_part_only(world, cats, co):
    case = co_case(world, cats, co, depts=[co.a2, co.a3])
    # Not on the case: signing the case is the lead's.
    with pytest.raises(DomainError) as exc:
        services.case_sign(case=case, actor=co.h2)
    assert exc.value.status == 403
    # Not on the other co-department's part.
    with pytest.raises(DomainError) as exc:
        part_act(part=part(case, co.a3), action="sign", actor=co.h2)
    assert exc.value.status == 403
    # On its own part, and it may comment on the case.
    part_act(part=part(case, co.a2), action="sign", actor=co.h2)
    case_act(case=case, action="comment", actor=co.h2, text="已安排人员")
    assert "comment" in allowed_actions(co.h2, case)
    assert set(allowed_actions(co.h2, case)) <= {"comment", "attach"}


def test_dropped_co_department_no_longer_sees_the_case(world, cats, co):
    case = co_case(world, cats, co)
    assert can_view(co.h2, case)
    services.case_dispatch(
        case=case, actor=world.operator_a, department=world.dept_a, co_departments=[]
    )
    case.refresh_from_db()
    assert not can_view(co.h2, case)
    assert not Case.objects.filter(Principal.of(co.h2).case_visible_q(), pk=case.pk).exists()


# --- returns and reworks reach the right department ---------------------------------------------------


def _kinds(user):
    return set(Notification.objects.filter(recipient=user).values_list("kind", flat=True))


def test_returns_and_reworks_notify_the_right_department(
    world, cats, co, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        case = co_case(world, cats, co, depts=[co.a2, co.a3])
    assert "part_assigned" in _kinds(co.h2) and "part_assigned" in _kinds(co.h3)
    with django_capture_on_commit_callbacks(execute=True):
        part_act(part=part(case, co.a3), action="return", actor=co.h3, reason="不属本单位")
    # The co-department's return goes to the lead and the center, not to the other co-department.
    assert "part_returned" in _kinds(world.handler_a)
    center_ops = operators_of_center(case.owner_id)
    assert center_ops and all("part_returned" in _kinds(u) for u in center_ops)
    assert "part_returned" not in _kinds(co.h2)
    with django_capture_on_commit_callbacks(execute=True):
        part_act(part=part(case, co.a2), action="sign", actor=co.h2)
        part_act(part=part(case, co.a2), action="submit", actor=co.h2, result="已修复")
        part_act(part=part(case, co.a2), action="rework", actor=world.handler_a, reason="未修好")
    # The lead's rework of a part goes to that co-department only.
    assert "part_rework" in _kinds(co.h2)
    assert "part_rework" not in _kinds(co.h3) and "part_rework" not in _kinds(world.handler_a)
    assert part(case, co.a2).rework_count == 1


# --- the co-department's queues on the console home -------------------------------------------------


def test_co_department_finds_its_parts_and_whistles_in_its_own_queues(world, cats, co):
    from civicgrid.cases.models import WhistleCall
    from civicgrid.cases.whistles import call_act
    from civicgrid.console.queries import queue_cases, queue_counts

    co_case_ = co_case(world, cats, co, depts=[co.a2])
    called = drive(world, cats, State.IN_PROGRESS)
    services.case_whistle(case=called, actor=co.town, departments=[co.a2.code], reason="联合处置")

    counts = queue_counts(co.h2, "handler")
    assert counts["co_parts"] == 1 and counts["whistles"] == 1
    # The lead department's queues stay the lead's: the co-department signs nothing on the case.
    assert counts["to_sign"] == counts["signed"] == 0
    assert [c.pk for c in queue_cases(co.h2, "handler", "co_parts")] == [co_case_.pk]
    assert [c.pk for c in queue_cases(co.h2, "handler", "whistles")] == [called.pk]
    lead = queue_counts(world.handler_a, "handler")
    assert lead["to_sign"] >= 1 and lead["co_parts"] == 0 and lead["whistles"] == 0
    assert queue_counts(co.h3, "handler")["co_parts"] == 0  # another department

    # A submitted part and an acted call leave the queues (counts are cached by data stamp).
    p = part(co_case_, co.a2)
    part_act(part=p, action="sign", actor=co.h2)
    p = part(co_case_, co.a2)
    part_act(part=p, action="submit", actor=co.h2, result="已完成管网排查")
    c = WhistleCall.objects.select_related("department", "whistle", "case").get(case=called)
    call_act(call=c, action="report_in", actor=co.h2)
    c = WhistleCall.objects.select_related("department", "whistle", "case").get(case=called)
    call_act(call=c, action="act", actor=co.h2, result="已联合执法")
    assert queue_cases(co.h2, "handler", "co_parts") == []
    assert queue_cases(co.h2, "handler", "whistles") == []


def test_co_department_console_list_shows_its_co_handled_and_called_cases(world, cats, co):
    """The console list reads one page per visibility branch: the 协办 and 吹哨 branches are among
    them, so the list holds what the counts count (it once showed "4 cases" and no row)."""
    from civicgrid.console.queries import lists

    co_case_ = co_case(world, cats, co, depts=[co.a2])
    called = drive(world, cats, State.IN_PROGRESS)
    services.case_whistle(case=called, actor=co.town, departments=[co.a2.code], reason="联合处置")
    page = lists.case_page(co.h2, {})
    assert {c.pk for c in page.items} == {co_case_.pk, called.pk}
    assert page.extra["total"] == 2
    for queue, case in (("handler:co_parts", co_case_), ("handler:whistles", called)):
        page = lists.case_page(co.h2, {"queue": queue})
        assert [c.pk for c in page.items] == [case.pk] and page.extra["total"] == 1
    assert lists.case_page(co.h3, {}).items == []
