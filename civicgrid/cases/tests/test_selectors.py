"""Visibility, the filtered case list with cursor pagination, duplicates and the timeline."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from civicgrid.cases import selectors, services
from civicgrid.cases.models import State
from civicgrid.core.errors import DomainError, NotFound

from .conftest import A1, A2, B1, drive, report

pytestmark = pytest.mark.usefixtures("frozen_clock")


@pytest.fixture
def spread(world, cats):
    """Cases in A1 (reported by the worker), A2, B1 (by the citizen) and one dispatched."""
    a1 = report(world, cats, at=A1)
    a2 = report(world, cats, at=A2, actor=world.citizen, source="citizen")
    b1 = report(world, cats, at=B1, actor=world.citizen, source="citizen")
    disp = drive(world, cats, State.ASSIGNED, at=A2)
    return {"a1": a1, "a2": a2, "b1": b1, "disp": disp}


EXPECTED = {
    "operator_a": {"a1", "a2", "disp"},
    "handler_a": {"disp"},
    "worker_a1": {"a1", "disp"},  # disp lies in A2 but they reported it
    "chief_a": {"a1", "a2", "disp"},
    "leader_a": {"a1", "a2", "disp"},
    "admin": {"a1", "a2", "b1", "disp"},
    "outsider_b": {"b1"},
    "citizen": {"a2", "b1"},
}


@pytest.mark.parametrize("persona", sorted(EXPECTED))
def test_list_and_detail_are_scoped(world, spread, persona):
    user = getattr(world, persona)
    page = selectors.case_list_for(user)
    got = {k for k, c in spread.items() if c in page.items}
    assert got == EXPECTED[persona]
    assert len(page.items) == len(EXPECTED[persona])
    for key, case in spread.items():
        if key in EXPECTED[persona]:
            assert selectors.case_get_for(user, case.tracking_code).pk == case.pk
        else:
            with pytest.raises(NotFound):
                selectors.case_get_for(user, case.pk)


def test_cursor_pagination_walks_every_case_once(world, cats):
    base = timezone.now() - dt.timedelta(days=1)
    for i in range(7):
        with time_machine.travel(base + dt.timedelta(minutes=i // 2), tick=False):
            report(world, cats)  # pairs share a timestamp: the id breaks the tie
    seen, cursor = [], None
    while True:
        page = selectors.case_list_for(world.operator_a, cursor=cursor, limit=3)
        seen += [c.pk for c in page.items]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert len(seen) == 7 == len(set(seen))
    assert seen == sorted(seen, reverse=True)


def test_bad_cursor_names_the_field(world):
    with pytest.raises(DomainError) as exc:
        selectors.case_list_for(world.operator_a, cursor="!!!")
    assert exc.value.field == "cursor"


def test_filters(world, cats, spread):
    op = world.operator_a
    q = selectors.case_queryset_for
    assert set(q(op, state="assigned")) == {spread["disp"]}
    assert set(q(op, grid=world.grid_a1.code)) == {spread["a1"]}
    assert set(q(op, area=world.comm_a.code)) == {spread["a1"], spread["a2"], spread["disp"]}
    assert set(q(op, source="citizen")) == {spread["a2"]}
    assert set(q(op, category="04")) == set(q(op))
    assert not q(op, category="0402").exists()
    assert set(q(op, text=spread["a1"].tracking_code.lower())) == {spread["a1"]}
    assert set(q(op, department=world.dept_a.pk)) == {spread["disp"]}
    assert not q(op, overdue=True).exists()
    with time_machine.travel(timezone.now() + dt.timedelta(days=10)):
        assert set(q(op, overdue=True)) == {spread["a1"], spread["a2"], spread["disp"]}
    with pytest.raises(DomainError) as exc:
        list(q(op, state="nonsense"))
    assert exc.value.field == "state"


def test_operator_default_queue_is_own_centers_waiting_cases(world, cats, spread):
    from civicgrid.people.models import Role
    from civicgrid.people.tests.factories import UserFactory, assign

    village_op = UserFactory(username="village_op")
    assign(village_op, Role.OPERATOR, world.comm_a, center=world.center_comm_a)
    queue = selectors.case_queryset_for(village_op, queue=True)
    assert set(queue) == {spread["a1"], spread["a2"]}  # disp is assigned: not waiting
    assert not selectors.case_queryset_for(world.operator_a, queue=True).exists()


def test_list_query_count_is_constant(world, cats):
    for _ in range(5):
        drive(world, cats, State.ASSIGNED)
    with CaptureQueriesContext(connection) as ctx:
        page = selectors.case_list_for(world.operator_a)
        for c in page.items:
            str(c.category), str(c.department), c.grid and c.grid.code
    assert len(ctx.captured_queries) <= 4


def test_duplicates_same_category_within_100m_and_72h(world, cats):
    lat, lng = A1
    base = report(world, cats, at=(lat, lng))
    near = report(world, cats, at=(lat + 0.0005, lng))  # ~55 m north
    far = report(world, cats, at=(lat + 0.0015, lng))  # ~167 m
    other_cat = report(world, cats, at=(lat, lng), category=cats.big, attachments=[_photo()])
    closed = drive(world, cats, State.CLOSED, at=(lat, lng))
    with time_machine.travel(timezone.now() - dt.timedelta(hours=80)):
        old = report(world, cats, at=(lat, lng))
    found = selectors.case_duplicates_of(base)
    cases = [c for c, _d in found]
    assert near in cases
    for c in (far, other_cat, closed, old, base):
        assert c not in cases
    dist = dict((c.pk, d) for c, d in found)[near.pk]
    assert 50 < dist < 60


def _photo():
    from .conftest import photo

    return photo()


def test_public_timeline_hides_staff_names_and_internal_notes(world, cats):
    case = drive(world, cats, State.CLOSED)
    services.case_comment(case=case, actor=world.operator_a, text="内部：该户有纠纷史")
    public = selectors.case_timeline(case, public=True)
    assert all(r["actor"] is None for r in public)
    assert not any("纠纷史" in r["note"] for r in public)
    assert [r["action"] for r in public][:2] == ["report", "accept"]
    staff = selectors.case_timeline(case)
    assert any(r["actor"] == str(world.operator_a) for r in staff)
    assert any("纠纷史" in r["note"] for r in staff)


def test_code_shaped_q_matches_the_code_first_then_falls_back_to_text(world, cats):
    target = report(world, cats)
    quoting = report(world, cats)
    Case = type(target)
    Case.objects.filter(pk=quoting.pk).update(description=f"同 {target.tracking_code} 重复")
    q = selectors.case_queryset_for
    assert list(q(world.operator_a, text=target.tracking_code.lower())) == [target]
    # A code-shaped word that is no case's code still searches the text.
    unknown = "ABCDEFGHJK23"
    assert unknown != target.tracking_code
    Case.objects.filter(pk=quoting.pk).update(description=f"见 {unknown}")
    assert list(q(world.operator_a, text=unknown)) == [quoting]
    # Outside the caller's scope the code is not found: the text search decides (nothing).
    assert not q(world.outsider_b, text=target.tracking_code).exists()


def test_list_page_reads_ids_first_and_no_heavy_columns(world, cats):
    from civicgrid.cases.api import _summary

    for _ in range(3):
        drive(world, cats, State.ASSIGNED)
    with CaptureQueriesContext(connection) as ctx:
        page = selectors.case_list_for(world.operator_a, limit=2)
    sql = ctx.captured_queries[-1]["sql"]
    assert sql.count("SELECT") == 2 and " IN (SELECT" in sql  # ids subquery, then the rows
    for column in ("boundary", '"result"', "rating_text", "password", "reporter_phone"):
        assert column not in sql
    with CaptureQueriesContext(connection) as ctx:
        rows = [_summary(c) for c in page.items]  # everything a list row shows is loaded
    assert not ctx.captured_queries
    assert [r["id"] for r in rows] == [c.pk for c in page.items] and rows[0]["department"]
