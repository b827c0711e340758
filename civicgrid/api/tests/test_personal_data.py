"""Phones through the API are masked; the full number only through a logged reveal.
Source and priority of an API report are the server's to set."""

import json

import pytest

from civicgrid.cases import services as cs
from civicgrid.cases.models import Case, Priority, Source
from civicgrid.console.models import PhoneReveal
from civicgrid.field.tests.conftest import A1
from civicgrid.public import services as public_services

PHONE = "13912345678"


@pytest.fixture
def called(world, cats):
    return cs.case_report(
        actor=None, category=cats.small, description="楼道堆物", lat=A1[0], lng=A1[1],
        reporter_phone=PHONE,
    )  # fmt: skip


def test_case_detail_masks_the_reporters_phone_for_operators(client, world, called):
    client.force_login(world.operator_a)
    body = client.get(f"/api/cases/{called.pk}").json()
    assert body["reporter_phone"] == "139****5678"
    assert PHONE not in json.dumps(body)
    assert not PhoneReveal.objects.exists()


def test_reveal_endpoint_returns_the_number_and_logs_it(client, world, called):
    client.force_login(world.operator_a)
    r = client.post(f"/api/cases/{called.pk}/reveal-phone", REMOTE_ADDR="10.1.2.3")
    assert r.status_code == 200 and r.json()["reporter_phone"] == PHONE
    row = PhoneReveal.objects.get()
    assert (row.user, row.case, row.ip) == (world.operator_a, called, "10.1.2.3")


@pytest.mark.parametrize("who, status", [("leader_a", 403), ("outsider_b", 404)])
def test_reveal_refused_without_the_capacity_or_outside_scope(client, world, called, who, status):
    client.force_login(getattr(world, who))
    r = client.post(f"/api/cases/{called.pk}/reveal-phone")
    assert r.status_code == status and set(r.json()) == {"code", "message", "details"}
    assert not PhoneReveal.objects.exists()


def test_one_key_case_keeps_phones_out_of_the_description(client, world, cats):
    dev, token = public_services.emergency_device_register(
        holder_name="王秀英", address="幸福里3号楼101", lat=A1[0], lng=A1[1],
        phone="13700001111", contact_name="王建国", contact_phone="13700002222",
    )  # fmt: skip
    r = client.post("/api/public/emergency", HTTP_AUTHORIZATION=f"Device {token}")
    case = Case.objects.get(tracking_code=r.json()["tracking_code"])
    for secret in ("13700001111", "13700002222", "王秀英", "王建国"):
        assert secret not in case.description
    assert "137****2222" in case.description
    track = client.get(f"/api/public/track/{case.tracking_code}").content.decode()
    assert "13700001111" not in track and "13700002222" not in track
    client.force_login(world.operator_a)
    body = client.get(f"/api/cases/{case.pk}").json()
    assert "13700001111" not in json.dumps(body, ensure_ascii=False)
    phones = client.post(f"/api/cases/{case.pk}/reveal-phone").json()
    assert phones == {
        "reporter_phone": "13700001111",
        "contact_name": "王建国",
        "contact_phone": "13700002222",
    }


def _report(client, **fields):
    data = {"category": "0401", "description": "垃圾", "lat": A1[0], "lng": A1[1]}
    data.update(fields)
    return client.post("/api/cases/", json.dumps(data), content_type="application/json")


@pytest.mark.parametrize("who", ["citizen", "worker_a1", "handler_a"])
def test_only_operators_set_a_priority(client, world, cats, who):
    client.force_login(getattr(world, who))
    r = _report(client, priority=4)
    assert r.status_code == 403 and r.json()["details"]["field"] == "priority"
    assert not Case.objects.exists()


def test_an_operator_sets_a_priority(client, world, cats):
    client.force_login(world.operator_a)
    r = _report(client, priority=4, reporter_phone=PHONE)
    assert r.status_code == 201, r.content
    assert Case.objects.get().priority == Priority.URGENT


@pytest.mark.parametrize("source", ["one_key", "api"])
def test_channel_sources_are_refused_on_the_rest_api(client, world, cats, source):
    client.force_login(world.citizen)
    r = _report(client, source=source)
    assert r.status_code == 403 and r.json()["details"]["field"] == "source"
    assert not Case.objects.exists()


@pytest.mark.parametrize(
    "who, expected",
    [
        ("citizen", Source.CITIZEN),
        ("worker_a1", Source.GRID_WORKER),
        ("handler_a", Source.DEPARTMENT),
    ],
)
def test_source_follows_the_caller_when_not_given(client, world, cats, who, expected):
    client.force_login(getattr(world, who))
    r = _report(client)
    assert r.status_code == 201, r.content
    assert Case.objects.get().source == expected


def test_a_citizen_cannot_claim_a_staff_source(client, world, cats):
    client.force_login(world.citizen)
    r = _report(client, source="hotline")
    assert r.status_code == 403 and r.json()["details"]["field"] == "source"
