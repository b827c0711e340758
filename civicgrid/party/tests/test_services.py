import datetime as dt

import pytest
from django.utils import timezone, translation

from civicgrid.cases import services as cs
from civicgrid.cases.engine import state_label
from civicgrid.cases.models import Case, Flow, State
from civicgrid.core.errors import DomainError, NotFound
from civicgrid.notifications.models import Notification
from civicgrid.party import selectors, services
from civicgrid.party.models import LiaisonVisit, MemberKind
from civicgrid.people.access import Principal

from .conftest import A1, B1, order, photo

pytestmark = pytest.mark.django_db


def test_service_request_files_a_service_order(pw):
    case = order(pw)
    assert case.flow == Flow.SERVICE and case.state == State.REPORTED
    assert case.grid == pw.grid_a1
    with translation.override("en"):
        assert state_label(case.state, case.flow) == "Order placed"


def test_service_request_refuses_a_problem_category(pw):
    with pytest.raises(DomainError) as e:
        services.service_request(
            ip="10.0.0.1", category="0401", description="x", lat=A1[0], lng=A1[1],
            phone="13800001111",
        )  # fmt: skip
    assert e.value.code == "not_a_service" and e.value.field == "category"


def test_service_request_repeat_returns_the_first_order(pw):
    a = order(pw, client_id="abcdef12-service")
    b = order(pw, client_id="abcdef12-service")
    assert a.pk == b.pk and Case.objects.filter(flow=Flow.SERVICE).count() == 1


def test_six_steps_end_to_end(pw):
    w = pw
    case = order(w)
    services.order_take(case=case, actor=w.worker_a1)  # 网格接单 by the grid's worker
    case.refresh_from_db()
    assert case.state == State.FILED
    assert [m.pk for m in services.dispatch_targets(case)] == [w.member.pk]
    services.order_dispatch(case=case, member=w.member, actor=w.comm_op)  # 村社派单
    case.refresh_from_db()
    assert case.state == State.ASSIGNED and case.worker_id == w.member_user.pk
    cs.case_sign(case=case, actor=w.member_user)  # 党员履单
    case.refresh_from_db()
    cs.case_submit(case=case, actor=w.member_user, result="已上门助餐", attachments=[photo()])
    case.refresh_from_db()
    assert case.state == State.HANDLED
    cs.case_verify(case=case, actor=w.comm_op, note="回访满意")  # 督查兑单
    case.refresh_from_db()
    assert case.state == State.CLOSED
    with translation.override("en"):
        assert state_label(case.state, case.flow) == "Archived (归档销单)"


def test_grid_worker_takes_only_service_orders(pw):
    problem = cs.case_report(
        actor=None, category="0401", description="楼道堆物", lat=A1[0], lng=A1[1],
        source="citizen", reporter_phone="13800002222",
    )  # fmt: skip
    with pytest.raises(DomainError) as e:
        cs.case_accept(case=problem, actor=pw.worker_a1, category="0401", priority=2)
    assert e.value.status == 403


def test_worker_of_another_grid_cannot_take(pw):
    case = order(pw, at=B1)
    with pytest.raises(NotFound):
        services.order_take(case=case, actor=pw.worker_a1)


def test_problem_case_cannot_go_to_a_party_member(pw):
    problem = cs.case_report(
        actor=None, category="0401", description="楼道堆物", lat=A1[0], lng=A1[1],
        source="citizen", reporter_phone="13800002222",
    )  # fmt: skip
    cs.case_accept(case=problem, actor=pw.operator_a, category="0401", priority=2)
    with pytest.raises(DomainError) as e:
        cs.case_dispatch(case=problem, actor=pw.operator_a, worker=pw.member_user)
    assert e.value.code == "worker_out_of_scope"


def test_party_member_sees_only_own_orders(pw):
    mine = order(pw, phone="13800003333")
    other = order(pw, phone="13800004444")
    services.order_take(case=mine, actor=pw.worker_a1)
    mine.refresh_from_db()
    services.order_dispatch(case=mine, member=pw.member, actor=pw.comm_op)
    p = Principal.of(pw.member_user)
    visible = set(Case.objects.filter(p.case_visible_q()).values_list("pk", flat=True))
    assert visible == {mine.pk}
    assert not p.can_view(other)
    assert list(selectors.my_orders(pw.member_user)) == [Case.objects.get(pk=mine.pk)]


def test_member_must_be_cpc_in_base_data(pw):
    with pytest.raises(DomainError) as e:
        services.member_add(
            person=pw.resident, kind=MemberKind.MEMBER, organisation=pw.branch, actor=pw.operator_a
        )
    assert e.value.code == "not_party_member" and e.value.field == "person"
    v = services.member_add(person=pw.resident, kind=MemberKind.VOLUNTEER, actor=pw.operator_a)
    assert v.scope_code == pw.grid_a1.code


def test_member_registered_once_and_in_scope_only(pw):
    with pytest.raises(DomainError) as e:
        services.member_add(
            person=pw.cpc, kind=MemberKind.MEMBER, organisation=pw.branch, actor=pw.operator_a
        )
    assert e.value.code == "duplicate"
    with pytest.raises(DomainError) as e:
        services.member_add(
            person=pw.person_b, kind=MemberKind.MEMBER, organisation=pw.branch,
            actor=pw.outsider_b,
        )  # fmt: skip
    assert e.value.code in ("out_of_scope", "out_of_community")
    with pytest.raises(DomainError) as e:
        services.organisation_create(grid=pw.grid_a1, kind="branch", name="x", actor=pw.outsider_b)
    assert e.value.status == 403


