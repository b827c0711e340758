"""The dashboard in headless Chromium on the demo city: renders, drills down, no console errors.

Run alone with ``pytest -m browser civicgrid/analytics``. With DASHBOARD_SCREENSHOTS=<dir> the
test also writes dashboard.png and dashboard-bigscreen.png there (docs/screenshots/).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.core.management import call_command

from civicgrid.core.testing import chromium


def wait_for(page, fn: str, arg=None, timeout: float = 15.0) -> None:
    """Poll ``fn(arg)`` with page.evaluate: wait_for_function builds its predicate with eval() in
    the page, which the Content-Security-Policy forbids."""
    import time

    deadline = time.monotonic() + timeout
    while not page.evaluate(fn, arg):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {fn}")
        page.wait_for_timeout(100)


def _bar_pixel(page, index: int) -> tuple[float, float]:
    """Viewport pixel of the middle of ranking bar ``index`` (via the chart's own mapping)."""
    return tuple(
        page.evaluate(
            """(i) => {
                const el = document.getElementById('ranking');
                const c = echarts.getInstanceByDom(el);
                const opt = c.getOption();
                const v = opt.series[0].data[i].value;
                const [x, y] = c.convertToPixel({seriesIndex: 0}, [Math.max(v, 0.02) / 2, i]);
                const r = el.getBoundingClientRect();
                return [r.left + x, r.top + y];
            }""",
            index,
        )
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_dashboard_renders_drills_down_and_logs_no_errors(
    live_server, client, monkeypatch, stopped_clock
):
    """The clock stands still: the figures computed here are those the page shows later."""

    from civicgrid.analytics import indicators
    from civicgrid.analytics.periods import period_from
    from civicgrid.analytics.selectors import resolve_filters
    from civicgrid.people.models import User

    call_command("seed_demo", grids=150, cases=1500, verbosity=0)
    leader = User.objects.get(username="leader")  # the city leader of the demo
    client.force_login(leader)
    expected = indicators.values(leader, period_from("month"), resolve_filters(leader))
    shots = os.environ.get("DASHBOARD_SCREENSHOTS")

    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1600, "height": 1000}, locale="zh-CN")
        context.add_cookies(
            [
                {
                    "name": "sessionid",
                    "value": client.cookies["sessionid"].value,
                    "url": live_server.url,
                }
            ]
        )
        page = context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}"))
        page.on(
            "console",
            lambda m: (
                problems.append(f"console.{m.type}: {m.text}")
                if m.type in ("error", "warning")
                else None
            ),
        )
        page.goto(live_server.url + "/analytics/")
        wait_for(page, "document.querySelectorAll('#tiles .kpi').length === 9")
        for chart in ("trend", "ranking", "categories", "map"):
            page.wait_for_selector(f"#{chart} canvas")
        # The map is set before the load ends; a click while loading is ignored by the page.
        wait_for(
            page,
            "window.civicgridDashboard.state.map !== null && !window.civicgridDashboard.state.loading",
        )
        received = page.locator('#tiles .kpi[data-key="received"] .kpi-value').inner_text()
        assert received.replace(",", "") == str(expected["received"])
        crumbs = page.locator("#crumbs").inner_text()
        assert leader.assignments.first().area.name in crumbs
        if shots:
            page.wait_for_timeout(600)
            page.screenshot(path=str(Path(shots) / "dashboard.png"), full_page=True)

        # Drill down: click the first sub-area's bar in the ranking chart.
        first = page.evaluate("window.civicgridDashboard.state.data.ranking[0]")
        x, y = _bar_pixel(page, 0)
        page.mouse.click(x, y)
        wait_for(
            page,
            "(code) => window.civicgridDashboard.state.data.area.code === code",
            arg=first["code"],
        )
        assert f"area={first['code']}" in page.url
        assert page.locator("#crumbs a").count() == 1  # city › district
        assert first["name"] in page.locator("#crumbs .here").inner_text()
        sub_received = page.locator('#tiles .kpi[data-key="received"] .kpi-value').inner_text()
        assert sub_received.replace(",", "") == str(first["received"])
        # Every grid on the map now lies in the district (the map layer loads after the figures).
        wait_for(
            page,
            """(p) => {
                const s = window.civicgridDashboard.state, m = s.map;
                return !s.loading && m && m.features.length > 0
                    && m.features.every(f => f.properties.code.startsWith(p));
            }""",
            arg=first["prefix"],
        )
        codes = page.evaluate(
            "window.civicgridDashboard.state.map.features.map(f => f.properties.code)"
        )
        assert codes and all(c.startswith(first["prefix"]) for c in codes)

        # And back up through the breadcrumb.
        page.locator("#crumbs a").first.click()
        wait_for(
            page,
            "(code) => window.civicgridDashboard.state.data.area.code !== code",
            arg=first["code"],
        )

        # Big-screen mode: dark theme, the top bar gives way.
        page.locator("#bigscreen-toggle").click()
        wait_for(page, "document.body.classList.contains('bigscreen')")
        assert not page.locator("header.topbar").is_visible()
        if shots:
            page.set_viewport_size({"width": 1920, "height": 1080})
            page.wait_for_timeout(800)
            page.screenshot(path=str(Path(shots) / "dashboard-bigscreen.png"))
        assert problems == [], problems
