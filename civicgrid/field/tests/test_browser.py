"""End to end in headless Chromium with a phone viewport: the worker's offline outbox and the
citizen's report-and-track flow. Run alone with ``pytest -m browser``."""

from __future__ import annotations

import os
from contextlib import contextmanager

import pytest

from civicgrid.cases import services as case_services
from civicgrid.cases.models import Attachment, AttachmentKind, Case, State
from civicgrid.core.testing import chromium

from .conftest import A1, jpeg_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
}


@contextmanager
def phone(monkeypatch, **context):
    with chromium() as browser:
        yield browser.new_context(**PHONE, **context)


def shot(page, name: str) -> None:
    folder = os.environ.get("FIELD_SCREENSHOTS")
    if folder:
        page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)


def wait_until(page, script: str, timeout: float = 30.0) -> None:
    """Poll an async expression: wait_for_function would take a pending Promise for true."""
    import time

    deadline = time.monotonic() + timeout
    while not page.evaluate(script):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {script}")
        page.wait_for_timeout(200)


def outbox_count(page) -> int:
    return page.evaluate("CG.db.count('outbox')")


def test_a_report_made_offline_is_sent_once_when_the_network_returns(
    world, cats, client, live_server, monkeypatch
):
    client.force_login(world.worker_a1)
    cookie = client.cookies["sessionid"].value
    with phone(
        monkeypatch,
        geolocation={"latitude": A1[0], "longitude": A1[1], "accuracy": 12},
        permissions=["geolocation"],
        # Requests of a page controlled by a service worker escape page.route(), which this test
        # needs to lose an answer on purpose; the service worker has its own test below.
        service_workers="block",
    ) as context:
        context.add_cookies([{"name": "sessionid", "value": cookie, "url": live_server.url}])
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(live_server.url + "/field/report/")
        page.wait_for_function("document.getElementById('lat').value !== ''")
        assert world.grid_a1.name in page.locator("#loc-sub").inner_text()

        context.set_offline(True)
        page.wait_for_function("!navigator.onLine")
        page.select_option("#category", cats.small.code)
        page.fill("#description", "楼道堆放大量纸箱，堵塞消防通道")
        page.set_input_files(
            "[data-picker=photos] input[type=file]",
            files=[{"name": "scene.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes()}],
        )
        page.click("#submit")
        page.wait_for_selector("#saved-banner:not(.hidden)")
        assert "联网后自动上报" in page.inner_text("#saved-banner")
        assert outbox_count(page) == 1
        assert page.inner_text("#outbox-badge") == "1"
        assert Case.objects.count() == 0
        shot(page, "offline-report-saved")

        # Back online, the first delivery reaches the server but its answer is lost on the way
        # back: the phone must retry, and the retry must not file a second case.
        lost = {"n": 0, "status": None}
        answers: list[int] = []

        def lose_first_answer(route):
            if lost["n"] == 0:
                lost["n"] += 1
                lost["status"] = route.fetch().status  # the server handles it...
                route.abort("connectionreset")  # ...but the phone never hears back
            else:
                route.continue_()

        page.route("**/api/field/reports", lose_first_answer)
        context.on(
            "response",
            lambda r: answers.append(r.status) if r.url.endswith("/api/field/reports") else None,
        )
        context.set_offline(False)
        page.wait_for_function("navigator.onLine")
        wait_until(page, "CG.db.count('outbox').then(n => n === 0)", timeout=40)
        page.evaluate("CG.sync()")  # another round finds nothing left to send
        # The server created the case on the lost delivery and recognised the retry.
        assert lost == {"n": 1, "status": 201}
        assert answers == [200]
        assert errors == []

    case = Case.objects.get()
    assert case.source == "grid_worker" and case.grid == world.grid_a1
    assert case.reporter == world.worker_a1 and case.state == State.REPORTED
    photos = Attachment.objects.filter(case=case)
    assert photos.count() == 1 and photos.get().kind == AttachmentKind.IMAGE
    assert case.client_id


def test_a_citizen_reports_and_sees_the_operator_accept_it(world, cats, live_server, monkeypatch):
    with phone(monkeypatch) as context:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{live_server.url}/report/?grid={world.grid_a1.code}")
        page.select_option("#category", cats.small.code)
        page.fill("#description", "小区东门垃圾桶满溢，两天没人清运")
        page.fill("#phone", "13812345678")
        page.set_input_files(
            "#photo-input",
            files=[{"name": "a.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes()}],
        )
        shot(page, "citizen-report-form")
        page.click("#submit")
        page.wait_for_url("**/track/*/?new=1")
        code = page.inner_text("#tracking-code").strip()
        assert page.get_attribute("#case-state", "data-state") == State.REPORTED
        assert "待受理" in page.inner_text("#case-state")
        shot(page, "citizen-submitted")

        case = Case.objects.get(tracking_code=code)
        assert case.grid == world.grid_a1 and Attachment.objects.filter(case=case).count() == 1
        case_services.case_accept(
            case=case, actor=world.operator_a, category=cats.small, priority=2
        )
        page.goto(f"{live_server.url}/track/{code}/")
        assert page.get_attribute("#case-state", "data-state") == State.FILED
        assert "已立案" in page.inner_text("#case-state")
        assert "受理" in page.inner_text("#timeline")
        assert world.operator_a.full_name not in page.content()
        assert errors == []
        shot(page, "citizen-track")


def test_the_app_opens_offline_from_the_service_worker_cache(
    world, client, live_server, monkeypatch
):
    client.force_login(world.worker_a1)
    cookie = client.cookies["sessionid"].value
    with phone(monkeypatch) as context:
        context.add_cookies([{"name": "sessionid", "value": cookie, "url": live_server.url}])
        page = context.new_page()
        page.goto(live_server.url + "/field/")
        wait_until(page, "navigator.serviceWorker.ready.then(r => !!r.active)")
        # The service worker keeps the app's pages once they have been warmed.
        wait_until(
            page,
            "caches.keys().then(ks => ks.find(k => k.indexOf('cg-pages-') === 0))"
            ".then(n => n ? caches.open(n).then(c => c.keys()).then(k => k.length >= 7) : false)",
        )
        # ... the pages other apps mount under /field/ among them (the worker's own list).
        wait_until(
            page,
            "caches.keys().then(ks => ks.find(k => k.indexOf('cg-pages-') === 0))"
            ".then(n => n ? caches.open(n).then(c => c.keys()) : [])"
            ".then(k => { const p = k.map(r => new URL(r.url).pathname);"
            " return p.includes('/field/mediation/new/') && p.includes('/field/basedata/'); })",
        )
        context.set_offline(True)
        page.goto(live_server.url + "/field/report/")
        assert page.locator("#report-form").count() == 1
        assert "事件上报" in page.title()
        page.goto(live_server.url + "/field/mediation/new/")
        assert page.locator("#dispute-form").count() == 1
        page.goto(live_server.url + "/field/never-seen/")
        assert "无网络" in page.content()


def test_a_patrol_records_positions_and_uploads_them(world, client, live_server, monkeypatch):
    import time

    from civicgrid.field.models import Patrol, PatrolState

    from .conftest import offset

    client.force_login(world.worker_a1)
    cookie = client.cookies["sessionid"].value
    here = A1
    with phone(
        monkeypatch,
        geolocation={"latitude": here[0], "longitude": here[1], "accuracy": 8},
        permissions=["geolocation"],
    ) as context:
        context.add_cookies([{"name": "sessionid", "value": cookie, "url": live_server.url}])
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("dialog", lambda d: d.accept())  # "end this patrol?"
        page.goto(live_server.url + "/field/patrol/")
        page.click("#patrol-btn")
        for _ in range(3):  # the phone keeps a fix every 5 s when the worker moved 25 m
            time.sleep(5.3)
            here = offset(*here, north_m=40)
            context.set_geolocation({"latitude": here[0], "longitude": here[1], "accuracy": 8})
        wait_until(page, "document.getElementById('m-pts').textContent === '4'", timeout=20)
        page.click("#patrol-btn")
        page.wait_for_url("**/field/patrols/*/", timeout=20_000)
        wait_until(page, "CG.db.count('points').then(n => n === 0)")
        assert errors == []
    patrol = Patrol.objects.get(worker=world.worker_a1)
    assert patrol.state == PatrolState.ENDED and patrol.point_count == 4
    assert patrol.distance_m == pytest.approx(120, abs=2)
    assert patrol.grid_stats.get(world.grid_a1.code)
