"""Party fixtures: service categories, base-data persons in grid A1 (a CPC member, a resident)
and B1, an organisation, a member with an account, a community operator."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from PIL import Image

from civicgrid.basedata import services as bd_services
from civicgrid.basedata.validators import make_resident_id
from civicgrid.cases.models import Category, HandlingLevel, SlaUnit
from civicgrid.party import services
from civicgrid.party.models import MemberKind, OrgKind
from civicgrid.people.models import Role, RoleAssignment, User

A1 = (40.11, 113.305)
A2 = (40.11, 113.315)
B1 = (40.11, 113.33)


def pid(serial: int, region="140213") -> str:
    import datetime as dt

    return make_resident_id(region, dt.date(1975, 3, 9), serial)


def photo() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (20, 160, 40)).save(buf, format="JPEG")
    return buf.getvalue()


def _cat(code, name, parent, **kw):
    return Category.objects.create(
        code=code,
        name=name,
        parent=parent,
        handling_level=HandlingLevel.VILLAGE,
        response_limit=2,
        handling_limit=14,
        sla_unit=SlaUnit.WORKING,
        **kw,
    )


@pytest.fixture
def pw(world):
    w = world
    street = Category.objects.create(code="04", name="市容环境")
    w.cat_problem = _cat("0401", "乱堆乱放", street, self_closable=True)
    services_class = Category.objects.create(code="06", name="民生服务")
    w.cat_service = _cat("0602", "养老服务需求", services_class)
    private = Category.objects.create(code="07", name="特殊人群", is_private=True)
    w.cat_private = _cat("0701", "独居老人关爱", private)
    w.comm_op = User.objects.create_user(
        username="comm_op", password="pass-Word-123", full_name="甲社区坐席"
    )
    RoleAssignment.objects.create(
        user=w.comm_op, role=Role.OPERATOR, area=w.comm_a, center=w.center_comm_a
    )
    w.house = bd_services.house_create(
        actor=w.operator_a, lat=A1[0], lng=A1[1], address="甲街1号", building="1", room="101"
    )
    w.house2 = bd_services.house_create(
        actor=w.operator_a, lat=A1[0], lng=A1[1] + 0.001, address="甲街2号", building="2",
        room="202",
    )  # fmt: skip
    w.cpc = bd_services.person_create(
        actor=w.operator_a,
        data={"name": "王党员", "id_number": pid(31), "phone": "13900000031", "house": w.house,
              "political_status": "cpc"},
    )  # fmt: skip
    w.resident = bd_services.person_create(
        actor=w.operator_a,
        data={"name": "赵居民", "id_number": pid(32), "house": w.house2},
    )
    w.household = bd_services.household_create(house=w.house2, head=w.resident, actor=w.operator_a)
    w.own_household = bd_services.household_create(house=w.house, head=w.cpc, actor=w.operator_a)
    house_b = bd_services.house_create(
        actor=w.outsider_b, lat=B1[0], lng=B1[1], address="乙街9号", building="3", room="101"
    )
    w.person_b = bd_services.person_create(
        actor=w.outsider_b,
        data={"name": "钱党员", "id_number": pid(41, "140214"), "house": house_b,
              "political_status": "cpc"},
    )  # fmt: skip
    w.branch = services.organisation_create(
        grid=w.grid_a1, kind=OrgKind.BRANCH, name="甲一网格党支部", secretary=w.cpc,
        actor=w.operator_a,
    )  # fmt: skip
    w.member = services.member_add(
        person=w.cpc, kind=MemberKind.MEMBER, organisation=w.branch, actor=w.operator_a
    )
    w.member_user = User.objects.create_user(
        username="pm", password="pass-Word-123", full_name="王党员"
    )
    services.member_link_account(member=w.member, user=w.member_user, actor=w.operator_a)
    services.contact_add(member=w.member, household=w.household, actor=w.operator_a)
    services.central_household_set(member=w.member, household=w.own_household, actor=w.operator_a)
    return w


def order(w, *, at=A1, client_id=None, phone="13800001111"):
    case, _ = services.service_request(
        ip="10.0.0.1",
        category="0602",
        description="老人行动不便，需要上门助餐",
        lat=at[0],
        lng=at[1],
        phone=phone,
        client_id=client_id or "",
    )
    return case


@pytest.fixture
def ns():
    return SimpleNamespace()
