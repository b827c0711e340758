"""End to end in headless Chromium: a dispute from the grid worker's offline 排查 to 归档.

Run alone with ``pytest -m browser``; MEDIATION_SCREENSHOTS=<folder> keeps screenshots of the
phone form, the workspace, the dispute page and the A4 agreement.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest

from civicgrid.console.tests.test_browser import Session, browser  # noqa: F401 (fixture)
from civicgrid.field.tests.test_browser import wait_until
from civicgrid.mediation.models import Dispute, DisputeState

from .conftest import med  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
    "service_workers": "block",
}


def shot(page, name: str) -> None:
    folder = os.environ.get("MEDIATION_SCREENSHOTS")
    if folder:
        page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)


def test_a_dispute_from_screening_to_archive(browser, live_server, med, client):  # noqa: F811
    w = med
    # 排查: the grid worker registers the dispute on the phone while offline; it goes up once.
    client.force_login(w.worker_a1)
    phone = browser.new_context(**PHONE)
    phone.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page = phone.new_page()
    page.goto(live_server.url + "/field/mediation/new/")
    phone.set_offline(True)
    page.select_option("select[name=kind]", "neighbour")
    page.fill("input[name=title]", "楼上漏水纠纷")
    page.fill("textarea[name=facts]", "楼上卫生间漏水，楼下要求赔偿，双方争吵。")
    page.fill("input[name=applicant]", "张三")
    page.fill("input[name=respondent]", "李四")
    shot(page, "field-register")
    page.click("button[type=submit]")
    wait_until(page, "CG.db.count('outbox').then(n => n === 1)")
    assert Dispute.objects.count() == 0
    phone.set_offline(False)
    page.evaluate("CG.sync()")
    wait_until(page, "CG.db.count('outbox').then(n => n === 0)")
    d = Dispute.objects.get()
    assert d.source == "screening" and d.center == w.center_comm_a
    phone.close()

    # The community center triages, mediates, settles; the agreement is fulfilled and visited.
    op = Session(browser, live_server.url).login("operator_a")
    op.open("/mediation/")
    shot(op.page, "workspace")
    op.open(f"/mediation/disputes/{d.pk}/")
    assert op.offered() == {"triage", "withdraw", "escalate", "flag_violence"}
    op.act("triage", {"body": w.body_comm.pk, "reason": "邻里纠纷，村调委会调处"})
    op.act("choose_mediator", {"mediator": w.elder.pk})
    op.act("start")
    op.act(
        "session",
        {
            "held_at": "2025-06-10T10:00",
            "place": "村调解室",
            "participants": "张三、李四、李老",
            "summary": "双方同意由楼上承担维修费",
        },
    )
    fulfil_by = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    op.page.locator("details[data-action=agree] summary").click()
    op.page.fill("details[data-action=agree] textarea[name=terms]", "李四承担维修费2000元。")
    op.page.fill("details[data-action=agree] input[name=amount]", "2000")
    op.page.fill("details[data-action=agree] input[name=fulfil_by]", fulfil_by)
    with op.page.expect_navigation():
        op.page.click("button[data-submit=agree]")
    assert Dispute.objects.get(pk=d.pk).state == DisputeState.AGREED
    op.act("fulfil", {"note": "已当面支付"})
    op.act("visit", {"note": "双方满意"})
    shot(op.page, "dispute")
    op.open(f"/mediation/disputes/{d.pk}/agreement/")
    shot(op.page, "agreement-a4")
    op.open(f"/mediation/disputes/{d.pk}/")
    op.act("archive")
    assert Dispute.objects.get(pk=d.pk).state == DisputeState.ARCHIVED
    op.open("/mediation/registers/mediation/print/?from=2000-01-01&to=2099-12-31")
    assert d.number in op.page.content()
    shot(op.page, "register-print")
    assert not [e for e in op.errors if "favicon" not in e], op.errors
    op.close()
