"""End to end in headless Chromium: the closed loop by clicking, live counts, no console errors.

Run alone with ``pytest -m browser``. Static files come from the finders through pytest-django's
live server (collectstatic is not needed); ``make assets`` must have copied the npm files.
"""

from __future__ import annotations

import os

import pytest
from django.urls import reverse

from civicgrid.cases import services
from civicgrid.cases.models import Case, CaseAction, CasePart, PartState, State
from civicgrid.core.testing import chromium
from civicgrid.people.models import Role
from civicgrid.people.tests.factories import DepartmentFactory, UserFactory, assign

from .conftest import A1, jpeg, new_case

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pass-Word-123"  # the people factory's password


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


class Session:
    """One signed-in browser context that records every console error and failed request."""

    def __init__(self, browser, base: str):
        self.base = base
        self.context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
        self.page = self.context.new_page()
        self.page.set_default_timeout(15000)
        self.errors: list[str] = []
        self.page.on(
            "console",
            lambda m: self.errors.append(f"{m.type}: {m.text}") if m.type == "error" else None,
        )
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on(
            "response",
            lambda r: self.errors.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None,
        )

    def login(self, username: str) -> Session:
        p = self.page
        p.goto(self.base + reverse("login"))
        p.fill("input[name=username]", username)
        p.fill("input[name=password]", PASSWORD)
        p.click("button[type=submit]")
        p.wait_for_url(self.base + "/")
        return self

    def open(self, path: str) -> None:
        self.page.goto(self.base + path)
        self.page.wait_for_load_state("networkidle")

    def act(self, action: str, fill: dict | None = None, files: dict | None = None) -> None:
        """Open the action's panel, fill it, press its button, wait for the page to reload."""
        p = self.page
        item = p.locator(f"details[data-action={action}]")
        if item.get_attribute("open") is None:
            item.locator("summary").click()
        for name, value in (fill or {}).items():
            field = item.locator(f"[name={name}]")
            if field.evaluate("e => e.tagName") == "SELECT":
                field.select_option(str(value))
            else:
                field.fill(str(value))
        for name, payload in (files or {}).items():
            item.locator(f"input[name={name}]").set_input_files(payload)
        with p.expect_navigation():
            item.locator(f"button[data-submit={action}]").click()
        p.wait_for_load_state("networkidle")

    def offered(self) -> set[str]:
        return set(
            self.page.eval_on_selector_all(
                "details[data-action]", "els => els.map(e => e.dataset.action)"
            )
        )

    def close(self) -> None:
        self.context.close()


def photo_payload() -> dict:
    return {"name": "scene.jpg", "mimeType": "image/jpeg", "buffer": jpeg()}


def state_of(case) -> str:
    return Case.objects.get(pk=case.pk).state


def test_the_closed_loop_by_clicking(browser, live_server, world, cats):
    case = new_case(world, cats, description="人行道被占用")
    detail = reverse("console:case_detail", args=[case.pk])

    op = Session(browser, live_server.url).login("operator_a")
    op.open(detail)
    assert {"accept", "reject", "merge"} <= op.offered()
    op.act("accept", {"priority": "3"})
    assert state_of(case) == State.FILED
    assert "dispatch" in op.offered() and "accept" not in op.offered()
    op.act("dispatch", {"department": world.dept_a.pk})
    assert state_of(case) == State.ASSIGNED

    handler = Session(browser, live_server.url).login("handler_a")
    handler.open(detail)
    offered = handler.offered()
    assert "sign" in offered and not offered & {"accept", "dispatch", "verify", "rework"}
    handler.act("sign")
    assert state_of(case) == State.IN_PROGRESS
    handler.act("submit", {"result": "已劝离占道商贩"}, {"attachments": photo_payload()})
    assert state_of(case) == State.HANDLED
    assert handler.page.locator(".gallery .thumb img").count() >= 1

    op.open(detail)
    op.act("rework", {"reason": "现场仍有摊位"})
    assert state_of(case) == State.IN_PROGRESS
    assert Case.objects.get(pk=case.pk).rework_count == 1

    handler.open(detail)
    handler.act("submit", {"result": "摊位已全部清理"}, {"attachments": photo_payload()})
    assert state_of(case) == State.HANDLED

    op.open(detail)
    op.act("verify", {"note": "回访属实，已办结"})
    assert state_of(case) == State.CLOSED
    timeline = op.page.eval_on_selector_all(".tl-item", "els => els.map(e => e.className)")
    assert [c.split()[1][3:] for c in timeline] == [
        "report",
        "accept",
        "dispatch",
        "sign",
        "submit",
        "rework",
        "submit",
        "verify",
    ]
    assert list(CaseAction.objects.filter(case=case).values_list("actor__username", flat=True)) == [
        "operator_a",
        "operator_a",
        "operator_a",
        "handler_a",
        "handler_a",
        "operator_a",
        "handler_a",
        "operator_a",
    ]
    assert op.errors == [] and handler.errors == []
    op.close()
    handler.close()


