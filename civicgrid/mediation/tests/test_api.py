"""/api/mediation/: endpoints derived from the action table, scoped (404 outside), idempotent."""

import pytest

from civicgrid.mediation.workflow import DISPUTES

from .conftest import S, register, to_state


def test_every_generated_action_has_an_endpoint(client, med):
    client.force_login(med.operator_a)
    spec = client.get("/api/openapi.json").json()
    ops = {op["operationId"] for path in spec["paths"].values() for op in path.values()}
    for a in DISPUTES.ordered():
        if a.endpoint == "generated":
            assert f"dispute_{a.name}" in ops, a.name


def test_register_is_idempotent_and_acting_goes_through_the_engine(client, med):
    w = med
    client.force_login(w.worker_a1)
    body = {
        "source": "screening",
        "kind": "neighbour",
        "title": "排查发现纠纷",
        "facts": "两户争宅基地",
        "grid": w.grid_a1.code,
        "parties": [{"role": "applicant", "name": "甲"}],
        "client_id": "0b7f1c8e-8f0e-4b8e-9f49-3c2b3a1d9e01",
    }
    r1 = client.post("/api/mediation/", body, content_type="application/json")
    r2 = client.post("/api/mediation/", body, content_type="application/json")
    assert (r1.status_code, r2.status_code) == (201, 200)
    assert r1.json()["id"] == r2.json()["id"]
    d = r1.json()
    assert d["state"] == "registered" and d["allowed_actions"] == ["flag_violence"]
    client.force_login(w.operator_a)
    r = client.post(
        f"/api/mediation/{d['id']}/triage",
        {"version": 1, "body": w.body_comm.pk, "reason": "村调委会"},
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    assert r.json()["dispute"]["state"] == "triaged"
    r = client.post(
        f"/api/mediation/{d['id']}/triage",
        {"version": 2, "body": w.body_comm.pk, "reason": "x"},
        content_type="application/json",
    )
    assert r.status_code == 409 and r.json()["code"] == "action_not_allowed"
    r = client.post(
        f"/api/mediation/{d['id']}/start", {"version": 1}, content_type="application/json"
    )
    assert r.status_code == 409 and r.json()["code"] == "version_conflict"


@pytest.mark.parametrize(
    "persona,status",
    [
        ("operator_a", 200),
        ("leader_a", 200),
        ("outsider_b", 404),
        ("citizen", 404),
        ("mediator_user", 200),
        ("handler_a", 404),
    ],
)
def test_get_and_act_matrix(client, med, persona, status):
    d = to_state(med, S.TRIAGED)
    client.force_login(getattr(med, persona))
    assert client.get(f"/api/mediation/{d.pk}").status_code == status
    r = client.post(
        f"/api/mediation/{d.pk}/withdraw",
        {"version": d.version, "reason": "x"},
        content_type="application/json",
    )
    assert r.status_code == (404 if status == 404 else (200 if persona == "operator_a" else 403))


def test_list_is_scoped_and_pages_by_cursor(client, med):
    w = med
    mine = [register(w) for _ in range(3)]
    register(w, actor=w.outsider_b, grid=w.grid_b1, center=w.center_b)
    client.force_login(w.operator_a)
    r = client.get("/api/mediation/?limit=2").json()
    assert len(r["items"]) == 2 and r["next_cursor"]
    r2 = client.get(f"/api/mediation/?limit=2&cursor={r['next_cursor']}").json()
    got = {x["id"] for x in r["items"] + r2["items"]}
    assert got == {d.pk for d in mine}


def test_bad_input_is_a_field_error_not_a_500(client, med):
    d = to_state(med, S.MEDIATING)
    client.force_login(med.operator_a)
    r = client.post(
        f"/api/mediation/{d.pk}/fail",
        {"version": d.version, "route": "duel", "note": "x"},
        content_type="application/json",
    )
    assert r.status_code == 400 and r.json()["details"]["field"] == "route"
    r = client.post(
        "/api/mediation/",
        {
            "source": "visit",
            "kind": "neighbour",
            "title": "t",
            "facts": "f",
            "parties": [{"role": "boss", "name": "x"}],
        },
        content_type="application/json",
    )
    assert r.status_code == 400 and r.json()["details"]["field"] == "parties.0.role"