def test_party_counts_are_scoped(pw):
    assert selectors.party_counts(pw.operator_a) == {
        "organisations": 1, "members": 1, "volunteers": 0, "contacts": 1, "central": 1,
    }  # fmt: skip
    assert selectors.party_counts(pw.outsider_b)["members"] == 0


# --- 包联 -----------------------------------------------------------------------------------------


def test_visit_needs_an_assignment(pw):
    with pytest.raises(DomainError) as e:
        services.visit_record(
            actor=pw.leader_a,
            grid=pw.grid_a1,
            visited_at=None,
            place="党群服务站",
            people_met="网格员",
        )
    assert e.value.status == 403 and e.value.field == "grid"


def test_visit_with_problem_files_a_case_once(pw):
    a = services.liaison_assign(cadre=pw.leader_a, grid=pw.grid_a1, actor=pw.operator_a)
    kw = dict(
        actor=pw.leader_a, grid=pw.grid_a1, visited_at=None, place="党群服务站",
        people_met="网格员、楼栋长", problems=[{"category": "0401", "description": "楼道堆物"}],
        client_id="5b0d3cf1-8a61-4b1b-9d07-6d1c7f0d2a11",
    )  # fmt: skip
    v, created = services.visit_record(**kw)
    again, created2 = services.visit_record(**kw)
    assert created and not created2 and again.pk == v.pk
    assert v.assignment == a and v.cases.count() == 1
    assert Case.objects.filter(category__code="0401").count() == 1


def test_visit_bad_input_names_the_field(pw):
    services.liaison_assign(cadre=pw.leader_a, grid=pw.grid_a1, actor=pw.operator_a)
    with pytest.raises(DomainError) as e:
        services.visit_record(
            actor=pw.leader_a, grid=pw.grid_a1, visited_at=None, place="", people_met="x"
        )
    assert e.value.field == "place"
    with pytest.raises(DomainError) as e:
        services.visit_record(
            actor=pw.leader_a, grid=pw.grid_a1,
            visited_at=timezone.now() + dt.timedelta(days=1), place="p", people_met="x",
        )  # fmt: skip
    assert e.value.field == "visited_at"


def test_community_assignment_counts_each_grid(pw):
    services.liaison_assign(cadre=pw.leader_a, community=pw.comm_a, actor=pw.operator_a)
    services.visit_record(
        actor=pw.leader_a, grid=pw.grid_a2, visited_at=None, place="p", people_met="x"
    )
    rows = selectors.compliance_rows(pw.operator_a, month=timezone.localdate().replace(day=1))
    assert {(r.grid_code, r.visits) for r in rows} == {
        (pw.grid_a1.code, 0), (pw.grid_a2.code, 1),
    }  # fmt: skip
    per_cadre = selectors.summarise(rows, "cadre")
    assert [(s.grids, s.visited, s.behind) for s in per_cadre] == [(2, 1, 1)]
    assert selectors.compliance_rows(pw.outsider_b, month=timezone.localdate()) == []


def test_assignment_refused_out_of_scope_and_for_non_cadres(pw):
    with pytest.raises(DomainError) as e:
        services.liaison_assign(cadre=pw.leader_a, grid=pw.grid_a1, actor=pw.outsider_b)
    assert e.value.status == 403
    with pytest.raises(DomainError) as e:
        services.liaison_assign(cadre=pw.citizen, grid=pw.grid_a1, actor=pw.operator_a)
    assert e.value.code == "not_a_cadre"


def test_month_end_reminder_sent_once(pw):
    services.liaison_assign(
        cadre=pw.leader_a, grid=pw.grid_a1, actor=pw.operator_a, since=dt.date(2026, 11, 1)
    )
    services.liaison_assign(
        cadre=pw.leader_a, grid=pw.grid_a2, actor=pw.operator_a, since=dt.date(2026, 11, 1)
    )
    LiaisonVisit.objects.create(
        assignment=pw.leader_a.liaison_assignments.get(grid=pw.grid_a2),
        cadre=pw.leader_a, grid=pw.grid_a2, place="p", people_met="x", scope_code="x",
        visited_at=timezone.make_aware(dt.datetime(2026, 11, 20, 10)),
    )  # fmt: skip
    assert services.liaison_remind(today=dt.date(2026, 11, 10)) == 0  # not yet month end
    assert services.liaison_remind(today=dt.date(2026, 11, 27)) == 1
    assert services.liaison_remind(today=dt.date(2026, 11, 28)) == 0  # sent once
    n = Notification.objects.get(recipient=pw.leader_a, kind="liaison_visit_due")
    assert pw.grid_a1.name in n.title


def test_visit_right_after_local_midnight_counts_on_the_local_day(pw):
    """01:30 in Beijing is still the day before in UTC: a cadre assigned today may visit today."""
    import time_machine

    with time_machine.travel(dt.datetime(2026, 12, 2, 17, 30, tzinfo=dt.UTC), tick=False):
        a = services.liaison_assign(cadre=pw.leader_a, grid=pw.grid_a1, actor=pw.operator_a)
        assert a.since == dt.date(2026, 12, 3)
        v, created = services.visit_record(
            actor=pw.leader_a, grid=pw.grid_a1, visited_at=None, place="党群服务站",
            people_met="网格员", client_id="6b0d3cf1-8a61-4b1b-9d07-6d1c7f0d2a12",
        )  # fmt: skip
    assert created and v.assignment == a