def test_forbidden_actions_are_not_offered(browser, live_server, world, cats):
    case = new_case(world, cats)
    services.case_accept(case=case, actor=world.operator_a, category=case.category, priority=2)
    leader = Session(browser, live_server.url).login("leader_a")
    leader.open(reverse("console:case_detail", args=[case.pk]))
    assert leader.offered() == {"supervise", "comment"}
    assert leader.page.locator("[data-submit=dispatch]").count() == 0
    assert leader.page.locator("[data-reveal]").count() == 0
    assert leader.errors == []
    leader.close()


def test_inline_error_keeps_the_typed_text(browser, live_server, world, cats):
    case = new_case(world, cats)
    op = Session(browser, live_server.url).login("operator_a")
    op.open(reverse("console:case_detail", args=[case.pk]))
    item = op.page.locator("details[data-action=reject]")
    item.locator("summary").click()
    item.locator("button[data-submit=reject]").click()  # empty reason
    error = op.page.locator("details[data-action=reject] [data-field=reason] .field-error")
    error.wait_for()
    assert state_of(case) == State.REPORTED
    op.page.locator("details[data-action=reject] textarea[name=reason]").fill("非本辖区事项")
    with op.page.expect_navigation():
        op.page.locator("details[data-action=reject] button[data-submit=reject]").click()
    assert state_of(case) == State.REJECTED
    assert op.errors == []
    op.close()


def test_counts_update_live_and_a_half_typed_form_survives(
    browser, live_server, world, cats, settings
):
    settings.CIVICGRID = {**settings.CIVICGRID, "CONSOLE_POLL_SECONDS": 1}
    case = new_case(world, cats)
    op = Session(browser, live_server.url).login("operator_a")
    tile = op.page.locator("#tiles-operator [data-queue=reported]")
    assert tile.get_attribute("data-count") == "1"
    new_case(world, cats, description="第二个来电")
    op.page.wait_for_function(
        "() => document.querySelector('#tiles-operator [data-queue=reported]').dataset.count === '2'"
    )
    # On a case page the operator starts typing; someone else moves the case meanwhile.
    op.open(reverse("console:case_detail", args=[case.pk]))
    reason = op.page.locator("details[data-action=reject] textarea[name=reason]")
    op.page.locator("details[data-action=reject] summary").click()
    reason.fill("正在输入的退回理由")
    services.case_supervise(case=case, actor=world.leader_a, note="请尽快处理")
    op.page.locator(".changed-banner").wait_for()
    assert reason.input_value() == "正在输入的退回理由"
    assert op.errors == []
    op.close()


def test_hotline_intake_by_clicking_the_map(browser, live_server, world, cats):
    op = Session(browser, live_server.url).login("operator_a")
    op.open(reverse("console:intake"))
    p = op.page
    p.fill("input[name=reporter_name]", "赵先生")
    p.fill("input[name=reporter_phone]", "13911112222")
    p.select_option("select[name=category]", "0401")
    p.fill("textarea[name=description]", "菜市场门口占道经营")
    # Place the point by a real click on the map, where grid A1 is drawn.
    x, y = p.evaluate(
        "([lat, lng]) => { const m = document.getElementById('intake-map').civicgridMap; "
        "m.setView([lat, lng], 16, {animate: false}); const pt = m.latLngToContainerPoint([lat, lng]); "
        "const box = m.getContainer().getBoundingClientRect(); "
        "return [box.left + pt.x, box.top + pt.y]; }",
        [A1[0], A1[1]],
    )
    p.mouse.click(x, y)
    assert abs(float(p.input_value("#intake-lat")) - A1[0]) < 0.0005, p.input_value("#intake-lat")
    p.locator(f"#locate-result [data-grid='{world.grid_a1.code}']").wait_for()
    with p.expect_navigation():
        p.click("#intake-form button[type=submit]")
    case = Case.objects.get(description="菜市场门口占道经营")
    assert case.source == "hotline" and case.grid == world.grid_a1
    assert p.url.endswith(reverse("console:case_detail", args=[case.pk]))
    assert op.errors == []
    op.close()


def test_no_console_errors_on_any_page(browser, live_server, world, cats):
    case = new_case(world, cats)
    services.case_accept(case=case, actor=world.operator_a, category=case.category, priority=2)
    services.case_dispatch(case=case, actor=world.operator_a, department=world.dept_a)
    services.case_supervise(case=case, actor=world.leader_a, note="请加快")
    pages = [
        reverse("home"),
        reverse("console:case_list"),
        reverse("console:case_list") + "?state=filed&sort=deadline",
        reverse("console:case_detail", args=[case.pk]),
        reverse("console:intake"),
        reverse("console:map"),
        reverse("console:supervision"),
        reverse("console:grids"),
        reverse("console:grid_detail", args=[world.grid_a1.code]),
        reverse("console:workers"),
        reverse("notifications:inbox"),
    ]
    for username in ("operator_a", "handler_a", "leader_a"):
        s = Session(browser, live_server.url).login(username)
        for path in pages:
            if path == reverse("console:intake") and username != "operator_a":
                continue
            s.open(path)
            if path == reverse("console:map"):
                s.page.wait_for_function(
                    "() => /\\d/.test(document.getElementById('map-status').textContent)"
                )
        assert s.errors == [], (username, s.errors)
        s.close()


