"""The demo generator writes cases in bulk; they must look exactly like engine-made cases."""

from __future__ import annotations

from collections import defaultdict

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from civicgrid.cases import calendar
from civicgrid.cases.demo import MinuteClock
from civicgrid.cases.engine import TRANSITIONS, capacities
from civicgrid.cases.models import (
    OPEN_STATES,
    AdmissionItem,
    Case,
    CaseAction,
    Category,
    ExtensionRequest,
    GridTask,
    Holiday,
    SlaState,
    State,
    Supervision,
)
from civicgrid.conftest import FROZEN_AT
from civicgrid.people.models import User

COUNTERS = {
    "rework_count": "rework",
    "extension_count": "extend_approve",
    "supervision_count": "supervise",
    "return_count": "return",
    "dispatch_count": "dispatch",
    "escalation_count": "escalate",
    "reopen_count": "reopen",
}


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    # The clock stands still from generating the city to the last check: a demo deadline can
    # never pass between the two (it once did, by the wall clock, on a slow PostgreSQL run).
    with django_db_blocker.unblock(), time_machine.travel(FROZEN_AT, tick=False):
        call_command("seed_demo", grids=40, cases=2500, verbosity=0)
        yield
        call_command("flush", interactive=False, verbosity=0)


@pytest.fixture
def logs(demo, db):
    by_case = defaultdict(list)
    for a in CaseAction.objects.order_by("created_at", "id"):
        by_case[a.case_id].append(a)
    return by_case


def test_reference_data(demo, db):
    assert Category.objects.filter(code__regex=r"^\d{2}$").count() == 8
    assert 25 <= Category.objects.filter(code__regex=r"^\d{4}$").count() <= 35
    counties = AdmissionItem.objects.values("department__area").distinct().count()
    assert counties >= 2
    # later demo steps (other apps) may add their own rows; ours are the ZR- items
    assert AdmissionItem.objects.filter(code__startswith="ZR-").count() == 17 + 43
    assert Holiday.objects.filter(date__year=2025).exists()
    assert GridTask.objects.exists()


def test_every_state_is_present(demo, db):
    states = set(Case.objects.values_list("state", flat=True))
    assert states == set(State.values)
    assert Case.objects.filter(id__lte=2500).count() == 2500  # ours come first, other steps may add


def test_log_replays_to_the_case_row(logs):
    for case in Case.objects.all():
        rows = logs[case.pk]
        assert rows[0].action == "report" and rows[0].from_state == ""
        for prev, nxt in zip(rows, rows[1:], strict=False):
            assert nxt.from_state == prev.to_state, (case.pk, prev.action, nxt.action)
            t = TRANSITIONS[nxt.action]
            assert nxt.from_state in t.sources, (case.pk, nxt.action, nxt.from_state)
            assert nxt.to_state == (t.target or nxt.from_state)
        assert rows[-1].to_state == case.state
        touching = [a for a in rows[1:] if TRANSITIONS[a.action].touches]
        assert case.version == 1 + len(touching)
        for field, action in COUNTERS.items():
            assert getattr(case, field) == sum(a.action == action for a in rows), (case.pk, field)


def test_deadlines_follow_the_calendar(logs):
    now = timezone.now()
    assert now == FROZEN_AT
    for case in Case.objects.select_related("category"):
        cat, rows = case.category, logs[case.pk]
        clock_start = [a for a in rows if a.action in ("report", "escalate")][-1].created_at
        assert case.response_due == calendar.add_hours(
            clock_start, cat.response_limit, cat.sla_unit
        )
        accepts = [a for a in rows if a.action in ("accept", "reopen")]
        if accepts and not case.extension_count:
            due = calendar.add_hours(accepts[-1].created_at, cat.handling_limit, cat.sla_unit)
            assert case.final_due == due == case.handling_due
        if case.state in (State.CLOSED, State.REJECTED, State.MERGED, State.SUSPENDED):
            assert case.sla_due_at is None and case.sla_state == SlaState.NORMAL
        elif case.state == State.REPORTED:
            assert case.sla_due_at == case.response_due
        else:
            assert case.sla_due_at == case.final_due
        if case.state in OPEN_STATES and case.sla_due_at and case.sla_due_at < now:
            # the sweep would have run: overdue and supervised once, after the deadline
            assert case.sla_state == SlaState.OVERDUE
            auto = [a for a in rows if a.action == "supervise" and a.role == "system"]
            assert auto and auto[-1].created_at > case.sla_due_at


def test_side_tables_match_the_log(demo, db):
    assert Supervision.objects.count() == CaseAction.objects.filter(action="supervise").count()
    assert ExtensionRequest.objects.filter(state="approved").count() == (
        CaseAction.objects.filter(action="extend_approve").count()
    )
    for case in Case.objects.filter(state=State.MERGED).select_related("merged_into"):
        target = case.merged_into
        merged_at = case.actions.get(action="merge").created_at
        assert target.pk != case.pk and target.category_id == case.category_id
        ended = target.actions.filter(to_state__in=["closed", "rejected", "merged"]).first()
        assert ended is None or ended.created_at > merged_at


def test_actors_hold_the_capacity_they_acted_in(logs):
    """Replayed against the final owner/assignment: every operator and handler action was done
    by someone the engine would accept (cases without escalation or re-dispatch)."""
    checked = 0
    # One user object per actor, as in a request: its grants are read once, not per action.
    actors = {
        u.pk: u for u in User.objects.filter(pk__in={a.actor_id for v in logs.values() for a in v})
    }
    for case in Case.objects.filter(escalation_count=0, return_count=0, reopen_count=0):
        for a in logs[case.pk]:
            if a.role in ("operator", "handler", "assignee", "grid_worker") and a.actor_id:
                if a.action == "report":
                    continue
                caps = capacities(actors[a.actor_id], case)
                assert a.role in caps, (case.pk, a.action, a.role, caps)
                checked += 1
    assert checked > 1000


def test_minute_clock_equals_the_calendar(demo, db):
    start = timezone.now() - timezone.timedelta(days=100)
    clock = MinuteClock(start, timezone.now() + timezone.timedelta(days=60))
    base = start.replace(second=0, microsecond=0)
    for i in range(400):
        t = base + timezone.timedelta(minutes=997 * i % (150 * 1440))
        for hours in (0.4, 2, 2.8, 14, 49, -0.4, -2.8, -9.8):
            assert clock.add(t, hours, "working") == calendar.add_hours(t, hours, "working")


def test_co_handled_cases_and_whistles_went_through_the_engine(demo, db):
    from civicgrid.cases.models import CasePart, CasePartAction, WhistleCall, WhistleCallAction

    parts = CasePart.objects.all()
    assert parts.exists(), "the demo has co-handled cases"
    assert {p.state for p in parts} >= {"assigned", "submitted"}
    for p in parts:
        log = list(CasePartAction.objects.filter(part=p).order_by("created_at", "id"))
        assert log[0].action == "create" and log[-1].to_state == p.state
        assert p.department_id in p.case.co_department_ids
    calls = WhistleCall.objects.all()
    assert calls.exists(), "the demo has whistles"
    assert {c.state for c in calls} == {"called", "reported"}
    for c in calls:
        assert WhistleCallAction.objects.filter(call=c).first().action == "blow"
        assert c.department_id in c.case.called_department_ids
