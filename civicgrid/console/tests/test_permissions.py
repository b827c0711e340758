"""Persona × page matrix: every console page answers 200 in scope and 404 outside it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from civicgrid.cases.models import Attachment, Case, CaseAction, State

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
ALL = set(PERSONAS)
DISTRICT_A_VIEWERS = {"operator_a", "chief_a", "leader_a", "admin"}

# page name → (how to build the URL from the fixtures, personas answered 200; others get 404)
MATRIX = {
    "home": (lambda w, c: reverse("home"), ALL),
    "case_list": (lambda w, c: reverse("console:case_list"), ALL),
    "case_reported_a1": (
        lambda w, c: reverse("console:case_detail", args=[c.reported.pk]),
        DISTRICT_A_VIEWERS | {"worker_a1"},
    ),
    "case_assigned_a2": (
        lambda w, c: reverse("console:case_detail", args=[c.assigned.pk]),
        DISTRICT_A_VIEWERS | {"handler_a"},
    ),
    "case_in_b1": (
        lambda w, c: reverse("console:case_detail", args=[c.other.pk]),
        {"outsider_b", "admin"},
    ),
    "case_missing": (lambda w, c: reverse("console:case_detail", args=[999999]), set()),
    "case_photo": (
        lambda w, c: reverse(
            "files:attachment", args=[Attachment.objects.filter(case=c.handled).first().pk]
        ),
        DISTRICT_A_VIEWERS | {"handler_a", "worker_a1"},
    ),
    "case_stamp": (
        lambda w, c: reverse("console:case_stamp", args=[c.reported.pk]),
        DISTRICT_A_VIEWERS | {"worker_a1"},
    ),
    "intake": (lambda w, c: reverse("console:intake"), {"operator_a", "outsider_b"}),
    "intake_locate": (
        lambda w, c: reverse("console:intake_locate") + "?lat=40.11&lng=113.305",
        {"operator_a", "outsider_b"},
    ),
    "map": (lambda w, c: reverse("console:map"), ALL),
    "map_cases": (lambda w, c: reverse("console:map_cases") + "?bbox=113,40,114,41", ALL),
    "supervision": (lambda w, c: reverse("console:supervision"), ALL),
    "grids": (lambda w, c: reverse("console:grids"), ALL),
    "grid_a1": (
        lambda w, c: reverse("console:grid_detail", args=[w.grid_a1.code]),
        DISTRICT_A_VIEWERS | {"handler_a", "worker_a1"},
    ),
    "grid_b1": (
        lambda w, c: reverse("console:grid_detail", args=[w.grid_b1.code]),
        {"outsider_b", "admin"},
    ),
    "workers": (lambda w, c: reverse("console:workers"), ALL),
    "tiles_operator": (
        lambda w, c: reverse("console:home_tiles", args=["operator"]),
        {"operator_a", "outsider_b"},
    ),
    "queue_handler": (
        lambda w, c: reverse("console:home_queue", args=["handler", "to_sign"]),
        {"handler_a"},
    ),
    "side_operator": (
        lambda w, c: reverse("console:home_side", args=["operator"]),
        {"operator_a", "outsider_b"},
    ),
    "leader_panel": (lambda w, c: reverse("console:home_leader"), {"leader_a", "admin"}),
}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("page", sorted(MATRIX))
def test_page_answers_200_in_scope_and_404_outside(client, world, cases, persona, page):
    build, allowed = MATRIX[page]
    client.force_login(getattr(world, persona))
    response = client.get(build(world, cases))
    expected = 200 if persona in allowed else 404
    assert response.status_code == expected, (page, persona, response.status_code)


@pytest.mark.parametrize("page", sorted(MATRIX))
def test_every_page_needs_a_login(client, world, cases, page):
    build, _allowed = MATRIX[page]
    response = client.get(build(world, cases))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


@pytest.mark.parametrize("persona", PERSONAS)
def test_only_the_owner_centers_operator_may_accept(client, world, cases, persona):
    """The engine decides: out of scope is 404, in scope but not allowed is an inline error."""
    client.force_login(getattr(world, persona))
    url = reverse("console:case_act", args=[cases.reported.pk, "accept"])
    response = client.post(url, {"category": "0401", "priority": "2"})
    state = Case.objects.get(pk=cases.reported.pk).state
    if persona == "operator_a":
        assert response.status_code == 302 and state == State.FILED
    elif persona in DISTRICT_A_VIEWERS | {"worker_a1"}:
        assert response.status_code == 400 and state == State.REPORTED
        assert "accept" not in CaseAction.objects.filter(case=cases.reported).values_list(
            "action", flat=True
        )
    else:
        assert response.status_code == 404 and state == State.REPORTED


@pytest.mark.parametrize("persona", PERSONAS)
def test_reveal_phone_is_for_those_who_must_call_back(client, world, cases, persona):
    from civicgrid.console.models import PhoneReveal

    client.force_login(getattr(world, persona))
    response = client.post(reverse("console:reveal_phone", args=[cases.assigned.pk]))
    expected = {"operator_a": 200, "handler_a": 200}.get(persona)
    if expected is None:
        expected = 403 if persona in DISTRICT_A_VIEWERS else 404
    assert response.status_code == expected
    assert PhoneReveal.objects.filter(user=getattr(world, persona)).exists() is (expected == 200)


@pytest.mark.parametrize("persona", PERSONAS)
def test_map_points_are_scoped(client, world, cases, persona):
    client.force_login(getattr(world, persona))
    data = client.get(reverse("console:map_cases") + "?bbox=113,40,114,41&state=" + "").json()
    ids = {row[0] for row in data["items"]}
    assert (cases.other.pk in ids) is (persona in {"outsider_b", "admin"})
    assert (cases.reported.pk in ids) is (persona in DISTRICT_A_VIEWERS | {"worker_a1"})
