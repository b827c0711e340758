"""The dispute workflow: every action from every state, the full path, deadlines, side effects."""

import datetime as dt

import pytest
import time_machine
from django.db import transaction

from civicgrid.core.errors import DomainError, NotFound
from civicgrid.mediation import services
from civicgrid.mediation.models import Dispute, DisputeAction, DisputeState, FollowUp
from civicgrid.mediation.workflow import DISPUTES
from civicgrid.notifications.models import Notification

from .conftest import S, act, pid, register, to_state

# Inputs that pass every handler, per action, so "allowed" means the action really runs.
GOOD = {
    "triage": lambda w: {"body": w.body_a.pk, "reason": "分流理由", "mediator": w.mediator_a.pk},
    "choose_mediator": lambda w: {"mediator": w.mediator_a.pk},
    "start": lambda w: {},
    "session": lambda w: {
        "held_at": "2020-01-01T10:00",
        "place": "调解室",
        "participants": "双方",
        "summary": "各自陈述",
    },
    "agree": lambda w: {"terms": "赔偿", "fulfil_by": dt.date.today() + dt.timedelta(days=3)},
    "fail": lambda w: {"route": "arbitration", "note": "申请仲裁"},
    "withdraw": lambda w: {"reason": "撤回"},
    "escalate": lambda w: {"reason": "本级无法化解"},
    "fulfil": lambda w: {"note": "已履行"},
    "visit": lambda w: {"note": "满意", "fulfilled": True, "satisfied": True},
    "relapse": lambda w: {"note": "又吵起来了"},
    "archive": lambda w: {},
    "flag_violence": lambda w: {"reason": "扬言报复"},
    "supervise": lambda w: {"note": "请加快"},
}
NEEDS_VISIT = {"archive"}  # from fulfilled: a visit first


@pytest.mark.parametrize("state", list(DisputeState.values))
def test_every_action_from_every_state_is_allowed_exactly_by_the_table(med, state):
    w = med
    for name, a in DISPUTES.actions.items():
        if a.creation:
            continue
        d = to_state(w, state)
        inputs = GOOD[name](w)
        if name in NEEDS_VISIT and state == S.FULFILLED:
            act(d, "visit", w.operator_a, note="回访")
            d.refresh_from_db()
        sid = transaction.savepoint()
        try:
            if state in a.sources:
                act(d, name, w.operator_a, **inputs)
                d.refresh_from_db()
                assert d.state == (a.target or state), (name, state)
            else:
                with pytest.raises(DomainError) as exc:
                    act(d, name, w.operator_a, **inputs)
                assert exc.value.code == "action_not_allowed", (name, state)
                assert exc.value.status == 409
        finally:
            transaction.savepoint_rollback(sid)


def test_register_logs_creation_and_sets_the_triage_deadline(med, frozen_clock):
    d = register(med)
    assert d.state == S.REGISTERED and d.version == 1
    log = list(d.actions.values_list("action", "from_state", "to_state", "role"))
    assert log == [("register", "", "registered", "center")]
    # 7 working hours from Wednesday 10:00 → Thursday 10:00 (09–12, 13:30–17:30).
    assert d.due_at.astimezone(frozen_clock.tzinfo) == frozen_clock.replace(day=12)
    assert d.level == med.dist_a.level == d.first_level
    assert d.parties.count() == 2


def test_full_path_to_archive_writes_agreement_visits_and_log(med):
    d = to_state(med, S.ARCHIVED)
    d.refresh_from_db()
    assert d.state == S.ARCHIVED and d.archived_at
    assert d.agreements.get().amount == 2000
    visits = list(d.followups.order_by("due_date"))
    assert [v.due_date - visits[0].due_date for v in visits] == [dt.timedelta(0), dt.timedelta(23)]
    assert visits[0].done_at and visits[0].satisfied and visits[1].done_at is None
    assert list(d.actions.values_list("action", flat=True)) == [
        "register",
        "triage",
        "start",
        "agree",
        "fulfil",
        "visit",
        "archive",
    ]
    assert d.version == 1 + 6 and d.concluded_level == med.dist_a.level


