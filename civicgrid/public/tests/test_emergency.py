"""One-key emergency call (一键呼叫): device token → urgent case; repeated presses join it."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from civicgrid.cases import services as case_services
from civicgrid.cases.models import Case, Category, Priority, Source, State
from civicgrid.cases.selectors import case_list_for
from civicgrid.field.tests.conftest import A1, A2
from civicgrid.public import services
from civicgrid.public.models import EmergencyDevice

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]


@pytest.fixture
def device(world):
    dev, token = services.emergency_device_register(
        holder_name="王秀英",
        address="甲社区幸福里3号楼2单元101",
        lat=A1[0],
        lng=A1[1],
        phone="0352-5212345",
        contact_name="王建国",
        contact_phone="13700001234",
    )
    return dev, token


def press(client, token, **extra):
    return client.post("/api/public/emergency", HTTP_AUTHORIZATION=f"Device {token}", **extra)


def test_registration_stores_only_the_hash_and_finds_the_grid(world, device):
    dev, token = device
    assert dev.token_hash == EmergencyDevice.hash_token(token) and token not in dev.token_hash
    assert dev.grid == world.grid_a1


def test_a_press_opens_an_urgent_case_at_the_registered_address(client, world, device):
    dev, token = device
    r = press(client, token)
    assert r.status_code == 201, r.content
    case = Case.objects.get(tracking_code=r.json()["tracking_code"])
    assert case.source == Source.ONE_KEY and case.priority == Priority.URGENT
    assert case.state == State.REPORTED
    assert (case.lat, case.lng) == pytest.approx(A1) and case.grid == world.grid_a1
    assert case.address == dev.address and "王**" in case.description
    assert "王秀英" not in case.description and "5212345" not in case.description
    assert "13700001234" not in case.description and case.reporter_name == "王秀英"
    assert case.reporter_phone == "0352-5212345"
    assert case.category.priority == Priority.URGENT


def test_repeated_presses_within_the_window_join_the_open_case(client, world, device):
    _dev, token = device
    first = press(client, token).json()
    for n in range(2, 6):
        r = press(client, token)
        assert r.status_code == 200 and r.json()["tracking_code"] == first["tracking_code"]
        assert r.json()["presses"] == n
    assert Case.objects.count() == 1


def test_presses_after_the_window_or_after_closing_open_a_new_case(client, world, device):
    _dev, token = device
    first = press(client, token).json()["tracking_code"]
    with time_machine.travel(timezone.now() + services.ONE_KEY_WINDOW + dt.timedelta(minutes=1)):
        later = press(client, token)
    assert later.status_code == 201 and later.json()["tracking_code"] != first
    case = Case.objects.get(tracking_code=later.json()["tracking_code"])
    case_services.case_reject(case=case, actor=world.operator_a, reason="误触")
    with time_machine.travel(timezone.now() + services.ONE_KEY_WINDOW + dt.timedelta(minutes=2)):
        again = press(client, token)
    assert again.status_code == 201
    assert Case.objects.count() == 3


def test_the_window_slides_with_each_press(client, world, device):
    _dev, token = device
    start = timezone.now()
    codes = set()
    for minutes in (0, 20, 40, 60):  # each press within 30 min of the previous one
        with time_machine.travel(start + dt.timedelta(minutes=minutes)):
            codes.add(press(client, token).json()["tracking_code"])
    assert len(codes) == 1


def test_the_call_tops_the_operator_queue(client, world, device, cats):
    for i in range(3):
        case_services.case_report(
            actor=world.worker_a1,
            category=cats.small,
            description=f"普通事件{i}",
            lat=A2[0],
            lng=A2[1],
            source="grid_worker",
        )
    _dev, token = device
    code = press(client, token).json()["tracking_code"]
    page = case_list_for(world.operator_a, state=State.REPORTED)
    top = sorted(page.items, key=lambda c: (-c.priority, -c.reported_at.timestamp()))[0]
    assert top.tracking_code == code
    assert page.items[0].tracking_code == code  # newest first as well


@pytest.mark.parametrize(
    "header", [{}, {"HTTP_AUTHORIZATION": "Device nope"}, {"HTTP_X_DEVICE_TOKEN": "nope"}]
)
def test_unknown_or_missing_tokens_are_refused(client, world, device, header):
    r = client.post("/api/public/emergency", **header)
    assert r.status_code == 401
    assert not Case.objects.exists()


def test_a_disabled_device_is_refused(client, world, device):
    dev, token = device
    EmergencyDevice.objects.filter(pk=dev.pk).update(is_active=False)
    assert press(client, token).status_code == 401


def test_x_device_token_header_works_too(client, world, device):
    _dev, token = device
    r = client.post("/api/public/emergency", HTTP_X_DEVICE_TOKEN=token)
    assert r.status_code == 201


def test_registration_needs_a_callback_number(world):
    from civicgrid.core.errors import DomainError

    with pytest.raises(DomainError) as exc:
        services.emergency_device_register(holder_name="李", address="某处", lat=A1[0], lng=A1[1])
    assert exc.value.field == "phone"
    assert not EmergencyDevice.objects.exists()


def test_a_device_outside_the_territory_is_refused(world):
    from civicgrid.core.errors import DomainError

    with pytest.raises(DomainError) as exc:
        services.emergency_device_register(
            holder_name="李", address="某处", lat=31.2, lng=121.5, phone="13700001111"
        )
    assert exc.value.code == "outside_territory"
    assert not EmergencyDevice.objects.exists()


def test_a_configured_category_is_used(world, device, settings, client):
    parent = Category.objects.create(code="06", name="民生服务")
    Category.objects.create(code="0605", name="紧急求助", parent=parent, priority=Priority.URGENT)
    settings.CIVICGRID = {**settings.CIVICGRID, "ONE_KEY_CATEGORY": "0605"}
    _dev, token = device
    code = press(client, token).json()["tracking_code"]
    assert Case.objects.get(tracking_code=code).category.code == "0605"
