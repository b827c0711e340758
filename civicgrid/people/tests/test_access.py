"""The access layer: one Principal per request, capacities and visibility without queries, one
definition of "my centers", recipients in one query each."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from civicgrid.cases.models import Case, State
from civicgrid.cases.tests.conftest import A1, A2, B1, cats, drive, report  # noqa: F401
from civicgrid.people.access import (
    Principal,
    handlers_over,
    leaders_over,
    operators_of_center,
    principal_of,
)
from civicgrid.people.models import Role, User
from civicgrid.people.tests.factories import assign

PERSONAS = [
    "operator_a",
    "handler_a",
    "worker_a1",
    "chief_a",
    "leader_a",
    "admin",
    "outsider_b",
    "citizen",
]


def _assignment_queries(captured) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if "people_roleassignment" in q["sql"]]


@pytest.fixture
def spread(world, cats):  # noqa: F811
    return [
        report(world, cats, at=A1),
        report(world, cats, at=A2, actor=world.citizen, source="citizen"),
        report(world, cats, at=B1, actor=world.citizen, source="citizen"),
        drive(world, cats, State.ASSIGNED, at=A2),
        drive(world, cats, State.IN_PROGRESS, at=A1),
    ]


@pytest.mark.parametrize("persona", PERSONAS)
def test_principal_costs_one_assignment_query_and_memberships_only_for_grid_workers(
    world, persona, django_assert_num_queries
):
    user = User.objects.get(pk=getattr(world, persona).pk)
    expected = 2 if persona == "worker_a1" else 1
    with django_assert_num_queries(expected):
        p = Principal.of(user)
        p.case_visible_q()
        p.prefixes()
        p.centers  # noqa: B018
        p.handler_pairs  # noqa: B018


@pytest.mark.parametrize("persona", PERSONAS)
def test_capacities_and_can_view_need_no_query_and_match_the_visibility_q(
    world, spread, persona, django_assert_num_queries
):
    p = Principal.of(User.objects.get(pk=getattr(world, persona).pk))
    cases = list(Case.objects.all())
    with django_assert_num_queries(0):
        seen = {c.pk: p.can_view(c) for c in cases}
        caps = {c.pk: p.capacities(c) for c in cases}
    visible = set(Case.objects.filter(p.case_visible_q()).values_list("pk", flat=True))
    assert {pk for pk, ok in seen.items() if ok} == visible
    # A capacity implies visibility (nobody acts on a case they cannot see).
    assert all(pk in visible for pk, c in caps.items() if c)


def test_grid_worker_capacity_comes_from_the_membership(world, spread):
    p = Principal.of(world.worker_a1)
    in_a1 = next(c for c in spread if c.grid_id == world.grid_a1.pk)
    in_a2 = next(c for c in spread if c.grid_id == world.grid_a2.pk and c.reporter_id != p.pk)
    assert "grid_worker" in p.capacities(in_a1)
    assert "grid_worker" not in p.capacities(in_a2)


def test_anonymous_and_inactive_see_nothing(world, spread):
    from django.contrib.auth.models import AnonymousUser

    world.operator_a.is_active = False
    for who in (None, AnonymousUser(), world.operator_a):
        p = Principal.of(who)
        assert not Case.objects.filter(p.case_visible_q()).exists()
        assert not any(p.can_view(c) or p.capacities(c) for c in spread)


def test_an_operator_assigned_by_area_gets_the_same_queue_everywhere(world, cats):  # noqa: F811
    """Assigned to the community without naming its center: the community's center is theirs
    in the API queue, the console queue and the notifications alike."""
    by_area = User.objects.create_user("by_area", password="x")
    assign(by_area, Role.OPERATOR, world.comm_a)
    case = report(world, cats, at=A1)  # a village-level case: the community's center owns it
    assert case.owner_id == world.center_comm_a.pk
    p = Principal.of(by_area)
    assert p.centers == (world.center_comm_a.pk,)
    client = Client()
    client.force_login(by_area)
    api = client.get("/api/cases/", {"queue": "true"}).json()
    assert [row["id"] for row in api["items"]] == [case.pk]
    html = client.get("/console/cases/", {"queue": "operator:reported", "scope": "mine"})
    assert case.tracking_code in html.content.decode()
    assert operators_of_center(world.center_comm_a.pk) == [by_area]
    assert operators_of_center(world.center_a.pk) == [world.operator_a]


def test_recipients_are_one_query_each(world, django_assert_num_queries):
    code = world.grid_a1.code + "001"
    with django_assert_num_queries(1):
        assert handlers_over(world.dept_a.pk, code) == [world.handler_a]
    with django_assert_num_queries(1):
        assert leaders_over(code) == [world.leader_a]
    with django_assert_num_queries(1):
        assert operators_of_center(world.center_a.pk) == [world.operator_a]
    assert handlers_over(world.dept_a.pk, world.grid_b1.code) == []
    assert leaders_over(world.grid_b1.code) == []


def test_principal_of_a_request_is_built_once(world, rf):
    request = rf.get("/")
    request.user = world.operator_a
    assert principal_of(request).user is world.operator_a


@pytest.mark.parametrize("persona", ["operator_a", "worker_a1", "handler_a", "leader_a"])
def test_api_list_reads_the_assignments_once_per_request(world, spread, persona):
    client = Client()
    client.force_login(getattr(world, persona))
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/api/cases/").status_code == 200
    assert len(_assignment_queries(captured)) == 1


@pytest.mark.parametrize("persona", ["operator_a", "worker_a1", "chief_a", "leader_a"])
def test_console_home_reads_the_assignments_once_per_request(world, spread, persona):
    client = Client()
    client.force_login(getattr(world, persona))
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/").status_code == 200
    assert len(_assignment_queries(captured)) == 1