def test_archive_of_a_fulfilled_agreement_needs_a_visit(med):
    d = to_state(med, S.FULFILLED)
    with pytest.raises(DomainError) as exc:
        act(d, "archive", med.operator_a)
    assert exc.value.field == "followups"


def test_relapse_reopens_and_drops_pending_visits(med, django_capture_on_commit_callbacks):
    d = to_state(med, S.FULFILLED)
    with django_capture_on_commit_callbacks(execute=True):
        act(d, "relapse", med.operator_a, note="又因漏水争吵", fulfilled=False, satisfied=False)
    d.refresh_from_db()
    assert d.state == S.MEDIATING and d.relapse_count == 1 and d.concluded_at is None
    assert d.due_at is not None
    assert list(d.followups.values_list("relapse", flat=True)) == [True]
    assert Notification.objects.filter(kind="dispute_relapse", recipient=med.operator_a).exists()


def test_escalation_moves_the_dispute_to_the_parent_center(med):
    w = med
    d = register(w, center=w.center_comm_a, actor=w.operator_a)
    act(d, "escalate", w.operator_a, reason="村级无法化解")
    d.refresh_from_db()
    assert d.center == w.center_street_a and d.owner_code == w.street_a.code
    assert d.level == w.street_a.level and d.first_level == w.comm_a.level
    assert d.escalation_count == 1 and d.state == S.REGISTERED


def test_escalation_from_the_top_center_is_refused(med):
    from civicgrid.people.models import Role
    from civicgrid.people.tests.factories import UserFactory, assign

    op = UserFactory(username="operator_city")
    assign(op, Role.OPERATOR, med.city, center=med.center_city)
    d = register(med, center=med.center_city, actor=op)
    with pytest.raises(DomainError) as exc:
        act(d, "escalate", op, reason="x")
    assert exc.value.code == "no_parent_center"


def test_triage_refuses_a_body_of_another_district(med):
    d = register(med)
    with pytest.raises(DomainError) as exc:
        act(d, "triage", med.operator_a, body=med.body_b.pk, reason="x")
    assert exc.value.field == "body"


def test_bad_inputs_name_their_field(med):
    d = to_state(med, S.MEDIATING)
    for action, inputs, field in [
        ("agree", {"terms": "x", "fulfil_by": "yesterday"}, "fulfil_by"),
        ("agree", {"terms": "x", "fulfil_by": "2099-01-01", "amount": "lots"}, "amount"),
        ("fail", {"route": "duel", "note": "x"}, "route"),
        (
            "session",
            {"held_at": "2020-01-01", "place": "", "participants": "a", "summary": "b"},
            "place",
        ),
    ]:
        with pytest.raises(DomainError) as exc:
            act(d, action, med.operator_a, **inputs)
        assert exc.value.field == field, action


def test_violence_flag_notifies_the_center_and_the_police_at_once(
    med, django_capture_on_commit_callbacks
):
    w = med
    d = register(w)
    with django_capture_on_commit_callbacks(execute=True):
        services.dispute_act(
            dispute=d, action="flag_violence", actor=w.worker_a1, reason="扬言动刀"
        )
    d.refresh_from_db()
    assert d.violence_flag and d.risk == 3
    got = set(
        Notification.objects.filter(kind="dispute_violence").values_list(
            "recipient__username", flat=True
        )
    )
    assert {"operator_a", "police_a"} <= got
    assert "flag_violence" not in DISPUTES.allowed(w.operator_a, d)


