"""Fixtures for the case engine: categories on top of the shared ``world`` and a helper that
drives a case into any state through the engine itself (so fixtures cannot drift from rules)."""

from __future__ import annotations

import datetime as dt
import io
from types import SimpleNamespace

import pytest
from django.utils import timezone
from PIL import Image

from civicgrid.cases import services
from civicgrid.cases.models import Category, HandlingLevel, SlaUnit, State
from civicgrid.conftest import X0, Y0

A1 = (Y0 + 0.01, X0 + 0.005)  # lat, lng inside grid A1
A2 = (Y0 + 0.01, X0 + 0.015)  # inside grid A2
B1 = (Y0 + 0.01, X0 + 0.03)  # inside grid B1


def jpeg_bytes(size=(64, 48), color=(200, 30, 30), exif=None) -> bytes:
    buf = io.BytesIO()
    img = Image.new("RGB", size, color)
    if exif is not None:
        img.save(buf, format="JPEG", exif=exif)
    else:
        img.save(buf, format="JPEG")
    return buf.getvalue()


@pytest.fixture
def cats(world):
    parent = Category.objects.create(code="04", name="市容环境")
    small = Category.objects.create(
        code="0401",
        name="乱堆乱放",
        parent=parent,
        handling_level=HandlingLevel.VILLAGE,
        default_department=world.dept_a,
        response_limit=2,
        handling_limit=14,
        sla_unit=SlaUnit.WORKING,
        self_closable=True,
    )
    big = Category.objects.create(
        code="0402",
        name="违章建筑",
        parent=parent,
        handling_level=HandlingLevel.COUNTY,
        response_limit=4,
        handling_limit=48,
        sla_unit=SlaUnit.NATURAL,
        photo_required=True,
    )
    return SimpleNamespace(parent=parent, small=small, big=big)


def report(world, cats, *, at=A1, category=None, actor=None, **kw):
    kw.setdefault("source", "grid_worker" if actor is None else kw.get("source", "citizen"))
    if actor is None:
        actor = world.worker_a1
    return services.case_report(
        actor=actor,
        category=category or cats.small,
        description="楼道堆放杂物，影响通行",
        lat=at[0],
        lng=at[1],
        **kw,
    )


def photo():
    return jpeg_bytes()


def drive(world, cats, state: str, *, case=None, **kw):
    """A case in ``state``, reached through the engine along the usual path."""
    w = world
    case = case or report(world, cats, **kw)
    if state == State.REPORTED:
        return case
    if state == State.REJECTED:
        services.case_reject(case=case, actor=w.operator_a, reason="不属于受理范围")
        return case
    if state == State.MERGED:
        other = report(world, cats)
        services.case_merge(case=case, actor=w.operator_a, target=other)
        return case
    services.case_accept(case=case, actor=w.operator_a, category=case.category, priority=2)
    if state == State.FILED:
        return case
    services.case_dispatch(case=case, actor=w.operator_a, department=w.dept_a)
    if state == State.ASSIGNED:
        return case
    services.case_sign(case=case, actor=w.handler_a)
    if state == State.IN_PROGRESS:
        return case
    if state == State.SUSPENDED:
        services.case_suspend_request(
            case=case,
            actor=w.handler_a,
            reason="需要专项资金",
            review_date=timezone.localdate() + dt.timedelta(days=30),
        )
        services.case_suspend_approve(case=case, actor=w.operator_a)
        return case
    services.case_submit(case=case, actor=w.handler_a, result="已清理", attachments=[photo()])
    if state == State.HANDLED:
        return case
    services.case_verify(case=case, actor=w.operator_a, note="核查属实")
    assert state == State.CLOSED
    return case


@pytest.fixture
def co(world):
    """主办/协办 and 吹哨报到: two more departments of district A with a handler each, and an
    operator of street A's (township) center."""
    from civicgrid.people.models import Role
    from civicgrid.people.tests.factories import DepartmentFactory, UserFactory, assign

    a2 = DepartmentFactory(code="A-SW", name="甲区水务局", area=world.dist_a)
    a3 = DepartmentFactory(code="A-HB", name="甲区环保局", area=world.dist_a)
    h2 = UserFactory(username="handler_a2", full_name="甲区水务")
    assign(h2, Role.HANDLER, world.dist_a, department=a2)
    h3 = UserFactory(username="handler_a3", full_name="甲区环保")
    assign(h3, Role.HANDLER, world.dist_a, department=a3)
    comm = UserFactory(username="comm_op", full_name="甲社区坐席")
    assign(comm, Role.OPERATOR, world.comm_a, center=world.center_comm_a)
    town = UserFactory(username="town_op", full_name="甲街道坐席")
    assign(town, Role.OPERATOR, world.street_a, center=world.center_street_a)
    return SimpleNamespace(a2=a2, a3=a3, h2=h2, h3=h3, town=town)


@pytest.fixture(autouse=True)
def _fresh_calendar():
    """The holiday cache outlives a test's rolled-back rows; start and leave it empty."""
    from civicgrid.cases import calendar

    calendar.clear_cache()
    yield
    calendar.clear_cache()
