"""In headless Chromium: a department task from composing to done (the worker completes it in
the field app), the team editor and the public admission list. ``ORG_SCREENSHOTS=<dir>`` keeps
screenshots of each page. Run alone with ``pytest -m browser``."""

from __future__ import annotations

import datetime as dt
import os
import time

import pytest
from django.urls import reverse
from django.utils import timezone

from civicgrid.cases.models import AdmissionItem, DepartmentTask, GridTaskState
from civicgrid.people.models import GridMember

from .test_browser import PASSWORD, Session, browser  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shot(page, name: str) -> None:
    folder = os.environ.get("ORG_SCREENSHOTS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)


def wait_for(check, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.2)


def test_a_department_task_from_composing_to_done(browser, live_server, world):  # noqa: F811
    from civicgrid.people.tests.factories import Role, UserFactory, add_member, assign

    w2 = UserFactory(username="worker_a2", full_name="甲二网格员")
    assign(w2, Role.GRID_WORKER, world.comm_a)
    add_member(w2, world.grid_a2, is_leader=True)
    AdmissionItem.objects.create(
        department=world.dept_a,
        code="CG-01",
        name="门前三包检查",
        item_class="城市管理类",
        legal_basis="《城市市容和环境卫生管理条例》",
    )

    handler = Session(browser, live_server.url).login("handler_a")
    handler.open(reverse("console:task_compose"))
    p = handler.page
    p.select_option("#compose-item", "CG-01")
    p.fill("input[name=title]", "门前三包检查")
    deadline = timezone.localtime(timezone.now() + dt.timedelta(days=3))
    p.fill("input[name=deadline]", deadline.strftime("%Y-%m-%dT%H:%M"))
    p.fill("textarea[name=instructions]", "逐户检查沿街商户门前三包落实情况，拍照上传。")
    p.check(f"input[name=grids][value='{world.grid_a1.code}']")
    # the second grid is chosen on the map: click inside its boundary
    point = p.evaluate(_inside_point_js(world.grid_a2))
    box = p.locator("#compose-map").bounding_box()
    p.mouse.click(box["x"] + point[0], box["y"] + point[1])
    assert p.is_checked(f"input[name=grids][value='{world.grid_a2.code}']")
    assert "2" in p.inner_text("#grid-count")
    shot(p, "task-compose")
    with p.expect_navigation():
        p.click("button[type=submit].btn-primary")
    order = DepartmentTask.objects.get()
    assert p.url.endswith(reverse("console:task_board", args=[order.pk]))
    assert p.inner_text("[data-count=pending]") == "2"

    task = order.grid_tasks.get(grid=world.grid_a1)
    worker = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    wp = worker.new_page()
    errors: list[str] = []
    wp.on("pageerror", lambda e: errors.append(str(e)))
    wp.goto(live_server.url + reverse("field:login"))
    wp.fill("#id_username", "worker_a1")
    wp.fill("#id_password", PASSWORD)
    with wp.expect_navigation():
        wp.click("button[type=submit]")
    wp.goto(live_server.url + reverse("field:task", args=[task.pk]))
    assert "逐户检查沿街商户" in wp.content()
    wp.fill("form.js-act textarea[name=text]", "已逐户检查，12户均已落实")
    wp.click("form.js-act button[type=submit]")
    wait_for(lambda: order.grid_tasks.get(pk=task.pk).state == GridTaskState.DONE)
    worker.close()
    assert errors == []

    handler.open(reverse("console:task_board", args=[order.pk]))
    assert p.inner_text("[data-count=done]") == "1"
    assert p.inner_text("[data-count=pending]") == "1"
    assert p.get_attribute(f"tr[data-grid='{world.grid_a1.code}']", "data-status") == "done"
    assert "已逐户检查" in p.inner_text("#board")
    shot(p, "task-board")
    assert handler.errors == []
    handler.close()


def _inside_point_js(grid) -> str:
    c = grid.geometry.centroid
    return (
        "() => { const m = document.getElementById('compose-map').civicgridMap;"
        f" const pt = m.latLngToContainerPoint([{c.y}, {c.x}]); return [pt.x, pt.y]; }}"
    )


def test_the_team_editor_and_the_public_admission_list(browser, live_server, world):  # noqa: F811
    from civicgrid.cases.admission import admission_propose

    GridMember.objects.filter(user=world.worker_a1).update(work_phone="0352-7654321")
    AdmissionItem.objects.create(
        department=world.dept_a,
        code="CG-01",
        name="门前三包检查",
        item_class="城市管理类",
        legal_basis="《城市市容和环境卫生管理条例》",
        workload="每网格每月约2小时",
    )
    admission_propose(
        actor=world.handler_a,
        department=world.dept_a,
        name="人口普查入户登记",
        legal_basis="《统计法》",
        why_grid="入户",
        workload="每户10分钟",
    )
    op = Session(browser, live_server.url).login("operator_a")
    op.open(reverse("console:team_edit", args=[world.grid_a1.code]))
    warnings = op.page.inner_text("#team-warnings")
    assert "1+2+N" in warnings
    shot(op.page, "team-editor")
    op.open(reverse("console:admission"))
    assert "人口普查入户登记" in op.page.inner_text("#admission")
    shot(op.page, "admission-console")
    assert op.errors == []
    op.close()

    citizen = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = citizen.new_page()
    page.goto(live_server.url + reverse("public:admission"))
    text = page.inner_text("body")
    assert "门前三包检查" in text and "人口普查入户登记" not in text
    shot(page, "admission-public")
    citizen.close()
