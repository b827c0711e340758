"""The mediation test world: the shared world plus bodies, mediators, a police department and
helpers that drive a dispute to any state through the engine."""

import datetime as dt

import pytest

from civicgrid.basedata.validators import make_resident_id
from civicgrid.mediation import services
from civicgrid.mediation.models import BodyKind, DisputeState, MediationBody, Mediator, MediatorKind
from civicgrid.mediation.workflow import DISPUTES
from civicgrid.people.models import Role
from civicgrid.people.tests.factories import DepartmentFactory, UserFactory, assign

S = DisputeState
ALL_CAPS = ("center", "mediator", "grid_worker", "leader", "system")


def pid(serial: int, region="140213") -> str:
    return make_resident_id(region, dt.date(1975, 3, 9), serial)


@pytest.fixture
def med(world):
    w = world
    w.body_a = MediationBody.objects.create(
        center=w.center_a, name="甲区人民调解委员会", kind=BodyKind.PEOPLES
    )
    w.body_comm = MediationBody.objects.create(
        center=w.center_comm_a, name="甲社区人民调解委员会", kind=BodyKind.PEOPLES
    )
    w.body_b = MediationBody.objects.create(
        center=w.center_b, name="乙区人民调解委员会", kind=BodyKind.PEOPLES
    )
    w.mediator_user = UserFactory(username="mediator_a", full_name="王调解")
    w.mediator_a = Mediator.objects.create(
        body=w.body_a,
        user=w.mediator_user,
        name="王调解",
        kind=MediatorKind.FULL_TIME,
        specialties=["neighbour", "family"],
    )
    w.elder = Mediator.objects.create(body=w.body_comm, name="李老", kind=MediatorKind.ELDER)
    w.other_mediator_user = UserFactory(username="mediator_b", full_name="赵调解")
    w.mediator_b = Mediator.objects.create(
        body=w.body_b, user=w.other_mediator_user, name="赵调解", kind=MediatorKind.LAWYER
    )
    w.police_a = DepartmentFactory(code="140213-GA", name="甲区公安分局", area=w.dist_a)
    w.police_handler = UserFactory(username="police_a", full_name="甲区民警")
    assign(w.police_handler, Role.HANDLER, w.dist_a, department=w.police_a)
    # The district A center staff (operator_a) holds the registrations of these tests.
    return w


def register(w, *, actor=None, **kw):
    data = dict(
        actor=actor or w.operator_a,
        source="visit",
        kind="neighbour",
        title="楼上漏水纠纷",
        facts="楼上住户卫生间漏水，楼下住户要求赔偿。",
        parties=[
            {"role": "applicant", "name": "张三"},
            {"role": "respondent", "name": "李四"},
        ],
        grid=w.grid_a1,
        center=w.center_a,
    )
    data.update(kw)
    return services.dispute_register(**data)


def act(d, action, actor=None, **inputs):
    return DISPUTES.act(obj=d, action=action, actor=actor, extra_caps=ALL_CAPS, inputs=inputs)


def to_state(w, state: str):
    """A dispute of district A's center brought to ``state`` through the engine."""
    d = register(w)
    if state == S.REGISTERED:
        return d
    if state == S.WITHDRAWN:
        act(d, "withdraw", w.operator_a, reason="双方自行和解")
        return d
    act(d, "triage", w.operator_a, body=w.body_a.pk, reason="邻里纠纷", mediator=w.mediator_a.pk)
    if state == S.TRIAGED:
        return d
    act(d, "start", w.operator_a)
    if state == S.MEDIATING:
        return d
    if state == S.REFERRED:
        act(d, "fail", w.operator_a, route="litigation", note="建议向法院起诉")
        return d
    act(
        d,
        "agree",
        w.operator_a,
        terms="赔偿2000元",
        amount="2000",
        fulfil_by=dt.date.today() + dt.timedelta(days=10),
    )
    if state == S.AGREED:
        return d
    act(d, "fulfil", w.operator_a, note="已当面支付")
    if state == S.FULFILLED:
        return d
    act(d, "visit", w.operator_a, note="双方满意", fulfilled=True, satisfied=True)
    act(d, "archive", w.operator_a)
    assert state == S.ARCHIVED
    return d
