"""In headless Chromium: dispatch with a co-department → the part → the lead's submit; the
whistle board. Screenshots go to ``$CG_SCREENSHOTS`` when set."""

from __future__ import annotations

import os

import pytest
from django.urls import reverse

from civicgrid.cases import services
from civicgrid.cases.models import Case, CasePart, PartState, State
from civicgrid.people.models import Role
from civicgrid.people.tests.factories import DepartmentFactory, UserFactory, assign

from .conftest import new_case
from .test_browser import Session, browser, photo_payload  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


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
