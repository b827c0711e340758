"""Pages: the dashboard shell, the exports page and the nav link, per persona."""

from __future__ import annotations

import json

import pytest

PAGE_STATUS = {
    "operator_a": 200,
    "handler_a": 403,
    "worker_a1": 403,
    "chief_a": 200,
    "leader_a": 200,
    "admin": 200,
    "outsider_b": 200,
    "citizen": 403,
}


@pytest.mark.parametrize("persona,status", PAGE_STATUS.items())
def test_dashboard_page_per_persona(client, world, persona, status):
    client.force_login(getattr(world, persona))
    r = client.get("/analytics/")
    assert r.status_code == status
    nav = client.get("/").content.decode()
    assert ('href="/analytics/"' in nav) is (status == 200)


def test_dashboard_page_carries_its_config(client, world):
    client.force_login(world.leader_a)
    r = client.get("/analytics/", {"area": "140213001000", "period": "week", "screen": "big"})
    html = r.content.decode()
    start = html.index('id="dash-config"')
    raw = html[html.index(">", start) + 1 : html.index("</script>", start)]
    cfg = json.loads(raw)
    assert cfg["params"]["area"] == "140213001000" and cfg["params"]["period"] == "week"
    assert cfg["bigscreen"] is True and cfg["api"]["dashboard"] == "/api/analytics/dashboard"
    assert "bigscreen" in html and "vendor/echarts/echarts.min.js" in html


@pytest.mark.parametrize("area", ["140214000000", "140213009000"])
def test_dashboard_out_of_scope_or_unknown_area_is_404(client, world, area):
    client.force_login(world.leader_a)
    assert client.get("/analytics/", {"area": area}).status_code == 404


def test_login_required(client, world):
    r = client.get("/analytics/")
    assert r.status_code == 302 and "/login/" in r["Location"]


def test_exports_page_lists_only_my_exports(client, world):
    from civicgrid.analytics.models import Export

    Export.objects.create(user=world.leader_a, kind="cases", fmt="csv", filename="mine.csv")
    Export.objects.create(user=world.admin, kind="cases", fmt="csv", filename="theirs.csv")
    client.force_login(world.leader_a)
    html = client.get("/analytics/exports/").content.decode()
    assert "mine.csv" in html and "theirs.csv" not in html
    client.force_login(world.worker_a1)
    assert client.get("/analytics/exports/").status_code == 403