def test_register_with_flag_notifies_too(med, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        register(med, violence_flag=True)
    assert Notification.objects.filter(
        kind="dispute_violence", recipient=med.police_handler
    ).exists()


def test_concurrent_actions_cannot_both_succeed(med):
    d = register(med)
    stale = Dispute.objects.get(pk=d.pk)
    act(d, "withdraw", med.operator_a, reason="撤回")
    with pytest.raises(DomainError):
        act(stale, "triage", med.operator_a, body=med.body_a.pk, reason="x")
    assert Dispute.objects.get(pk=d.pk).state == S.WITHDRAWN


def test_client_id_makes_a_retried_registration_create_nothing_twice(med):
    cid = "7c6b8e36-5a53-4a55-9b1a-0d5b1c3f2e11"
    a = register(med, actor=med.worker_a1, source="screening", center=None, client_id=cid)
    b = register(med, actor=med.worker_a1, source="screening", center=None, client_id=cid)
    assert a.pk == b.pk and Dispute.objects.count() == 1
    assert a.center == med.center_comm_a  # the lowest center over the grid (小事不出村)


def test_parties_with_id_numbers_are_found_or_registered_in_base_data(med):
    from civicgrid.basedata.models import Person

    d = register(
        med,
        parties=[
            {"role": "applicant", "name": "张三", "id_number": pid(31), "phone": "13900000031"},
            {"role": "respondent", "name": "李四"},
        ],
    )
    p = Person.objects.get()
    party = d.parties.get(role="applicant")
    assert (
        party.person == p and party.id_number_mask == p.id_number_mask and "*" in party.phone_mask
    )
    d2 = register(med, parties=[{"role": "applicant", "name": "张三", "id_number": pid(31)}])
    assert d2.parties.get().person == p and Person.objects.count() == 1
    assert d2.repeat_visit is True and d.repeat_visit is False


def test_register_refuses_without_an_applicant_and_with_a_bad_id(med):
    with pytest.raises(DomainError) as exc:
        register(med, parties=[{"role": "respondent", "name": "李四"}])
    assert exc.value.field == "parties"
    with pytest.raises(DomainError) as exc:
        register(med, parties=[{"role": "applicant", "name": "x", "id_number": "123"}])
    assert exc.value.field.startswith("parties.0.")


def test_screening_outside_my_grids_is_refused(med):
    with pytest.raises(DomainError) as exc:
        register(med, actor=med.worker_a1, source="screening", center=None, grid=med.grid_a2)
    assert exc.value.status == 403


def test_outsider_cannot_register_at_another_center(med):
    with pytest.raises(DomainError) as exc:
        register(med, actor=med.outsider_b)
    assert exc.value.field == "grid" or exc.value.status == 403


def test_sweep_supervises_overdue_disputes_once(med, frozen_clock):
    from civicgrid.mediation.sla import dispute_sweep

    d = register(med)
    with time_machine.travel(frozen_clock + dt.timedelta(days=3), tick=False):
        assert dispute_sweep()["overdue"] == 1
        assert dispute_sweep()["overdue"] == 0
    d.refresh_from_db()
    assert d.overdue and d.supervision_count == 1
    assert DisputeAction.objects.filter(dispute=d, action="supervise", role="system").count() == 1


def test_case_sweep_entry_point_runs_the_dispute_sweep(med, frozen_clock):
    from civicgrid.cases.tasks import sla_sweep

    register(med)
    counts = sla_sweep(frozen_clock + dt.timedelta(days=3))
    assert counts["dispute_overdue"] == 1


def test_mediator_acts_only_on_own_dispute(med):
    w = med
    d = to_state(w, S.TRIAGED)
    services.dispute_act(dispute=d, action="start", actor=w.mediator_user)
    other = register(w, actor=w.outsider_b, center=w.center_b, grid=w.grid_b1)
    with pytest.raises(NotFound):
        services.dispute_act(dispute=other, action="withdraw", actor=w.mediator_user, reason="x")


def test_followups_follow_the_configured_days(med, settings):
    settings.CIVICGRID = {**settings.CIVICGRID, "MEDIATION_FOLLOWUP_DAYS": "[3]"}
    d = to_state(med, S.AGREED)
    assert FollowUp.objects.filter(dispute=d).count() == 1
