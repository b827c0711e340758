"""The analytics API: same figures as the indicator module, scope as a persona matrix."""

from __future__ import annotations

import pytest

from civicgrid.analytics import indicators as ind
from civicgrid.analytics.periods import period_from
from civicgrid.analytics.selectors import resolve_filters

from .conftest import NOW

API = "/api/analytics"
MARCH = {"period": "month", "date": "2026-03-01"}

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
# received in March as each persona sees it; None = no analytics (403)
RECEIVED = {
    "operator_a": 13,
    "handler_a": None,
    "worker_a1": None,
    "chief_a": 13,
    "leader_a": 13,
    "admin": 14,
    "outsider_b": 1,
    "citizen": None,
}


def login(client, world, persona):
    client.force_login(getattr(world, persona))
    return client


@pytest.mark.parametrize("persona", PERSONAS)
def test_indicators_per_persona(client, world, march, frozen_now, persona):
    r = login(client, world, persona).get(f"{API}/indicators", MARCH)
    expected = RECEIVED[persona]
    if expected is None:
        assert r.status_code == 403 and r.json()["code"] == "permission_denied"
        return
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["values"]["received"] == expected
    assert body["previous_period"]["label"] == "2026-02"
    assert {i["key"] for i in body["indicators"]} >= set(ind.TILES)


def test_api_figures_are_the_indicator_module_figures(client, world, march, frozen_now):
    body = login(client, world, "leader_a").get(f"{API}/indicators", MARCH).json()
    direct = ind.values(
        world.leader_a, period_from("month", "2026-03"), resolve_filters(world.leader_a), now=NOW
    )
    assert body["values"] == pytest.approx(direct)


@pytest.mark.parametrize(
    "persona,area,status",
    [
        ("leader_a", "140213000000", 200),
        ("leader_a", "140214000000", 404),
        ("leader_a", "140214001001001", 404),
        ("admin", "140214000000", 200),
        ("outsider_b", "140213001001", 404),
        ("chief_a", "140213001001001", 200),
        ("leader_a", "1402", 400),
    ],
)
def test_area_outside_scope_is_not_found(client, world, march, persona, area, status):
    r = login(client, world, persona).get(f"{API}/indicators", {**MARCH, "area": area})
    assert r.status_code == status
    if status == 400:
        assert r.json()["details"]["field"] == "area"


def test_anonymous_gets_401(client, world):
    assert client.get(f"{API}/indicators").status_code == 401


def test_breakdown_by_area_lists_the_sub_areas(client, world, march, frozen_now):
    body = login(client, world, "admin").get(f"{API}/breakdown", {**MARCH, "by": "area"}).json()
    rows = {r["key"]: r for r in body["rows"]}
    assert set(rows) == {"140213000000", "140214000000"}
    assert rows["140213000000"]["values"]["received"] == 13
    body = (
        login(client, world, "leader_a").get(f"{API}/breakdown", {**MARCH, "by": "category"}).json()
    )
    assert [(r["key"], r["name"], r["values"]["received"]) for r in body["rows"]] == [
        ("04", "市容环境", 13)
    ]


def test_department_scores_accept_weights(client, world, march, frozen_now):
    c = login(client, world, "admin")
    body = c.get(f"{API}/departments", MARCH).json()
    assert body["weights"]["on_time_close_rate"] == 40
    a = next(r for r in body["rows"] if r["department"] == "A-CG")
    heavy = c.get(f"{API}/departments", {**MARCH, "w_supervision": 10}).json()
    a2 = next(r for r in heavy["rows"] if r["department"] == "A-CG")
    assert a2["score"] == pytest.approx(a["score"] - 9.5)


def test_trend_overdue_map_and_warnings(client, world, march, frozen_now):
    c = login(client, world, "leader_a")
    trend = c.get(f"{API}/trend", MARCH).json()
    assert sum(trend["received"]) == 13
    overdue = c.get(f"{API}/overdue").json()
    assert {r["tracking_code"] for r in overdue} == {
        march.c8.tracking_code,
        march.c10.tracking_code,
        march.c12.tracking_code,
        march.c13.tracking_code,
    }
    geo = c.get(f"{API}/map").json()
    codes = {f["properties"]["code"]: f["properties"] for f in geo["features"]}
    # The leader of district A sees district A's grids only.
    assert set(codes) == {world.grid_a1.code, world.grid_a2.code}
    assert codes[world.grid_a1.code]["overdue"] == 4
    assert geo["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert c.get(f"{API}/warnings").json() == []


def test_dashboard_payload_has_every_panel(client, world, march, frozen_now):
    body = login(client, world, "leader_a").get(f"{API}/dashboard", MARCH).json()
    assert [t["key"] for t in body["tiles"]] == list(ind.TILES)
    assert body["area"]["code"] == "140213000000"
    assert [c["code"] for c in body["breadcrumbs"]] == ["140213000000"]
    assert [r["code"] for r in body["ranking"]] == ["140213001000"]
    assert body["ranking"][0]["received"] == 13
    for key in ("trend", "categories", "departments", "overdue", "warnings"):
        assert key in body


def test_dashboard_drills_down_to_a_community_and_ranks_its_grids(client, world, march, frozen_now):
    body = (
        login(client, world, "admin")
        .get(f"{API}/dashboard", {**MARCH, "area": world.comm_a.code})
        .json()
    )
    assert [c["code"] for c in body["breadcrumbs"]] == [
        "140200000000",
        "140213000000",
        "140213001000",
        "140213001001",
    ]
    assert {r["code"] for r in body["ranking"]} == {world.grid_a1.code, world.grid_a2.code}


def test_bad_period_is_a_named_400(client, world):
    r = login(client, world, "admin").get(f"{API}/indicators", {"period": "fortnight"})
    assert r.status_code == 400 and r.json()["details"]["field"] == "period"


def test_scope_of_two_districts_ranks_both(client, world, march, frozen_now):
    from civicgrid.people.models import Role
    from civicgrid.people.tests.factories import UserFactory, assign

    both = UserFactory(username="leader_ab")
    assign(both, Role.LEADER, world.dist_a)
    assign(both, Role.LEADER, world.dist_b)
    client.force_login(both)
    body = client.get(f"{API}/dashboard", MARCH).json()
    assert body["area"] is None and body["breadcrumbs"] == []
    assert {r["code"]: r["received"] for r in body["ranking"]} == {
        "140213000000": 13,
        "140214000000": 1,
    }
    assert client.get(f"{API}/indicators", MARCH).json()["values"]["received"] == 14
    assert client.get(f"{API}/indicators", {**MARCH, "area": "140200000000"}).status_code == 404
