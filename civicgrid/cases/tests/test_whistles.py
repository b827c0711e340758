"""吹哨报到: blowing the whistle, the calls' workflow, the sweep at the exact instant, the board,
the API, the field app and the department score."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
import time_machine

from civicgrid.analytics import indicators
from civicgrid.analytics.periods import Period
from civicgrid.cases import services
from civicgrid.cases.models import (
    CallState,
    CaseAction,
    Supervision,
    SupervisionKind,
    WhistleCall,
    WhistleCallAction,
)
from civicgrid.cases.tasks import sla_sweep
from civicgrid.cases.whistles import WHISTLE_CALLS, call_act, open_calls_for, whistle_sweep
from civicgrid.conftest import FROZEN_AT
from civicgrid.core.errors import DomainError, NotFound

from .conftest import drive

pytestmark = pytest.mark.usefixtures("frozen_clock")
TICK = dt.timedelta(microseconds=1)
# FROZEN_AT is Wednesday 10:00 local; two working hours later is 12:00 the same day.
DUE = FROZEN_AT + dt.timedelta(hours=2)


def blow(world, cats, co, *, actor=None, depts=None, state="in_progress"):
    case = drive(world, cats, state)
    services.case_whistle(
        case=case,
        actor=actor or co.town,
        departments=[d.code for d in (depts or [co.a2, co.a3])],
        reason="占道经营反复回潮，需多部门联合处置",
    )
    case.refresh_from_db()
    return case


def call_of(case, dept) -> WhistleCall:
    c = WhistleCall.objects.select_related("department", "whistle", "case").get(
        case=case, department=dept
    )
    return c


# --- blowing the whistle ---------------------------------------------------------------------------


def test_township_operator_blows_the_whistle_one_logged_call_per_department(world, cats, co):
    case = blow(world, cats, co)
    calls = WhistleCall.objects.filter(case=case).order_by("department__code")
    assert [(c.department.code, c.state, c.report_due) for c in calls] == [
        ("A-HB", CallState.CALLED, DUE),
        ("A-SW", CallState.CALLED, DUE),
    ]
    assert sorted(case.called_department_ids) == sorted([co.a2.pk, co.a3.pk])
    for c in calls:
        assert list(WhistleCallAction.objects.filter(call=c).values_list("action", flat=True)) == [
            "blow"
        ]
    row = CaseAction.objects.filter(case=case, action="whistle").get()
    assert row.role == "operator" and sorted(row.data["departments"]) == ["A-HB", "A-SW"]
    assert case.state == "in_progress"  # the case itself does not move


def test_grid_chief_blows_the_whistle(world, cats, co):
    case = blow(world, cats, co, actor=world.chief_a, depts=[co.a2])
    assert call_of(case, co.a2).whistle.role == "grid_chief"


@pytest.mark.parametrize("who", ["operator_a", "handler_a", "worker_a1", "leader_a"])
def test_others_may_not_blow_the_whistle(world, cats, co, who):
    """A county center's operator is not a township/community center; handlers, workers and
    leaders never blow it."""
    case = drive(world, cats, "in_progress")
    with pytest.raises(DomainError) as exc:
        services.case_whistle(
            case=case, actor=getattr(world, who), departments=["A-SW"], reason="需协调"
        )
    assert exc.value.status == 403
    assert not WhistleCall.objects.exists()


def test_outsider_gets_404(world, cats, co):
    case = drive(world, cats, "in_progress")
    with pytest.raises(NotFound):
        services.case_whistle(
            case=case, actor=world.outsider_b, departments=["A-SW"], reason="需协调"
        )


@pytest.mark.parametrize(
    "departments, code",
    [([], "required"), (["B-CG"], "department_out_of_scope"), (["NOPE"], "invalid_department")],
)
def test_bad_departments_are_refused_naming_the_field(world, cats, co, departments, code):
    case = drive(world, cats, "in_progress")
    with pytest.raises(DomainError) as exc:
        services.case_whistle(case=case, actor=co.town, departments=departments, reason="需协调")
    assert exc.value.field == "departments" and exc.value.code == code


def test_a_department_with_an_open_call_is_not_called_twice(world, cats, co):
    case = blow(world, cats, co, depts=[co.a2])
    with pytest.raises(DomainError) as exc:
        services.case_whistle(case=case, actor=co.town, departments=["A-SW"], reason="再次吹哨")
    assert exc.value.code == "already_called" and exc.value.field == "departments"


def test_report_in_limit_is_a_typed_option_on_the_working_calendar(world, cats, co, settings):
    settings.CIVICGRID = {**settings.CIVICGRID, "WHISTLE_REPORT_HOURS": 3}
    case = blow(world, cats, co, depts=[co.a2])
    # 10:00 + 2 h to the lunch break at 12:00, + 1 h from 13:30.
    assert call_of(case, co.a2).report_due == FROZEN_AT.replace(hour=14, minute=30)


# --- the call's workflow, every action from every state -------------------------------------------------


def drive_call(world, cats, co, state):
    case = blow(world, cats, co, depts=[co.a2])
    c = call_of(case, co.a2)
    if state == CallState.CALLED:
        return c
    if state == CallState.CANCELLED:
        call_act(call=c, action="cancel", actor=co.town, reason="已自行解决")
        return call_of(case, co.a2)
    call_act(call=c, action="report_in", actor=co.h2, note="科长带队到场")
    if state == CallState.REPORTED:
        return call_of(case, co.a2)
    call_act(call=call_of(case, co.a2), action="act", actor=co.h2, result="已联合执法清理")
    return call_of(case, co.a2)


CALL_INPUTS = {"report_in": {}, "act": {"result": "已处置"}, "cancel": {"reason": "撤销"}}


@pytest.fixture
def omni_call(world, co):
    """Handler of the called department and township operator in one."""
    from civicgrid.people.models import Role
    from civicgrid.people.tests.factories import UserFactory, assign

    u = UserFactory(username="omni_call")
    assign(u, Role.HANDLER, world.dist_a, department=co.a2)
    assign(u, Role.OPERATOR, world.street_a, center=world.center_street_a)
    return u


@pytest.mark.parametrize("state", list(CallState))
@pytest.mark.parametrize("action", [a for a in WHISTLE_CALLS.actions if a != "blow"])
def test_every_call_action_from_every_state(world, cats, co, omni_call, action, state):
    c = drive_call(world, cats, co, state)
    before = WhistleCallAction.objects.filter(call=c).count()
    a = WHISTLE_CALLS.actions[action]
    extra = {"extra_caps": ["system"], "role": "system"} if action == "supervise" else {}
    run = lambda: WHISTLE_CALLS.act(  # noqa: E731
        obj=c, action=action, actor=omni_call, inputs=CALL_INPUTS.get(action, {}), **extra
    )
    if state in a.sources:
        row = run()
        c.refresh_from_db()
        assert c.state == (a.target or state) and row.from_state == state
        assert WhistleCallAction.objects.filter(call=c).count() == before + 1
    else:
        with pytest.raises(DomainError) as exc:
            run()
        assert exc.value.code == "action_not_allowed" and exc.value.status == 409
        c.refresh_from_db()
        assert c.state == state
        assert WhistleCallAction.objects.filter(call=c).count() == before


@pytest.mark.parametrize(
    "who, allowed",
    [
        ("called_handler", {"report_in"}),
        ("other_department", set()),
        ("lead_handler", set()),
        ("township_operator", {"cancel"}),
        ("grid_chief", {"cancel"}),
        ("outsider", set()),
    ],
)
def test_call_persona_matrix(world, cats, co, who, allowed):
    case = blow(world, cats, co, depts=[co.a2])
    c = call_of(case, co.a2)
    user = {
        "called_handler": co.h2,
        "other_department": co.h3,
        "lead_handler": world.handler_a,
        "township_operator": co.town,
        "grid_chief": world.chief_a,
        "outsider": world.outsider_b,
    }[who]
    assert set(WHISTLE_CALLS.allowed(user, c)) == allowed
    if who == "outsider" or who == "other_department":
        with pytest.raises(NotFound):
            call_act(call=c, action="report_in", actor=user)
    elif "report_in" not in allowed:
        with pytest.raises(DomainError) as exc:
            call_act(call=c, action="report_in", actor=user)
        assert exc.value.status == 403


def test_called_department_sees_the_case_and_only_comments(world, cats, co):
    from civicgrid.cases.engine import allowed_actions, can_view

    case = blow(world, cats, co, depts=[co.a2])
    assert can_view(co.h2, case)
    assert set(allowed_actions(co.h2, case)) <= {"comment", "attach"}
    assert not can_view(co.h3, drive(world, cats, "in_progress"))


# --- the sweep at the exact instant -------------------------------------------------------------------


def test_missing_report_in_is_supervised_at_the_deadline_instant_once(world, cats, co):
    case = blow(world, cats, co, depts=[co.a2])
    assert whistle_sweep(DUE - TICK)["whistle"] == 0
    assert not Supervision.objects.exists()
    assert whistle_sweep(DUE)["whistle"] == 1
    sup = Supervision.objects.get()
    assert sup.kind == SupervisionKind.WHISTLE and sup.department == co.a2
    assert sup.case == case and sup.answered_at is None
    assert whistle_sweep(DUE + dt.timedelta(hours=5))["whistle"] == 0  # one per deadline
    c = call_of(case, co.a2)
    assert c.supervised_at is not None and c.state == CallState.CALLED
    # The late report-in answers it.
    with time_machine.travel(DUE + dt.timedelta(minutes=30), tick=False):
        call_act(call=c, action="report_in", actor=co.h2)
    c.refresh_from_db()
    assert c.late is True
    sup.refresh_from_db()
    assert sup.answered_at == DUE + dt.timedelta(minutes=30)
    assert Supervision.objects.count() == 1


def test_report_in_at_the_instant_is_late_and_supervised_answered(world, cats, co):
    case = blow(world, cats, co, depts=[co.a2])
    with time_machine.travel(DUE, tick=False):
        call_act(call=call_of(case, co.a2), action="report_in", actor=co.h2)
    c = call_of(case, co.a2)
    assert c.late is True
    assert sla_sweep(now=DUE)["whistle"] == 1
    sup = Supervision.objects.get()
    assert sup.answered_at == DUE  # reported in (late) before the sweep came by
    assert sla_sweep(now=DUE + TICK)["whistle"] == 0


def test_report_in_just_before_the_deadline_is_on_time_and_never_supervised(world, cats, co):
    case = blow(world, cats, co, depts=[co.a2])
    with time_machine.travel(DUE - TICK, tick=False):
        call_act(call=call_of(case, co.a2), action="report_in", actor=co.h2)
    assert call_of(case, co.a2).late is False
    assert whistle_sweep(DUE + dt.timedelta(days=3))["whistle"] == 0
    assert not Supervision.objects.exists()


def test_withdrawn_call_is_not_supervised(world, cats, co):
    case = blow(world, cats, co, depts=[co.a2])
    call_act(call=call_of(case, co.a2), action="cancel", actor=co.town, reason="已解决")
    assert whistle_sweep(DUE + dt.timedelta(hours=1))["whistle"] == 0


# --- the board, the score --------------------------------------------------------------------------------


def test_board_is_scoped(world, cats, co):
    case = blow(world, cats, co)
    assert {c.department.code for c in open_calls_for(co.town)} == {"A-SW", "A-HB"}
    assert {c.case_id for c in open_calls_for(co.h2)} == {case.pk}
    assert not open_calls_for(world.outsider_b).exists()
    call_act(call=call_of(case, co.a2), action="report_in", actor=co.h2)
    call_act(call=call_of(case, co.a2), action="act", actor=co.h2, result="已处置")
    assert {c.department.code for c in open_calls_for(co.town)} == {"A-HB"}


def test_late_and_missing_report_ins_count_in_the_department_score(world, cats, co):
    case = blow(world, cats, co)
    with time_machine.travel(DUE - dt.timedelta(minutes=10), tick=False):
        call_act(call=call_of(case, co.a2), action="report_in", actor=co.h2)
    later = DUE + dt.timedelta(hours=1)
    day = FROZEN_AT.date()
    counts = indicators.cohandling_counts(world.admin, Period("day", day, day), now=later)
    assert counts["A-SW"]["report_ins"] == 1 and counts["A-SW"]["late_report_ins"] == 0
    assert counts["A-HB"]["report_ins"] == 1 and counts["A-HB"]["late_report_ins"] == 1
    # The penalty: one point per late or missing report-in (default weight).
    base = indicators.Counts()
    w = indicators.score_weights()
    assert w["late_report_in"] == 1.0
    assert indicators.department_score(base, w, counts["A-HB"]) is None  # no rate: not ranked


def test_score_penalty_applies_to_a_ranked_department(world, cats, co):
    from civicgrid.analytics.indicators import CO_ZERO, department_score

    class C:  # a department with one case closed on time
        unanswered_supervisions = 0

        def values(self):
            return {
                "on_time_close_rate": 1.0,
                "close_rate": 1.0,
                "rework_rate": 0.0,
                "dispatch_accuracy": 1.0,
            }

    assert department_score(C()) == 100
    late = {**CO_ZERO, "late_report_ins": 2, "late_parts": 2}
    assert department_score(C(), None, late) == 100 - 2 * 1.0 - 2 * 0.5


# --- API and field app -------------------------------------------------------------------------------


def post(client, url, data):
    return client.post(url, json.dumps(data), content_type="application/json")


def test_api_whistle_report_in_and_board(client, world, cats, co):
    case = drive(world, cats, "in_progress")
    client.force_login(co.town)
    r = post(
        client,
        f"/api/cases/{case.pk}/whistle",
        {"version": case.version, "departments": ["A-SW"], "reason": "需水务到场"},
    )
    assert r.status_code == 200, r.content
    assert set(r.json()) == {"action", "case"} and r.json()["action"]["action"] == "whistle"
    board = client.get("/api/cases/whistle-board").json()
    assert [row["call"]["department"]["code"] for row in board] == ["A-SW"]
    call = board[0]["call"]
    assert call["state"] == "called" and call["overdue"] is False
    # The called department reports in through the endpoint derived from the table.
    client.force_login(co.h2)
    assert client.get(f"/api/cases/{case.pk}/whistles").json()[0]["calls"][0][
        "allowed_actions"
    ] == ["report_in"]
    r = post(
        client,
        f"/api/cases/{case.pk}/whistle-calls/{call['id']}/report-in",
        {"version": call["version"], "note": "已到场"},
    )
    assert r.status_code == 200, r.content
    assert r.json()["call"]["state"] == "reported" and r.json()["call"]["late"] is False
    # Stale version: 409; outsider: 404.
    r = post(
        client,
        f"/api/cases/{case.pk}/whistle-calls/{call['id']}/act",
        {"version": call["version"], "result": "已处置"},
    )
    assert r.status_code == 409
    client.force_login(world.outsider_b)
    assert client.get(f"/api/cases/{case.pk}/whistles").status_code == 404
    assert client.get("/api/cases/whistle-board").json() == []


def test_api_dispatch_with_co_departments_and_part_endpoints(client, world, cats, co):
    case = drive(world, cats, "filed")
    client.force_login(world.operator_a)
    r = post(
        client,
        f"/api/cases/{case.pk}/dispatch",
        {"version": case.version, "department": "A-CG", "co_departments": ["A-SW"]},
    )
    assert r.status_code == 200, r.content
    assert set(r.json()) == {"action", "case"} and r.json()["case"]["department"]["code"] == "A-CG"
    client.force_login(co.h2)
    parts = client.get(f"/api/cases/{case.pk}/parts").json()
    assert parts["lead"]["code"] == "A-CG"
    (p,) = parts["parts"]
    assert p["department"]["code"] == "A-SW" and p["allowed_actions"] == ["sign", "return"]
    r = post(client, f"/api/cases/{case.pk}/parts/A-SW/sign", {"version": p["version"]})
    assert r.status_code == 200, r.content
    r = post(
        client,
        f"/api/cases/{case.pk}/parts/{p['id']}/submit",
        {"version": r.json()["part"]["version"], "result": ""},
    )
    assert r.status_code in (400, 422)
    client.force_login(co.h3)
    assert client.get(f"/api/cases/{case.pk}/parts").status_code == 404


def test_grid_chief_blows_the_whistle_from_the_field_app(client, world, cats, co):
    case = drive(world, cats, "in_progress")
    client.force_login(world.chief_a)
    cid = str(uuid.uuid4())
    data = {"client_id": cid, "text": "摊贩占道，需城管水务到场", "departments": ["A-SW", "A-HB"]}
    first = client.post(f"/api/field/cases/{case.pk}/whistle", data)
    again = client.post(f"/api/field/cases/{case.pk}/whistle", data)
    assert first.status_code == again.status_code == 200, first.content
    assert again.json()["replayed"] is True
    assert WhistleCall.objects.filter(case=case).count() == 2
    assert CaseAction.objects.filter(case=case, action="whistle").count() == 1


def test_field_case_page_offers_the_whistle_to_the_chief_only(client, world, cats, co):
    from django.urls import reverse

    case = drive(world, cats, "in_progress")
    url = reverse("field:case", args=[case.pk])
    client.force_login(world.chief_a)
    page = client.get(url).content.decode()
    assert 'data-action="whistle"' in page and 'value="A-SW"' in page
    assert 'value="B-CG"' not in page  # does not serve the case's location
    client.force_login(world.worker_a1)
    assert 'data-action="whistle"' not in client.get(url).content.decode()
