"""The list indexes of migration 0002 stay usable by the queries they were made for."""

from __future__ import annotations

import importlib

import pytest
from django.db import connection

from civicgrid.cases import selectors
from civicgrid.cases.models import OPEN_STATES

MIGRATION = importlib.import_module("civicgrid.cases.migrations.0002_list_indexes")


def _index_names() -> set[str]:
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'cases_case'")
        else:
            cur.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        return {row[0] for row in cur.fetchall()}


def test_partial_index_states_match_the_selector_filters():
    # A partial index is only used when the query's state list implies its predicate.
    assert tuple(MIGRATION.QUEUE_STATES) == tuple(s.value for s in selectors.QUEUE_STATES)
    assert tuple(MIGRATION.OPEN_STATES) == tuple(s.value for s in OPEN_STATES)


@pytest.mark.django_db
def test_list_indexes_exist_after_migrate():
    names = _index_names()
    assert {"case_queue_recent", "case_running_due"} <= names


def _page_sql(user, **filters) -> str:
    qs = selectors.case_queryset_for(user, **filters).order_by("-reported_at", "-id")[:51]
    sql, params = qs.query.get_compiler(connection=connection).as_sql()
    with connection.cursor() as cur:
        return cur.mogrify(sql, params) if hasattr(cur, "mogrify") else _inline(sql, params)


def _inline(sql: str, params) -> str:
    from django.db.backends.sqlite3.operations import DatabaseOperations

    return DatabaseOperations(connection).last_executed_query(None, sql, params)


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "sqlite", reason="INDEXED BY is SQLite syntax")
@pytest.mark.parametrize(
    "index, filters",
    [("case_queue_recent", {"queue": True}), ("case_running_due", {"overdue": True})],
)
def test_queue_and_overdue_queries_can_use_their_partial_index(world, index, filters):
    # SQLite refuses INDEXED BY with "no query solution" when the WHERE clause does not imply
    # the partial index's predicate, so this fails as soon as the filter and index drift apart.
    sql = _page_sql(world.operator_a, **filters)
    forced = sql.replace('FROM "cases_case"', f'FROM "cases_case" INDEXED BY {index}', 1)
    assert forced != sql
    with connection.cursor() as cur:
        cur.execute(forced)
        cur.fetchall()
