"""The field app's collection and visit pages in headless Chromium with a phone viewport: a house
found by address, a new resident with a tag saved offline and sent once when the network is
back; a one-tap visit. Run alone with ``pytest -m browser``."""

from __future__ import annotations

import os

import pytest

from civicgrid.basedata import services
from civicgrid.basedata.models import Collection, Person, PersonTag, TagKind, Visit
from civicgrid.basedata.tagkinds import ensure_builtin_data
from civicgrid.core.testing import chromium
from civicgrid.field.tests.test_browser import phone, wait_until

from .conftest import A1, pid

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shot(page, name: str) -> None:
    folder = os.environ.get("BASEDATA_SCREENSHOTS")
    if folder:
        page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)


def test_collect_offline_then_sent_once_and_a_one_tap_visit(
    world, client, live_server, monkeypatch
):
    ensure_builtin_data()
    house = services.house_create(
        actor=world.worker_a1, lat=A1[0], lng=A1[1], address="甲街1号", building="1", room="301"
    )
    head = services.person_create(
        actor=world.worker_a1, data={"name": "张三", "id_number": pid(11), "house": house}
    )
    services.household_create(house=house, head=head, actor=world.worker_a1)
    kind = TagKind.objects.get(code="lonely_elderly")
    services.tag_add(person=head, kind=kind, actor=world.worker_a1)
    client.force_login(world.worker_a1)
    cookie = client.cookies["sessionid"].value
    with phone(monkeypatch, service_workers="block") as context:
        context.add_cookies([{"name": "sessionid", "value": cookie, "url": live_server.url}])
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(live_server.url + "/field/")
        assert page.locator("#basedata-tiles").count() == 1
        shot(page, "home")
        page.goto(live_server.url + "/field/basedata/")
        page.fill("#house-q", "甲街")
        page.click("#house-hits a[data-id]")
        assert "甲街1号" in page.locator("#house-label").inner_text()
        assert page.locator(".bd-person").count() == 1  # the resident on file
        page.click("#add-person")
        card = page.locator(".bd-person").nth(1)
        card.locator(".p-name").fill("张小三")
        card.locator(".p-id").fill(pid(12))
        card.locator(".p-relation").select_option("child")
        card.locator("summary").click()
        card.locator('.bd-tag[data-kind="left_behind_child"] input[type=checkbox]').check()
        card.locator('.bd-tag[data-kind="left_behind_child"] [data-field="guardian"]').fill("张三")
        shot(page, "collect")
        context.set_offline(True)
        page.click("#submit")
        page.wait_for_selector("#saved-banner:not(.hidden)")
        wait_until(page, "CG.db.count('outbox').then(n => n === 1)")
        assert not Person.objects.filter(name="张小三").exists()
        context.set_offline(False)
        page.evaluate("window.dispatchEvent(new Event('online'))")
        wait_until(page, "CG.db.count('outbox').then(n => n === 0)")
        assert Collection.objects.count() == 1
        kid = Person.objects.get(name="张小三")
        assert kid.house_id == house.pk and kid.membership.relation == "child"
        assert PersonTag.objects.filter(person=kid, kind__code="left_behind_child").exists()

        page.goto(live_server.url + "/field/basedata/visits/")
        shot(page, "visits")
        page.locator(".bd-visit").first.locator(".js-quick").click()
        wait_until(page, "document.querySelector('.bd-visit.done') !== null")
        assert Visit.objects.filter(person=head, worker=world.worker_a1).count() == 1
        shot(page, "visited")
        assert not errors, errors


def test_console_case_page_links_a_person_by_id_number(world, client, live_server, monkeypatch):

    from civicgrid.basedata.models import CaseLink
    from civicgrid.cases.models import Category, HandlingLevel, SlaUnit, Source
    from civicgrid.cases.services import case_report

    ensure_builtin_data()
    parent = Category.objects.create(code="07", name="社会治安")
    cat = Category.objects.create(
        code="0701",
        name="矛盾纠纷",
        parent=parent,
        handling_level=HandlingLevel.VILLAGE,
        default_department=world.dept_a,
        sla_unit=SlaUnit.NATURAL,
    )
    house = services.house_create(
        actor=world.worker_a1, lat=A1[0], lng=A1[1], address="甲街1号", building="1", room="301"
    )
    person = services.person_create(
        actor=world.worker_a1, data={"name": "张三", "id_number": pid(11), "house": house}
    )
    case = case_report(
        actor=world.worker_a1,
        category=cat,
        description="邻里纠纷",
        lat=A1[0],
        lng=A1[1],
        source=Source.GRID_WORKER,
    )
    client.force_login(world.operator_a)
    cookie = client.cookies["sessionid"].value
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
        context.add_cookies([{"name": "sessionid", "value": cookie, "url": live_server.url}])
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(live_server.url + f"/console/cases/{case.pk}/")
        form = page.locator("#basedata-links form.bd-link-form")
        form.locator("select[name=entity]").select_option("person")
        form.locator("input[name=ref]").fill(pid(11))
        form.locator("button[type=submit]").click()
        page.wait_for_selector("#basedata-links a:has-text('张三')")
        assert pid(11) not in page.content()
        assert CaseLink.objects.filter(case=case, object_id=person.pk).exists()
        shot(page, "console-case")
        page.goto(live_server.url + f"/basedata/persons/{person.pk}/")
        assert case.tracking_code in page.locator("#linked-cases").inner_text()
        shot(page, "console-person")
        page.goto(live_server.url + f"/basedata/grids/{world.grid_a1.code}/")
        page.click("#grid-map-link")
        page.wait_for_selector(".bd-map-control")
        wait_until(page, "document.querySelector('.bd-map-status').textContent.length > 0")
        assert page.locator(".bd-map-control input[data-layer=house]").is_checked()
        shot(page, "console-map")
        page.goto(live_server.url + "/analytics/")
        page.wait_for_selector("#basedata-tiles")
        shot(page, "dashboard")
        assert not errors, errors
