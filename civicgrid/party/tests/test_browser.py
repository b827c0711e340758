"""A 六联单 from the grid board's QR code to 归档销单 in headless Chromium, and screenshots.

Run alone with ``pytest -m browser civicgrid/party``. With PARTY_SCREENSHOTS=<dir> it writes
service-request.png, board-party.png and liaison-compliance.png there (docs/screenshots/).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import segno
from django.urls import reverse

from civicgrid.cases import services as cs
from civicgrid.cases.models import Case, Flow, State
from civicgrid.core.testing import chromium
from civicgrid.party import services

from .conftest import photo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pass-Word-123"


@pytest.fixture
def browser():
    with chromium() as b:
        yield b


def _context(browser, mobile: bool):
    size = {"width": 420, "height": 900} if mobile else {"width": 1400, "height": 900}
    ctx = browser.new_context(viewport=size, locale="zh-CN")
    page = ctx.new_page()
    page.set_default_timeout(15000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on(
        "response",
        lambda r: (
            errors.append(f"HTTP {r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )
    return ctx, page, errors


def _login(page, base, username, field=False):
    page.goto(base + ("/field/login/" if field else reverse("login")))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def test_service_order_from_qr_code_to_archive(browser, live_server, pw):
    shots = os.environ.get("PARTY_SCREENSHOTS")
    base = live_server.url
    grid = pw.grid_a1
    # The board: the QR code encodes the service request address printed under it.
    ctx, page, errors = _context(browser, mobile=True)
    page.goto(base + reverse("public:board", args=[grid.code]))
    block = page.locator("#board-party")
    assert "甲一网格党支部" in block.inner_text()
    url = page.locator("#qr-service .url").inner_text().strip()
    assert url.endswith(f"/service/?grid={grid.code}")
    expected = segno.make(url, error="m").svg_inline(scale=4, border=2, dark="#0b2a5b")
    path = re.search(r'd="([^"]+)"', expected).group(1)
    assert path in page.locator("#qr-service").inner_html()
    if shots:
        block.scroll_into_view_if_needed()
        block.screenshot(path=str(Path(shots) / "board-party.png"))
    # 群众点单: scanning opens the form for that grid.
    page.goto(url)
    page.select_option("#category", "0602")
    page.fill("#description", "家中老人腿脚不便，希望有人帮忙买菜")
    page.fill("#phone", "13800009999")
    if shots:
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(Path(shots) / "service-request.png"), full_page=True)
    with page.expect_navigation():
        page.click("#submit")
    page.wait_for_load_state("networkidle")
    case = Case.objects.get(flow=Flow.SERVICE)
    assert case.grid == grid and case.tracking_code in page.url
    assert page.locator("#case-state").get_attribute("data-state") == State.REPORTED
    ctx.close()

    # 网格接单 in the field app by the grid's worker.
    ctx, page, errors2 = _context(browser, mobile=True)
    _login(page, base, "worker_a1", field=True)
    page.goto(base + reverse("party:field_orders"))
    with page.expect_navigation():
        page.click(f'button[data-take="{case.tracking_code}"]')
    ctx.close()
    case.refresh_from_db()
    assert case.state == State.FILED

    # 村社派单 in the console by the community operator.
    ctx, page, errors3 = _context(browser, mobile=False)
    _login(page, base, "comm_op")
    page.goto(base + reverse("party:console_orders"))
    row = page.locator("#orders tr", has_text=case.tracking_code)
    row.locator("select[name=member]").select_option(str(pw.member.pk))
    with page.expect_navigation():
        row.locator("button").click()
    case.refresh_from_db()
    assert case.state == State.ASSIGNED and case.worker_id == pw.member_user.pk
    # 党员履单 (the member's own phone posts these through the field API; the engine is the same)
    cs.case_sign(case=case, actor=pw.member_user)
    case.refresh_from_db()
    cs.case_submit(
        case=case, actor=pw.member_user, result="已帮忙买菜送上门", attachments=[photo()]
    )
    # 督查兑单 → 归档销单 on the order's console page.
    page.goto(base + reverse("console:case_detail", args=[case.pk]))
    item = page.locator("details[data-action=verify]")
    if item.get_attribute("open") is None:
        item.locator("summary").click()
    item.locator("[name=note]").fill("电话回访，服务到位")
    with page.expect_navigation():
        item.locator("button[data-submit=verify]").click()
    case.refresh_from_db()
    assert case.state == State.CLOSED
    # Compliance view screenshot while signed in as an operator.
    services.liaison_assign(cadre=pw.leader_a, grid=pw.grid_a1, actor=pw.operator_a)
    services.liaison_assign(cadre=pw.leader_a, grid=pw.grid_a2, actor=pw.operator_a)
    services.visit_record(
        actor=pw.leader_a, grid=pw.grid_a1, visited_at=None, place="党群服务站", people_met="网格员"
    )
    page.goto(base + reverse("party:compliance"))
    assert "甲二网格" in page.locator("#compliance").inner_text()
    if shots:
        page.screenshot(path=str(Path(shots) / "liaison-compliance.png"), full_page=True)
    ctx.close()

    # The citizen's tracking page shows the order archived.
    ctx, page, errors4 = _context(browser, mobile=True)
    page.goto(base + reverse("public:track", args=[case.tracking_code]))
    state = page.locator("#case-state")
    assert state.get_attribute("data-state") == State.CLOSED
    assert "归档销单" in state.inner_text()
    ctx.close()
    assert not errors + errors2 + errors3 + errors4