def test_map_page_loads_clustered_cases_of_the_visible_extent(browser, live_server, world, cats):
    for _ in range(3):
        new_case(world, cats)
    op = Session(browser, live_server.url).login("operator_a")
    requests: list[str] = []
    op.page.on("request", lambda r: requests.append(r.url) if "cases.json" in r.url else None)
    op.open(reverse("console:map"))
    op.page.wait_for_function("() => /3/.test(document.getElementById('map-status').textContent)")
    assert requests and all("bbox=" in url for url in requests)
    assert op.page.locator(".cluster, .leaflet-interactive").count() >= 1
    assert op.errors == []
    op.close()


# --- 主办/协办 and 吹哨报到 (screenshots go to $CG_SCREENSHOTS when set) ----------------------------


def shot(session, name: str) -> None:
    folder = os.environ.get("CG_SCREENSHOTS")
    if folder:
        session.page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)


def sub_act(session, selector: str, action: str, fill: dict | None = None) -> None:
    p = session.page
    item = p.locator(f"{selector} details[data-sub-action={action}]")
    item.locator("summary").click()
    for name, value in (fill or {}).items():
        item.locator(f"[name={name}]").fill(value)
    with p.expect_navigation():
        item.locator(f"button[data-submit={action}]").click()
    p.wait_for_load_state("networkidle")


def test_dispatch_with_a_co_department_part_then_lead_submit(browser, live_server, world, cats):
    a2 = DepartmentFactory(code="A-SW", name="甲区水务局", area=world.dist_a)
    h2 = UserFactory(username="handler_a2", full_name="甲区水务")
    assign(h2, Role.HANDLER, world.dist_a, department=a2)
    case = new_case(world, cats, description="小区雨水井堵塞，污水漫溢到人行道")
    services.case_accept(case=case, actor=world.operator_a, category=case.category, priority=3)
    detail = reverse("console:case_detail", args=[case.pk])

    op = Session(browser, live_server.url).login("operator_a")
    op.open(detail)
    item = op.page.locator("details[data-action=dispatch]")
    if item.get_attribute("open") is None:
        item.locator("summary").click()
    item.locator("[name=department]").select_option(str(world.dept_a.pk))
    item.locator("[name=co_departments]").select_option([str(a2.pk)])
    with op.page.expect_navigation():
        item.locator("button[data-submit=dispatch]").click()
    op.page.wait_for_load_state("networkidle")
    assert Case.objects.get(pk=case.pk).state == State.ASSIGNED
    assert op.page.locator('#cohandling [data-part="A-SW"]').count() == 1

    co = Session(browser, live_server.url).login("handler_a2")
    co.open(detail)
    assert co.offered() <= {"comment", "attach"}
    sub_act(co, "#cohandling", "sign")
    sub_act(co, "#cohandling", "submit", {"result": "已疏通雨水井并清理路面"})
    assert CasePart.objects.get(case=case).state == PartState.SUBMITTED

    lead = Session(browser, live_server.url).login("handler_a")
    lead.open(detail)
    lead.act("sign")
    lead.act("submit", {"result": "主办完成，协办已反馈"}, {"attachments": photo_payload()})
    assert Case.objects.get(pk=case.pk).state == State.HANDLED
    assert lead.page.locator('#cohandling [data-part-state="submitted"]').count() == 1
    shot(lead, "case_cohandling_panel")

    wcase = new_whistle_case(world, cats)
    services.case_whistle(
        case=wcase,
        actor=world.chief_a,
        departments=["A-SW", "A-CG"],
        reason="占道经营反复回潮，需城管、水务到场联合处置",
    )
    chief = Session(browser, live_server.url).login("chief_a")
    chief.open(reverse("console:whistles"))
    assert chief.page.locator("[data-call-state=called]").count() == 2
    assert chief.page.locator("[data-countdown]").count() == 2
    shot(chief, "whistle_board")
    chief.open(reverse("console:case_detail", args=[wcase.pk]))
    assert chief.page.locator('#whistles [data-call="A-SW"]').count() == 1
    assert chief.page.locator("#whistles details[data-sub-action=cancel]").count() == 2
    shot(chief, "case_whistle_panel")
    assert op.errors == [] and co.errors == [] and lead.errors == [] and chief.errors == []
    for s in (op, co, lead, chief):
        s.close()


def new_whistle_case(world, cats):
    case = new_case(world, cats, description="商户占道经营，多次劝离后复发")
    services.case_accept(case=case, actor=world.operator_a, category=case.category, priority=2)
    services.case_dispatch(case=case, actor=world.operator_a, department=world.dept_a)
    return Case.objects.get(pk=case.pk)
