"""Shared test world: a small city with two districts and one persona per role.

City 140200000000 (测试市) ─┬─ district A 140213000000 ─ street A1 140213001000 ─ community
                            │     140213001001 with grids A1 (…001001001) and A2 (…001001002)
                            └─ district B 140214000000 ─ street B1 140214001000 ─ community
                                  140214001001 with grid B1 (…001001001)
Personas: operator_a (district A center), handler_a (城管 of district A), worker_a1 (grid A1),
chief_a (street A1), leader_a (district A), admin (city), outsider_b (operator of district B),
citizen.
"""

import datetime as dt
from types import SimpleNamespace

import pytest
import time_machine
from shapely.geometry import box

from civicgrid.people.models import Role
from civicgrid.people.tests.factories import (
    CenterFactory,
    DepartmentFactory,
    UserFactory,
    add_member,
    assign,
)
from civicgrid.territory.tests.factories import AreaFactory, GridFactory

X0, Y0 = 113.30, 40.10  # lng, lat of the city's south-west corner


@pytest.fixture(autouse=True)
def _fresh_locate_index():
    """Tests roll back without signals, so drop the process-wide Locate index around each test."""
    from civicgrid.territory import spatial

    spatial.reset()
    yield
    spatial.reset()


@pytest.fixture
def world(db):
    city = AreaFactory(code="140200000000", name="测试市", geom=box(X0, Y0, X0 + 0.04, Y0 + 0.02))
    dist_a = AreaFactory(
        code="140213000000", name="甲区", parent=city, geom=box(X0, Y0, X0 + 0.02, Y0 + 0.02)
    )
    dist_b = AreaFactory(
        code="140214000000", name="乙区", parent=city, geom=box(X0 + 0.02, Y0, X0 + 0.04, Y0 + 0.02)
    )
    street_a = AreaFactory(
        code="140213001000", name="甲街道", parent=dist_a, geom=box(X0, Y0, X0 + 0.02, Y0 + 0.02)
    )
    street_b = AreaFactory(
        code="140214001000",
        name="乙街道",
        parent=dist_b,
        geom=box(X0 + 0.02, Y0, X0 + 0.04, Y0 + 0.02),
    )
    comm_a = AreaFactory(
        code="140213001001", name="甲社区", parent=street_a, geom=box(X0, Y0, X0 + 0.02, Y0 + 0.02)
    )
    comm_b = AreaFactory(
        code="140214001001",
        name="乙社区",
        parent=street_b,
        geom=box(X0 + 0.02, Y0, X0 + 0.04, Y0 + 0.02),
    )
    grid_a1 = GridFactory(
        area=comm_a, code="140213001001001", name="甲一网格", geom=box(X0, Y0, X0 + 0.01, Y0 + 0.02)
    )
    grid_a2 = GridFactory(
        area=comm_a,
        code="140213001001002",
        name="甲二网格",
        geom=box(X0 + 0.01, Y0, X0 + 0.02, Y0 + 0.02),
    )
    grid_b1 = GridFactory(
        area=comm_b,
        code="140214001001001",
        name="乙一网格",
        geom=box(X0 + 0.02, Y0, X0 + 0.04, Y0 + 0.02),
    )

    center_city = CenterFactory(area=city)
    center_a = CenterFactory(area=dist_a)
    center_b = CenterFactory(area=dist_b)
    center_street_a = CenterFactory(area=street_a)
    center_comm_a = CenterFactory(area=comm_a)
    dept_a = DepartmentFactory(code="A-CG", name="甲区城管局", area=dist_a)
    dept_b = DepartmentFactory(code="B-CG", name="乙区城管局", area=dist_b)

    operator_a = UserFactory(username="operator_a", full_name="甲区坐席")
    assign(operator_a, Role.OPERATOR, dist_a, center=center_a)
    handler_a = UserFactory(username="handler_a", full_name="甲区城管")
    assign(handler_a, Role.HANDLER, dist_a, department=dept_a)
    worker_a1 = UserFactory(username="worker_a1", full_name="甲一网格员")
    assign(worker_a1, Role.GRID_WORKER, comm_a)
    add_member(worker_a1, grid_a1)
    chief_a = UserFactory(username="chief_a", full_name="甲街道网格长")
    assign(chief_a, Role.GRID_CHIEF, street_a)
    leader_a = UserFactory(username="leader_a", full_name="甲区领导")
    assign(leader_a, Role.LEADER, dist_a)
    admin = UserFactory(username="admin", full_name="系统管理员", is_staff=True)
    assign(admin, Role.ADMIN, city)
    outsider_b = UserFactory(username="outsider_b", full_name="乙区坐席")
    assign(outsider_b, Role.OPERATOR, dist_b, center=center_b)
    citizen = UserFactory(username="citizen", full_name="群众")

    return SimpleNamespace(
        city=city,
        dist_a=dist_a,
        dist_b=dist_b,
        street_a=street_a,
        street_b=street_b,
        comm_a=comm_a,
        comm_b=comm_b,
        grid_a1=grid_a1,
        grid_a2=grid_a2,
        grid_b1=grid_b1,
        center_city=center_city,
        center_a=center_a,
        center_b=center_b,
        center_street_a=center_street_a,
        center_comm_a=center_comm_a,
        dept_a=dept_a,
        dept_b=dept_b,
        operator_a=operator_a,
        handler_a=handler_a,
        worker_a1=worker_a1,
        chief_a=chief_a,
        leader_a=leader_a,
        admin=admin,
        outsider_b=outsider_b,
        citizen=citizen,
    )


# A Wednesday morning in an ordinary working week (no holiday near it, calendar data known), so
# deadlines in working hours, "today" periods and SLA lights never depend on when the suite runs.
FROZEN_AT = dt.datetime(2025, 6, 11, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@pytest.fixture
def frozen_clock():
    """Stop the clock at ``FROZEN_AT`` for the test: every comparison with "now" is exact.

    Tests that need time to pass travel further from it (``time_machine.travel(...)``).
    """
    with time_machine.travel(FROZEN_AT, tick=False):
        yield FROZEN_AT


@pytest.fixture
def stopped_clock():
    """Stop the clock where it is now (for browser tests, whose cookies need today's date)."""
    from django.utils import timezone

    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller
