"""The square map page in headless Chromium on a phone: markers from the public projection,
filters, text-only popups. Run alone with ``pytest -m browser``."""

from __future__ import annotations

import pytest

from civicgrid.cases import services as cs
from civicgrid.cases.models import Category
from civicgrid.field.tests.conftest import A1, A2
from civicgrid.field.tests.test_browser import phone, shot, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_square_map_shows_public_matters_and_filters_them(live_server, world, cats, monkeypatch):
    hostile = Category.objects.create(
        code="0501", name='<img src=x onerror="window.pwned=1">井盖', parent=Category.objects.create(
            code="05", name="公共设施"
        ),
    )  # fmt: skip
    private = Category.objects.create(code="07", name="特殊人群", is_private=True)
    hidden = Category.objects.create(code="0701", name="独居老人关爱", parent=private)
    for cat, point in ((cats.small, A1), (hostile, A2), (hidden, A1)):
        cs.case_report(
            actor=world.citizen, category=cat, description="x", lat=point[0], lng=point[1]
        )
    with phone(monkeypatch) as context:
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{live_server.url}/square/")
        wait_until(page, "document.getElementById('square-count').dataset.count === '2'")
        assert page.locator(".leaflet-interactive").count() == 2
        page.locator(".leaflet-interactive").last.click(force=True)
        page.wait_for_selector(".leaflet-popup-content")
        shot(page, "square-map")
        assert page.evaluate("window.pwned") is None
        page.select_option("#square-category", "04")
        wait_until(page, "document.getElementById('square-count').dataset.count === '1'")
        options = page.locator("#square-category option").all_inner_texts()
        assert "特殊人群" not in options
        assert errors == []
