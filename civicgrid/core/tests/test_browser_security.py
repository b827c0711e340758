"""In headless Chromium: the main pages under the CSP with hostile names in the data.

Every page is loaded with area, grid, category and key-place names that are HTML
(``<img src=x onerror=...>``); the test fails on any CSP violation, any script error, any
failed request, and on the hostile markup turning into an element or running. It also checks
that the field app's service worker forgets a user's pages at sign-out. Run alone with
``pytest -m browser``.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid

import pytest
from django.utils import timezone

from civicgrid.cases import services as case_services
from civicgrid.cases.models import Category, HandlingLevel, SlaUnit
from civicgrid.cases.tests.conftest import A1, jpeg_bytes
from civicgrid.core.testing import chromium
from civicgrid.field import services as field_services
from civicgrid.field.models import KeyPlace

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HOSTILE = "<img src=x onerror=window.__xss=1>"
WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI + " " + (e.sourceFile || "") + ":" + e.lineNumber);
});
"""


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture
def hostile(world):
    from civicgrid.territory import spatial

    for obj in (world.grid_a1, world.comm_a, world.street_a, world.dist_a):
        obj.name = HOSTILE
        obj.save(update_fields=["name"])
    spatial.reset()
    parent = Category.objects.create(code="04", name=HOSTILE)
    cat = Category.objects.create(
        code="0401",
        name=HOSTILE,
        parent=parent,
        handling_level=HandlingLevel.VILLAGE,
        default_department=world.dept_a,
        sla_unit=SlaUnit.WORKING,
        self_closable=True,
    )
    case = case_services.case_report(
        actor=world.worker_a1,
        category=cat,
        description=HOSTILE + " 楼道堆物",
        lat=A1[0],
        lng=A1[1],
        source="grid_worker",
        attachments=[jpeg_bytes()],
    )
    place = KeyPlace.objects.create(
        name=HOSTILE, grid=world.grid_a1, lat=A1[0], lng=A1[1], radius_m=100
    )
    key = str(uuid.uuid4())
    patrol, _ = field_services.patrol_start(
        actor=world.worker_a1, uuid=key, started_at=timezone.now() - dt.timedelta(minutes=30)
    )
    field_services.checkin_create(
        actor=world.worker_a1, place=place, client_id=str(uuid.uuid4()), lat=A1[0], lng=A1[1]
    )
    return case, key


class Visitor:
    """A browser context (signed in as ``user`` or anonymous) that records every problem."""

    def __init__(self, browser, base, client=None, user=None, **context):
        self.base = base
        self.context = browser.new_context(locale="zh-CN", **context)
        if user is not None:
            client.force_login(user)
            cookie = client.cookies["sessionid"].value
            self.context.add_cookies([{"name": "sessionid", "value": cookie, "url": base}])
        self.context.add_init_script(WATCH)
        self.page = self.context.new_page()
        self.page.set_default_timeout(20000)
        self.problems: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.problems.append(f"pageerror: {e}"))
        self.page.on("response", self._response)

    def _console(self, m) -> None:
        # A failed load is reported (with its URL) by _response; the browser's own favicon
        # probe of pages that declare none is not the page's doing.
        if "Failed to load resource" in m.text:
            return
        if m.type == "error" or "Content Security Policy" in m.text:
            self.problems.append(f"console {m.type}: {m.text}")

    def _response(self, r) -> None:
        if r.status >= 400 and not r.url.endswith("/favicon.ico"):
            self.problems.append(f"HTTP {r.status} {r.url}")

    def visit(self, path: str) -> None:
        p = self.page
        p.goto(self.base + path)
        p.wait_for_load_state("networkidle")
        p.wait_for_timeout(300)  # maps and charts draw after their fetches
        violations = p.evaluate("window.__csp")
        ran = p.evaluate("window.__xss")
        injected = p.evaluate("document.querySelectorAll('img[src=\"x\"]').length")
        found = [f"{path}: {x}" for x in self.problems + violations]
        self.problems.clear()
        assert not found, found
        assert ran is None and injected == 0, (path, ran, injected)

    def close(self) -> None:
        self.context.close()


def test_main_pages_run_under_the_csp_and_never_run_a_hostile_name(
    browser, live_server, client, world, hostile
):
    case, patrol_key = hostile
    base = live_server.url

    op = Visitor(browser, base, client, world.operator_a, viewport={"width": 1400, "height": 900})
    for path in ("/", "/console/cases/", f"/console/cases/{case.pk}/", "/console/map/"):
        op.visit(path)
    # Thumbnails came through the checked file view.
    assert op.page.evaluate("1") == 1
    op.close()

    leader = Visitor(browser, base, client, world.leader_a, viewport={"width": 1400, "height": 900})
    leader.visit("/analytics/")
    leader.visit("/console/map/")
    leader.close()

    worker = Visitor(browser, base, client, world.worker_a1, viewport={"width": 390, "height": 844})
    for path in (
        "/field/",
        "/field/report/",
        f"/field/cases/{case.pk}/",
        f"/field/patrols/{patrol_key}/",
        "/field/checkin/",
        "/field/outbox/",
        "/field/me/",
    ):
        worker.visit(path)
    worker.visit("/field/report/")
    labels = worker.page.eval_on_selector_all(
        ".leaflet-tooltip", "els => els.map(e => e.textContent)"
    )
    assert HOSTILE in labels  # shown as text, not parsed
    worker.close()

    world.admin.is_superuser = True
    world.admin.save(update_fields=["is_superuser"])
    admin = Visitor(browser, base, client, world.admin, viewport={"width": 1400, "height": 900})
    for path in (
        "/admin/",
        "/admin/territory/grid/",
        f"/admin/territory/grid/{world.grid_a1.pk}/change/",
        f"/admin/territory/area/{world.comm_a.pk}/coverage/",
        "/api/docs",
    ):
        admin.visit(path)
    admin.close()

    citizen = Visitor(browser, base, viewport={"width": 390, "height": 844})
    citizen.visit("/report/")
    citizen.visit(f"/track/{case.tracking_code}/")
    loaded = citizen.page.eval_on_selector_all(
        ".thumbs img", "els => els.map(e => e.complete && e.naturalWidth > 0)"
    )
    assert loaded == [True]  # the signed photo URL works for an anonymous citizen
    citizen.visit(f"/grid/{world.grid_a1.code}/")
    citizen.close()


def _page_caches(page) -> list[str]:
    return page.evaluate(
        "caches.keys().then(ks => ks.filter(k => k.indexOf('cg-pages') === 0 || k === 'cg-meta'))"
    )


def test_the_service_worker_forgets_a_users_pages_at_sign_out(browser, live_server, client, world):
    worker = Visitor(browser, live_server.url, client, world.worker_a1)
    page = worker.page
    page.goto(live_server.url + "/field/")
    page.wait_for_load_state("networkidle")
    deadline = time.monotonic() + 30
    while True:
        names = [n for n in _page_caches(page) if n.startswith("cg-pages-")]
        if (
            names
            and page.evaluate(f"caches.open('{names[0]}').then(c => c.keys()).then(k => k.length)")
            >= 7
        ):
            break
        assert time.monotonic() < deadline, "pages never cached"
        page.wait_for_timeout(300)
    assert len(names) == 1  # one cache, of this user only
    page.goto(live_server.url + "/field/me/")
    with page.expect_navigation():
        page.click("form[data-signout] button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "/login/" in page.url
    assert _page_caches(page) == []
    worker.close()
