"""Every privileged change appends an event: who, from where, what, before/after."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.urls import reverse

from civicgrid.analytics import services as analytics_services
from civicgrid.api.models import ApiToken
from civicgrid.audit.context import acting_as
from civicgrid.audit.models import AuditEvent
from civicgrid.cases.models import AdmissionItem, Category, Holiday
from civicgrid.cases.tests.conftest import report
from civicgrid.people.models import Role, RoleAssignment
from civicgrid.people.tests.factories import UserFactory
from civicgrid.territory import services as territory
from civicgrid.territory.io import export_territory, import_territory

pytestmark = pytest.mark.django_db


def last(**filters) -> AuditEvent:
    return AuditEvent.objects.filter(**filters).order_by("-seq").first()


def test_grid_edit_records_before_and_after_and_the_actor(world):
    territory.grid_update(grid=world.grid_a1, actor=world.admin, name="甲一网格（改）")
    e = last(object_type="territory.grid", object_id=str(world.grid_a1.pk))
    assert e.action == "update"
    assert e.before == {"name": "甲一网格"} and e.after == {"name": "甲一网格（改）"}


def test_deleting_a_grid_keeps_its_last_image(world):
    territory.grid_delete(grid=world.grid_a2, actor=world.admin)
    e = last(object_type="territory.grid", action="delete")
    assert e.before["code"] == world.grid_a2.code and e.after is None
    assert e.before["boundary"]["bytes"] > 0  # the boundary summarised, not dumped


def test_territory_import_is_one_event_listing_the_changes(world):
    doc = json.loads(export_territory(fmt="geojson", actor=world.admin))
    a1 = next(f for f in doc["features"] if f["properties"]["code"] == world.grid_a1.code)
    a1["properties"].update(name="甲一网格（新）")
    plan = import_territory(json.dumps(doc).encode(), actor=world.admin, dry_run=False)
    assert plan.applied
    e = last(action="import", object_type="territory.import")
    assert e.actor_id == world.admin.pk
    assert e.after["counts"] == {"grid": {"create": 0, "update": 1}}
    assert e.after["changes"][0]["fields"]["name"] == ["甲一网格", "甲一网格（新）"]


def test_role_assignment_and_user_changes(world):
    ra = RoleAssignment.objects.create(user=world.citizen, role=Role.OPERATOR, area=world.dist_a)
    e = last(object_type="people.roleassignment")
    assert e.action == "create" and e.after["role"] == "operator"
    assert e.after["area_id"] == world.dist_a.pk
    ra.delete()
    assert last(object_type="people.roleassignment").action == "delete"


def test_password_change_is_recorded_without_the_hash_and_phone_masked(world):
    user = world.citizen
    user.set_password("a new long password")
    user.phone = "13912345678"
    user.save()
    e = last(object_type="people.user", object_id=str(user.pk))
    assert set(e.after) == {"password", "phone"}
    assert e.after["password"].startswith("sha256:") and user.password not in json.dumps(e.after)
    assert e.before["password"] != e.after["password"]
    assert e.after["phone"] == "139****5678"


def test_sign_in_alone_records_a_login_not_a_user_change(client, world):
    world.citizen.set_password("long enough pw 1")
    world.citizen.save()
    before = AuditEvent.objects.count()
    client.post(
        reverse("login"),
        {"username": "citizen", "password": "long enough pw 1"},
        REMOTE_ADDR="192.0.2.7",
    )
    events = list(AuditEvent.objects.filter(seq__gt=before).order_by("seq"))
    assert [e.action for e in events] == ["login"]
    assert (events[0].actor_id, events[0].ip) == (world.citizen.pk, "192.0.2.7")


def test_failed_sign_in_records_the_attempted_name_and_address(client, world):
    client.post(
        reverse("login"), {"username": "operator_a", "password": "wrong"}, REMOTE_ADDR="192.0.2.8"
    )
    e = last(action="login_failed")
    assert (e.object_repr, e.ip, e.actor_id) == ("operator_a", "192.0.2.8", None)
    assert "wrong" not in json.dumps(e.details)


def test_logout_is_recorded(client, world):
    client.force_login(world.operator_a)
    client.post(reverse("logout"))
    assert last(action="logout").actor_id == world.operator_a.pk


def test_admin_edit_of_a_category_names_the_admin_and_the_sla_change(client, world):
    world.admin.is_superuser = True
    world.admin.save()
    cat = Category.objects.create(code="0101", name="市容", handling_limit=5, response_limit=1)
    client.force_login(world.admin)
    url = reverse("admin:cases_category_change", args=[cat.pk])
    page = client.get(url)
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update(name="市容环境", handling_limit="3", response_limit="1")
    data = {
        k: ("on" if v is True else v)
        for k, v in data.items()
        if v is not False and not isinstance(v, list | dict)
    }
    response = client.post(url, data, REMOTE_ADDR="198.51.100.4")
    assert response.status_code == 302, response.content[:2000]
    e = last(object_type="cases.category", action="update")
    assert (e.actor_id, e.actor_label, e.ip) == (world.admin.pk, "admin", "198.51.100.4")
    assert e.before["name"] == "市容" and e.after["name"] == "市容环境"
    assert e.before["handling_limit"] == "5" and e.after["handling_limit"] == "3"


def test_configuration_rows_admission_and_holidays(world):
    with acting_as(world.admin):
        AdmissionItem.objects.create(department=world.dept_a, code="A-1", name="占道经营")
        h = Holiday.objects.create(date=dt.date(2026, 10, 1), name="国庆节")
        h.delete()
    assert last(object_type="cases.admissionitem").actor_id == world.admin.pk
    assert [e.action for e in AuditEvent.objects.filter(object_type="cases.holiday")] == [
        "delete",
        "create",
    ]


def test_api_token_issue_and_revocation(world):
    row, token = ApiToken.issue(user=world.operator_a, name="报表")
    e = last(object_type="api.apitoken")
    assert e.action == "create" and token not in json.dumps(e.after)
    row.revoked = True
    row.save()
    e = last(object_type="api.apitoken")
    assert e.action == "update" and e.after["revoked"] is True


def test_an_export_request_is_recorded_as_an_export(world):
    with acting_as(world.operator_a):
        ex = analytics_services.export_request(
            kind="cases", fmt="csv", params={}, actor=world.operator_a
        )
    e = last(action="export")
    assert (e.object_type, e.object_id, e.actor_id) == (
        "analytics.export",
        str(ex.pk),
        world.operator_a.pk,
    )
    # progress updates of the export job are not events
    assert AuditEvent.objects.filter(object_type="analytics.export").count() == 1


def test_phone_reveal_is_recorded_as_a_reveal(client, world, cats):
    case = report(
        world, cats, actor=world.operator_a, source="hotline", reporter_phone="13800001111"
    )
    client.force_login(world.operator_a)
    response = client.post(
        reverse("console:reveal_phone", args=[case.pk]), REMOTE_ADDR="203.0.113.9"
    )
    assert response.status_code == 200
    e = last(action="reveal")
    assert (e.actor_id, e.ip, e.object_type) == (
        world.operator_a.pk,
        "203.0.113.9",
        "console.phonereveal",
    )
    assert e.after["case_id"] == case.pk


def test_a_rolled_back_change_leaves_no_event(world):
    from django.db import transaction

    before = AuditEvent.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        UserFactory(username="temp")
        raise RuntimeError
    assert AuditEvent.objects.count() == before
