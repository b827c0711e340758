"""Admin: configuration pages work; case records and the action log are read-only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from civicgrid.cases.models import CaseAction

from .conftest import report


@pytest.fixture
def staff_client(client, world):
    world.admin.is_superuser = True
    world.admin.save()
    client.force_login(world.admin)
    return client


@pytest.mark.parametrize(
    "model", ["case", "caseaction", "category", "admissionitem", "holiday", "gridtask"]
)
def test_changelists_render(staff_client, cats, world, model):
    report(world, cats)
    assert staff_client.get(reverse(f"admin:cases_{model}_changelist")).status_code == 200


def test_action_log_cannot_be_changed_or_deleted_in_admin(staff_client, world, cats):
    case = report(world, cats)
    row = CaseAction.objects.get(case=case)
    url = reverse("admin:cases_caseaction_delete", args=[row.pk])
    assert staff_client.post(url, {"post": "yes"}).status_code == 403
    change = reverse("admin:cases_caseaction_change", args=[row.pk])
    staff_client.post(change, {"note": "tampered"})
    row.refresh_from_db()
    assert row.note == ""
    assert (
        staff_client.post(
            reverse("admin:cases_case_delete", args=[case.pk]), {"post": "yes"}
        ).status_code
        == 403
    )


def test_holiday_admin_warns_about_missing_years(staff_client, db):
    resp = staff_client.get(reverse("admin:cases_holiday_changelist"), follow=True)
    assert resp.status_code == 200
    msgs = [str(m) for m in resp.context["messages"]]
    assert len(msgs) == 2  # empty table: current and next year both missing
