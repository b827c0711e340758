"""One definition of open / overdue / due soon (``cases.models``), checked at the exact instant
where it flips, through every reader: the queryset, the API filter, the console's SLA filter and
queue counts, the live indicators and the sweep's selection."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client

from civicgrid.analytics.indicators import overdue_cases
from civicgrid.cases.models import Case, SlaState, due_soon_q, overdue_q
from civicgrid.cases.tasks import sla_sweep
from civicgrid.console.queries import queue_counts

from .conftest import report

TICK = dt.timedelta(microseconds=1)


def _readers(world, now) -> dict[str, bool]:
    """Whether each reader calls the one case overdue at ``now``."""
    op = world.operator_a
    with time_machine.travel(now, tick=False):
        client = Client()
        client.force_login(op)
        api = client.get("/api/cases/", {"overdue": "true"}).json()["items"]
        console = client.get("/console/cases/", {"sla": "overdue"}).content.decode()
        code = Case.objects.get().tracking_code
        cache.clear()  # counts are cached per minute; this compares two instants 1 µs apart
        counts = queue_counts(op, "operator", now=now)
        return {
            "queryset": Case.objects.overdue(now).exists(),
            "q": Case.objects.filter(overdue_q(now)).exists(),
            "api": len(api) == 1,
            "console_list": code in console,
            "console_queue": counts["overdue"] == 1,
            "indicators": len(overdue_cases(op, now=now)) == 1,
        }


@pytest.fixture
def case(world, cats):
    with time_machine.travel(dt.datetime(2025, 3, 4, 1, 0, 7, 123456, tzinfo=dt.UTC), tick=False):
        return report(world, cats)


def test_overdue_flips_at_the_deadline_instant_for_every_reader(world, case):
    due = case.sla_due_at
    assert due is not None
    before = _readers(world, due - TICK)
    assert not any(before.values()), before
    at = _readers(world, due)
    assert all(at.values()), at


def test_the_sweep_selects_the_same_cases_at_the_boundary(world, case):
    due = case.sla_due_at
    with time_machine.travel(due - TICK, tick=False):
        assert sla_sweep(now=due - TICK)["overdue"] == 0
    case.refresh_from_db()
    assert case.sla_state != SlaState.OVERDUE
    with time_machine.travel(due, tick=False):
        assert sla_sweep(now=due)["overdue"] == 1
    case.refresh_from_db()
    assert case.sla_state == SlaState.OVERDUE


def test_due_soon_starts_at_the_warning_instant_and_ends_at_the_deadline(world, case):
    warn, due = case.sla_warn_at, case.sla_due_at
    assert warn < due
    assert not Case.objects.due_soon(warn - TICK).exists()
    assert Case.objects.due_soon(warn).exists()
    assert Case.objects.filter(due_soon_q(due - TICK)).exists()
    assert not Case.objects.due_soon(due).exists()
    assert Case.objects.overdue(due).exists()
    counts = queue_counts(world.operator_a, "operator", now=warn)
    assert counts["due_soon"] == 1 and counts["overdue"] == 0
