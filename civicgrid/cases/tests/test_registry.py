"""Adding an action is one row plus one handler: a throw-away action shows up everywhere."""

from __future__ import annotations

import pytest

from civicgrid.cases import api as cases_api
from civicgrid.cases.models import CaseAction, State
from civicgrid.cases.registry import CASES, OPERATOR
from civicgrid.console import forms
from civicgrid.core.errors import DomainError
from civicgrid.core.workflow import Action, Input
from civicgrid.core.workflow_docs import render_table

from .conftest import drive


@pytest.fixture
def nudge(request):
    """A throw-away action: one row in the table and one handler, nothing else."""
    row = Action(
        "nudge",
        (State.FILED,),
        None,
        (OPERATOR,),
        inputs=(Input("why", "textarea", True, "Why", help="what to nudge about"),),
        label="Nudge",
        summary="Nudge the case",
        order=5,
        style="primary",
    )
    CASES.add(row)
    request.addfinalizer(lambda: CASES.remove("nudge"))

    @CASES.handler("nudge")
    def plan_nudge(step):
        step.note = step.inputs["why"].strip()
        step.data["nudged"] = True

    return row


def fresh_api():
    """The cases action endpoints as the API module builds them, on a router of their own
    (the site's router was frozen when its URLs were built at start-up)."""
    from ninja import NinjaAPI, Router

    router = Router()
    cases_api.mount_actions_for(router, CASES.actions.values())
    api = NinjaAPI(urls_namespace=f"nudge-{id(router)}")
    api.add_router("/cases", router)
    return api, router


def test_throwaway_action_is_in_the_api_schema(nudge, db):
    api, _router = fresh_api()
    doc = api.get_openapi_schema(path_prefix="/api")
    op = doc["paths"]["/api/cases/{key}/nudge"]["post"]
    assert op["operationId"] == "case_nudge" and op["summary"] == "Nudge the case"
    ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    props = doc["components"]["schemas"][ref]["properties"]
    assert {"version", "role", "why"} <= set(props)
    assert props["why"]["description"] == "what to nudge about"


def test_throwaway_action_runs_through_the_api(nudge, world, cats):
    from ninja.testing import TestClient

    api = TestClient(fresh_api()[1])
    case = drive(world, cats, State.FILED)
    r = api.post(
        f"/{case.tracking_code}/nudge",
        json={"version": case.version, "why": "  快点  "},
        user=world.operator_a,
    )
    assert r.status_code == 200, r.json()
    row = CaseAction.objects.filter(case=case).latest("id")
    assert (row.action, row.note, row.data) == ("nudge", "快点", {"nudged": True})
    r = api.post(
        f"/{case.tracking_code}/nudge",
        json={"version": r.json()["case"]["version"], "why": ""},
        user=world.operator_a,
    )
    assert r.status_code in (400, 422)


def test_throwaway_action_is_a_console_form(nudge, client, world, cats):
    case = drive(world, cats, State.FILED)
    assert "nudge" in forms.action_order()
    client.force_login(world.operator_a)
    html = client.get(f"/console/cases/{case.pk}/").content.decode()
    assert 'data-action="nudge"' in html and 'name="why"' in html
    r = client.post(f"/console/cases/{case.pk}/act/nudge/", {"version": case.version, "why": "x"})
    assert r.status_code == 302
    assert CaseAction.objects.filter(case=case, action="nudge").count() == 1


def test_throwaway_action_is_in_the_docs_table(nudge):
    table = render_table(CASES)
    assert "| `nudge` | Nudge | filed | (unchanged) | operator | why: textarea |" in table


def test_unknown_action_is_refused_naming_the_actions(world, cats):
    from civicgrid.cases.engine import case_act

    case = drive(world, cats, State.FILED)
    with pytest.raises(DomainError) as exc:
        case_act(case=case, action="nudge", actor=world.operator_a)
    assert exc.value.code == "unknown_action" and "accept" in exc.value.details["actions"]
