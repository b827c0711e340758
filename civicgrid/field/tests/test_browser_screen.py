"""The patrol screen in headless Chromium: positions and tracks on the map, the replay of a
worker's day with the slider and play. Run alone with ``pytest -m browser``;
``FIELD_SCREENSHOTS=<folder>`` keeps screenshots."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from civicgrid.core.testing import chromium

from .conftest import A1, post_json
from .test_api_tracks import upload, walk
from .test_browser import shot, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_operator_sees_the_area_and_replays_a_workers_day(
    world, field, client, live_server, monkeypatch
):

    now = timezone.now()
    client.force_login(world.worker_a1)
    key = str(uuid.uuid4())
    started = now - dt.timedelta(hours=1)
    r = post_json(client, "/api/field/patrols", {"uuid": key, "started_at": started.isoformat()})
    assert r.status_code == 201
    pts = walk(now - dt.timedelta(minutes=50), A1, 95, step_m=10, east=True)
    assert upload(client, key, pts).json()["accepted"] == 95
    r = post_json(
        client,
        "/api/field/checkins",
        {
            "client_id": str(uuid.uuid4()),
            "place": field.place.pk,
            "lat": A1[0],
            "lng": A1[1],
            "checked_at": pts[20]["t"],
        },
    )
    assert r.status_code == 201
    client.force_login(world.operator_a)
    cookie = client.cookies["sessionid"].value

    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1400, "height": 860}, locale="zh-CN")
        context.add_cookies([{"name": "sessionid", "value": cookie, "url": live_server.url}])
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
        page.on(
            "response",
            lambda r: errors.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None,
        )
        page.goto(f"{live_server.url}/console/patrols/?area={world.dist_a.code}")
        page.wait_for_selector(".ps-workers li")
        assert page.locator(".ps-workers li").count() == 2
        assert page.text_content('[data-total="on_patrol"]') == "1"
        assert page.text_content('[data-total="checkins"]') == "1"
        # The nav shows the page as current.
        assert page.locator(".mainnav a.active").first.text_content().strip() == "巡查"
        shot(page, "screen-overview")
        page.click(f'.ps-workers [data-replay="{world.worker_a1.pk}"]')
        wait_until(page, "document.getElementById('ps-slider').max === '94'")
        assert page.text_content("#ps-replay-name") == "甲一网格员"
        assert page.locator("#ps-checkins li").count() == 1
        start_clock = page.text_content("#ps-clock")
        page.select_option("#ps-speed", "16")
        page.click("#ps-play")
        wait_until(page, "parseInt(document.getElementById('ps-slider').value, 10) >= 94")
        assert page.text_content("#ps-clock") != start_clock
        assert page.text_content("#ps-play") == "播放"  # stopped at the end
        # The moving dot ends on the last point.
        last = page.evaluate(
            "(() => { const m = document.getElementById('ps-map').civicgridMap;"
            " let p = null; m.eachLayer(l => { if (l.options && l.options.radius === 8)"
            " p = l.getLatLng(); }); return p && [p.lat, p.lng]; })()"
        )
        assert last == pytest.approx([pts[-1]["lat"], pts[-1]["lng"]], abs=1e-6)
        shot(page, "screen-replay")
        # The dashboard's panel: km and check-ins per grid, loaded by HTMX.
        page.goto(f"{live_server.url}/analytics/")
        page.wait_for_selector("#patrol-grids tbody tr")
        table = page.text_content("#patrol-grids tbody")
        assert world.grid_a1.name in table and world.grid_a2.name in table  # walked across
        page.locator("#patrol-panel").scroll_into_view_if_needed()
        shot(page, "screen-dashboard")
        assert errors == []
