"""Two clients acting on one case at the same moment: exactly one wins (PostgreSQL only)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from civicgrid.cases import services
from civicgrid.cases.models import Case, CaseAction, State
from civicgrid.core.errors import DomainError

from .conftest import drive, report

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]


def race(*jobs):
    """Run each job in its own thread and connection, released together by a barrier."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def run(i, job):
        try:
            barrier.wait()
            results[i] = job()
        except Exception as exc:  # noqa: BLE001 - the outcome is what we assert on
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, j)) for i, j in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


@pytest.mark.parametrize("attempt", range(3))
def test_two_operators_acting_on_one_case_exactly_one_succeeds(world, cats, attempt):
    case = drive(world, cats, State.FILED)

    def dispatch():
        fresh = Case.objects.get(pk=case.pk)
        return services.case_dispatch(case=fresh, actor=world.operator_a, department=world.dept_a)

    def escalate():
        fresh = Case.objects.get(pk=case.pk)
        return services.case_escalate(case=fresh, actor=world.operator_a, reason="升级")

    results = race(dispatch, escalate)
    errors = [r for r in results if isinstance(r, Exception)]
    wins = [r for r in results if isinstance(r, CaseAction)]
    assert len(wins) == 1 and len(errors) == 1, results
    assert isinstance(errors[0], DomainError) and errors[0].code in (
        "version_conflict",
        "action_not_allowed",
    )
    case.refresh_from_db()
    assert case.state == wins[0].to_state
    assert case.version == 3  # report=1, accept=2, one winner=3
    assert CaseAction.objects.filter(case=case).count() == 3


def test_same_action_twice_at_once_is_logged_once(world, cats):
    case = drive(world, cats, State.HANDLED)

    def verify():
        fresh = Case.objects.get(pk=case.pk)
        return services.case_verify(case=fresh, actor=world.operator_a, note="核查属实")

    results = race(verify, verify, verify)
    assert sum(isinstance(r, CaseAction) for r in results) == 1, results
    assert CaseAction.objects.filter(case=case, action="verify").count() == 1


def test_concurrent_reports_with_one_client_id_make_one_case(world, cats):
    def send():
        return report(world, cats, client_id="offline-queue-000042")

    results = race(send, send, send, send)
    assert all(isinstance(r, Case) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert Case.objects.filter(client_id="offline-queue-000042").count() == 1
