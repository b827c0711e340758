"""The console list costs the same number of statements for 2 rows as for 8, for every persona
(capacities per row come from the request's principal, never from a query per row)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from civicgrid.cases import services
from civicgrid.cases.models import State

from .conftest import A1, drive

PERSONAS = ["operator_a", "handler_a", "worker_a1", "chief_a", "leader_a", "admin"]


def _batch(world, cats, n: int) -> None:
    """``n`` cases every persona sees: in grid A1, reported by the grid worker, dispatched."""
    for _ in range(n):
        case = services.case_report(
            actor=world.worker_a1,
            category=cats.county,
            description="商贩占道经营，影响通行",
            lat=A1[0],
            lng=A1[1],
            source="grid_worker",
        )
        drive(world, cats, State.ASSIGNED, case=case)


def _statements(user) -> tuple[int, int, list[str]]:
    client = Client()
    client.force_login(user)
    client.get("/console/cases/")  # warm-up: sessions, caches
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/console/cases/")
    assert response.status_code == 200
    rows = response.content.decode().count('data-case="')
    sql = [q["sql"] for q in captured.captured_queries]
    return len(sql), rows, sql


@pytest.mark.parametrize("persona", PERSONAS)
def test_console_list_statements_do_not_grow_with_the_page(world, cats, persona):
    user = getattr(world, persona)
    _batch(world, cats, 2)
    few, rows_few, _sql = _statements(user)
    _batch(world, cats, 6)
    many, rows_many, sql = _statements(user)
    assert (rows_few, rows_many) == (2, 8)
    assert many == few, "\n".join(sql)
    assignments = [s for s in sql if "people_roleassignment" in s]
    assert len(assignments) == 1, assignments
    memberships = [s for s in sql if 'FROM "people_gridmember"' in s]
    assert len(memberships) == (1 if persona == "worker_a1" else 0), memberships
