"""Console fixtures on top of the shared ``world``: categories and cases driven through the
engine's services (so a fixture can never reach a state the rules would not allow)."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from PIL import Image

from civicgrid.cases import services
from civicgrid.cases.models import Category, HandlingLevel, SlaUnit, State
from civicgrid.conftest import X0, Y0

A1 = (Y0 + 0.01, X0 + 0.005)  # lat, lng inside grid A1
A2 = (Y0 + 0.01, X0 + 0.015)
B1 = (Y0 + 0.01, X0 + 0.03)


def jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (20, 120, 200)).save(buf, format="JPEG")
    return buf.getvalue()


@pytest.fixture(autouse=True)
def fresh_cache():
    """Counts are cached under (user, data stamp, minute); ids repeat between tests."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def cats(world):
    parent = Category.objects.create(code="04", name="市容环境")
    # County level: district centers own these cases, so operator_a's own queue holds them.
    county = Category.objects.create(
        code="0401",
        name="占道经营",
        parent=parent,
        handling_level=HandlingLevel.COUNTY,
        default_department=world.dept_a,
        response_limit=2,
        handling_limit=24,
        sla_unit=SlaUnit.NATURAL,
    )
    village = Category.objects.create(
        code="0402",
        name="乱堆乱放",
        parent=parent,
        handling_level=HandlingLevel.VILLAGE,
        response_limit=2,
        handling_limit=24,
        sla_unit=SlaUnit.NATURAL,
        self_closable=True,
    )
    other = Category.objects.create(code="05", name="公共设施")
    lamp = Category.objects.create(
        code="0501",
        name="路灯损坏",
        parent=other,
        handling_level=HandlingLevel.COUNTY,
        response_limit=4,
        handling_limit=48,
        sla_unit=SlaUnit.NATURAL,
    )
    return SimpleNamespace(parent=parent, county=county, village=village, lamp=lamp)


def new_case(world, cats, *, at=A1, category=None, actor=None, **kw):
    """A hotline report by the operator who covers the place (district A or B)."""
    if actor is None:
        actor = world.outsider_b if at == B1 else world.operator_a
    kw.setdefault("reporter_name", "王先生")
    kw.setdefault("reporter_phone", "13912345678")
    return services.case_report(
        actor=actor,
        category=category or cats.county,
        description=kw.pop("description", "商贩占道经营，影响通行"),
        lat=at[0],
        lng=at[1],
        source="hotline",
        **kw,
    )


def drive(world, cats, state: str, *, case=None, **kw):
    """A district-A case moved to ``state`` along the usual path, through the services."""
    w = world
    case = case or new_case(world, cats, **kw)
    op = w.operator_a if case.scope_code.startswith("140213") else w.outsider_b
    if state == State.REPORTED:
        return case
    services.case_accept(case=case, actor=op, category=case.category, priority=2)
    if state == State.FILED:
        return case
    dept = w.dept_a if op == w.operator_a else w.dept_b
    services.case_dispatch(case=case, actor=op, department=dept)
    if state == State.ASSIGNED:
        return case
    services.case_sign(case=case, actor=w.handler_a)
    if state == State.IN_PROGRESS:
        return case
    services.case_submit(case=case, actor=w.handler_a, result="已清理", attachments=[jpeg()])
    if state == State.HANDLED:
        return case
    services.case_verify(case=case, actor=op, note="核查属实")
    assert state == State.CLOSED
    return case


@pytest.fixture
def cases(world, cats):
    """One case per interesting state in district A, and one reported case in district B."""
    return SimpleNamespace(
        reported=drive(world, cats, State.REPORTED, description="待受理的案件"),
        filed=drive(world, cats, State.FILED, description="待派遣的案件"),
        assigned=drive(world, cats, State.ASSIGNED, at=A2, description="待签收的案件"),
        in_progress=drive(world, cats, State.IN_PROGRESS, description="处置中的案件"),
        handled=drive(world, cats, State.HANDLED, description="待核查的案件"),
        closed=drive(world, cats, State.CLOSED, description="已结案的案件"),
        other=new_case(world, cats, at=B1, description="乙区的案件"),
    )
