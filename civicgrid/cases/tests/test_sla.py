"""Working-hours calendar, deadlines and the SLA sweep (time frozen with time-machine)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.management import call_command
from django.test import override_settings

from civicgrid.cases import calendar, services
from civicgrid.cases.models import CaseAction, Holiday, SlaState, State, Supervision
from civicgrid.cases.tasks import schedule_next, sla_sweep, sla_sweep_task

from .conftest import drive, report

TZ = dt.timezone(dt.timedelta(hours=8))


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TZ)


@pytest.fixture
def cal2025(db):
    assert calendar.seed_from_package([2025]) > 20


def test_working_hours_skip_lunch(db):
    assert calendar.add_hours(at(2025, 3, 4, 11, 30), 1, "working") == at(2025, 3, 4, 14, 0)


def test_working_hours_across_a_weekend(db):
    # Fri 16:30 + 2 h: 1 h on Friday, then Monday 09:00–10:00
    assert calendar.add_hours(at(2025, 3, 7, 16, 30), 2, "working") == at(2025, 3, 10, 10, 0)
    assert calendar.working_between(at(2025, 3, 7, 16, 30), at(2025, 3, 10, 10, 0)) == 2


def test_natural_hours_ignore_the_calendar(cal2025):
    assert calendar.add_hours(at(2025, 1, 27, 17, 0), 24, "natural") == at(2025, 1, 28, 17, 0)


def test_working_hours_across_spring_festival(cal2025):
    # Mon 27 Jan 17:00 + 2 h: 0.5 h that day, 28 Jan–4 Feb holiday, 1.5 h on Wed 5 Feb
    assert calendar.add_hours(at(2025, 1, 27, 17, 0), 2, "working") == at(2025, 2, 5, 10, 30)


def test_make_up_workday_on_a_saturday_counts(cal2025):
    # Fri 7 Feb 17:00 + 1 h: 0.5 h, then Saturday 8 Feb is a make-up workday
    assert calendar.add_hours(at(2025, 2, 7, 17, 0), 1, "working") == at(2025, 2, 8, 9, 30)
    assert calendar.is_workday(dt.date(2025, 2, 8)) and not calendar.is_workday(dt.date(2025, 2, 3))


def test_subtracting_working_hours_mirrors_adding(cal2025):
    start = at(2025, 1, 27, 17, 0)
    end = calendar.add_hours(start, 5, "working")
    assert calendar.add_hours(end, -5, "working") == start


def test_admin_entry_changes_the_calendar_immediately(db):
    monday = dt.date(2031, 3, 3)
    assert calendar.is_workday(monday)
    Holiday.objects.create(date=monday, name="特别假日")
    assert not calendar.is_workday(monday)


def test_missing_year_falls_back_to_weekends_and_warns(cal2025):
    assert calendar.calendar_warnings(dt.date(2025, 6, 1)) == [
        calendar.calendar_warnings(dt.date(2025, 6, 1))[0]
    ]
    assert "2026" in calendar.calendar_warnings(dt.date(2025, 6, 1))[0]
    assert len(calendar.calendar_warnings(dt.date(2030, 6, 1))) == 2
    # 2030-10-01 is a Tuesday with no entries: counted as a workday
    assert calendar.is_workday(dt.date(2030, 10, 1))
    calendar.seed_from_package([2026])
    assert calendar.calendar_warnings(dt.date(2025, 6, 1)) == []


@override_settings(CIVICGRID={"WORK_PERIODS": [("08:00", "12:00"), ("14:00", "18:00")]})
def test_office_hours_are_configurable(db):
    assert calendar.add_hours(at(2025, 3, 4, 11, 0), 2, "working") == at(2025, 3, 4, 15, 0)


def test_response_deadline_and_warning_point_at_report(world, cats, cal2025):
    # 2 working hours, reported Friday 16:30 → due Monday 10:00, warning at 80 % = 09:36
    with time_machine.travel(at(2025, 3, 7, 16, 30), tick=False):
        case = report(world, cats)
    assert case.response_due == at(2025, 3, 10, 10, 0)
    assert case.sla_due_at == case.response_due
    assert case.sla_warn_at == at(2025, 3, 10, 9, 36)


def test_handling_deadline_across_a_holiday(world, cats, cal2025):
    # 14 working hours (2 days) accepted on Mon 29 Sep 2025 10:00: 6 h that day, Tue 30 Sep
    # 7 h, National Day 1–8 Oct, Thu 9 Oct 09:00 + 1 h
    with time_machine.travel(at(2025, 9, 29, 10, 0), tick=False):
        case = drive(world, cats, State.FILED)
    assert case.final_due == at(2025, 10, 9, 10, 0)


def test_sweep_warns_at_80_percent_then_supervises_once_when_overdue(world, cats, cal2025):
    with time_machine.travel(at(2025, 3, 4, 9, 0), tick=False):
        case = report(world, cats)  # due 11:00, warning 10:36
    with time_machine.travel(at(2025, 3, 4, 10, 0), tick=False):
        assert sla_sweep()["warning"] == 0
    with time_machine.travel(at(2025, 3, 4, 10, 40), tick=False):
        assert sla_sweep() == {
            "overdue": 0,
            "warning": 1,
            "skipped": 0,
            "review": 0,
            "whistle": 0,
            "whistle_skipped": 0,
            "dispute_overdue": 0,
            "dispute_skipped": 0,
            "task_reminders": 0,
        }
    case.refresh_from_db()
    assert case.sla_state == SlaState.WARNING
    with time_machine.travel(at(2025, 3, 4, 11, 1), tick=False):
        assert sla_sweep()["overdue"] == 1
        assert sla_sweep()["overdue"] == 0
    case.refresh_from_db()
    assert case.sla_state == SlaState.OVERDUE and case.supervision_count == 1
    sup = Supervision.objects.get(case=case)
    assert sup.kind == "overdue" and sup.by is None
    row = CaseAction.objects.get(case=case, action="supervise")
    assert row.role == "system" and row.actor is None


def test_overdue_notifies_owner_center_operators_and_leaders(
    world, cats, cal2025, monkeypatch, django_capture_on_commit_callbacks
):
    import civicgrid.notifications.services as ns

    sent = []
    monkeypatch.setattr(ns, "notify", lambda **kw: sent.append(kw))
    from civicgrid.people.models import Role
    from civicgrid.people.tests.factories import UserFactory, assign

    village_op = UserFactory(username="village_op")
    assign(village_op, Role.OPERATOR, world.comm_a, center=world.center_comm_a)
    with time_machine.travel(at(2025, 3, 4, 9, 0), tick=False):
        report(world, cats)
    with time_machine.travel(at(2025, 3, 5, 9, 0), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            sla_sweep()
    overdue = [s for s in sent if s["kind"] == "case_supervised"]
    assert overdue, sent
    users = set(overdue[0]["users"])
    assert village_op in users and world.leader_a in users


def test_new_deadline_after_extension_clears_the_light(world, cats, cal2025):
    with time_machine.travel(at(2025, 3, 3, 9, 0), tick=False):
        case = drive(world, cats, State.IN_PROGRESS)  # due Tue 4 Mar 17:30
    with time_machine.travel(at(2025, 3, 4, 17, 0), tick=False):
        sla_sweep()
        case.refresh_from_db()
        assert case.sla_state == SlaState.WARNING
        services.case_extension_request(
            case=case, actor=world.handler_a, due=at(2025, 3, 14, 17, 30), reason="需采购"
        )
        services.case_extension_approve(case=case, actor=world.operator_a)
    case.refresh_from_db()
    assert case.sla_state == SlaState.NORMAL and case.sla_due_at == at(2025, 3, 14, 17, 30)
    with time_machine.travel(at(2025, 3, 5, 9, 0), tick=False):
        assert sla_sweep()["overdue"] == 0


def test_worker_restart_catches_up_everything_missed(world, cats, cal2025):
    with time_machine.travel(at(2025, 3, 3, 9, 0), tick=False):
        late = [report(world, cats) for _ in range(3)]
        filed = drive(world, cats, State.FILED)  # due Tue 17:30
        closed = drive(world, cats, State.CLOSED)
    # The worker was down for a week; at start the command sweeps before the worker loop.
    with time_machine.travel(at(2025, 3, 10, 9, 0), tick=False):
        call_command("sla_sweep", "--no-schedule", stdout=open("/dev/null", "w"))
    for c in [*late, filed]:
        c.refresh_from_db()
        assert c.sla_state == SlaState.OVERDUE and c.supervision_count == 1
    closed.refresh_from_db()
    assert closed.supervision_count == 0 and closed.sla_state == SlaState.NORMAL


def test_suspended_cases_are_not_swept(world, cats, cal2025):
    with time_machine.travel(at(2025, 3, 3, 9, 0), tick=False):
        case = drive(world, cats, State.SUSPENDED)
    with time_machine.travel(at(2025, 6, 3, 9, 0), tick=False):
        assert sla_sweep()["overdue"] == 0
    case.refresh_from_db()
    assert case.supervision_count == 0 and case.sla_due_at is None


def test_sweep_task_runs_on_the_immediate_backend_without_rescheduling(world, cats, cal2025):
    with time_machine.travel(at(2025, 3, 3, 9, 0), tick=False):
        case = report(world, cats)
    with time_machine.travel(at(2025, 3, 4, 9, 0), tick=False):
        result = sla_sweep_task.enqueue()
    assert result.return_value["overdue"] == 1
    case.refresh_from_db()
    assert case.sla_state == SlaState.OVERDUE


@override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}})
def test_schedule_next_queues_one_chain_on_the_database_backend(db):
    from django_tasks_db.models import DBTaskResult

    assert schedule_next() is True
    assert schedule_next() is False
    rows = DBTaskResult.objects.filter(task_path=sla_sweep_task.module_path)
    assert rows.count() == 1 and rows.get().status == "READY"


def test_suspended_case_turns_yellow_on_its_review_date(world, cats, cal2025):
    with time_machine.travel(at(2025, 3, 3, 9, 0), tick=False):
        case = drive(world, cats, State.SUSPENDED)  # review date 30 days later
    with time_machine.travel(at(2025, 3, 20, 9, 0), tick=False):
        assert sla_sweep()["review"] == 0
    with time_machine.travel(at(2025, 4, 3, 9, 0), tick=False):
        assert sla_sweep()["review"] == 1
        assert sla_sweep()["review"] == 0
    case.refresh_from_db()
    assert case.sla_state == SlaState.WARNING
    with time_machine.travel(at(2025, 4, 3, 10, 0), tick=False):
        services.case_resume(case=case, actor=world.operator_a)
    case.refresh_from_db()
    assert case.state == State.IN_PROGRESS and case.sla_due_at is not None


def test_warning_is_a_logged_system_event_that_bumps_the_version(world, cats, cal2025):
    """The yellow light is written by the engine: pollers see the version change."""
    from civicgrid.cases.models import CaseAction

    with time_machine.travel(at(2025, 3, 4, 9, 0), tick=False):
        case = report(world, cats)  # due 11:00, warning 10:36
    version = case.version
    with time_machine.travel(at(2025, 3, 4, 10, 40), tick=False):
        assert sla_sweep()["warning"] == 1
        assert sla_sweep()["warning"] == 0  # once per clock
    case.refresh_from_db()
    assert case.sla_state == SlaState.WARNING and case.version == version + 1
    row = CaseAction.objects.filter(case=case).latest("id")
    assert (row.action, row.role, row.actor, row.from_state, row.to_state) == (
        "warn",
        "system",
        None,
        State.REPORTED,
        State.REPORTED,
    )
    assert row.created_at == at(2025, 3, 4, 10, 40)
