"""The audit page in headless Chromium: a real sign-in appears with its address; no errors.

AUDIT_SCREENSHOTS=<folder> keeps audit-trail.png (docs/screenshots/ holds the published one)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.urls import reverse

from civicgrid.core.testing import chromium

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pass-Word-123"  # the people factory's password


@pytest.fixture
def page():
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1400, "height": 800}, locale="zh-CN")
        p = context.new_page()
        p.errors = []
        p.on("pageerror", lambda e: p.errors.append(str(e)))
        p.on("response", lambda r: p.errors.append(r.url) if r.status >= 400 else None)
        yield p


def test_admin_finds_their_own_sign_in_and_a_failed_one(page, live_server, world):
    base = live_server.url
    page.goto(base + reverse("login"))
    page.fill("input[name=username]", "operator_a")
    page.fill("input[name=password]", "wrong password")
    page.click("button[type=submit]")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    page.click("text=审计日志")
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text() == "审计日志"
    page.select_option("select[name=action]", "login_failed")
    page.click("form.filter-bar button.btn-primary")
    page.wait_for_load_state("networkidle")
    rows = page.locator("table.audit-table tbody tr")
    assert rows.count() == 1 and "operator_a" in rows.first.inner_text()
    assert "127.0.0.1" in rows.first.inner_text()
    page.goto(base + "/console/audit/")
    page.locator("table.audit-table details summary").first.click()
    if folder := os.environ.get("AUDIT_SCREENSHOTS"):
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / "audit-trail.png"), full_page=False)
    assert not page.errors, page.errors
