"""Citizen pages and API: report form, rate limits, idempotency, public timeline, rating, board."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from civicgrid.cases import services as case_services
from civicgrid.cases.models import Attachment, Case, State
from civicgrid.field.tests.conftest import A1, A2, jpeg_bytes
from civicgrid.people.models import GridAdviser
from civicgrid.people.tests.factories import UserFactory, add_member
from civicgrid.public.services import IP_LIMITS, PHONE_LIMITS

pytestmark = pytest.mark.django_db
# Rate limits count in fixed windows: freeze the clock so a window never turns mid-test.
FROZEN = time_machine.travel(
    dt.datetime(2026, 6, 15, 10, 1, tzinfo=dt.timezone(dt.timedelta(hours=8))), tick=False
)


def form(cats, **extra):
    data = {
        "client_id": str(uuid.uuid4()),
        "category": cats.small.code,
        "description": "小区门口垃圾堆积三天无人清运",
        "lat": str(A1[0]),
        "lng": str(A1[1]),
        "crs": "wgs84",
        "phone": "13812345678",
        "photos": [SimpleUploadedFile("a.jpg", jpeg_bytes(), content_type="image/jpeg")],
    }
    data.update(extra)
    return data


def test_citizen_report_opens_the_tracking_page(client, world, cats):
    r = client.post("/report/", form(cats))
    case = Case.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/track/{case.tracking_code}/?new=1"
    assert case.source == "citizen" and case.reporter is None
    assert case.reporter_phone == "13812345678" and case.grid == world.grid_a1
    assert Attachment.objects.filter(case=case).count() == 1
    page = client.get(r["Location"])
    assert case.tracking_code in page.content.decode()


def test_the_same_form_sent_twice_files_one_case(client, world, cats):
    data = form(cats)
    client.post("/report/", data)
    data["photos"] = [SimpleUploadedFile("a.jpg", jpeg_bytes(), content_type="image/jpeg")]
    r = client.post("/report/", data)
    assert r.status_code == 302
    assert Case.objects.count() == 1 and Attachment.objects.count() == 1


def test_an_anonymous_report_needs_a_mobile_number(client, world, cats):
    r = client.post("/report/", form(cats, phone=""), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert r.status_code == 400
    assert "请留下手机号" in r.content.decode()
    r = client.post("/report/", form(cats, phone="12345"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert r.status_code == 400 and "11位手机号码" in r.content.decode()
    assert not Case.objects.exists()


def test_a_signed_in_citizen_may_leave_the_phone_out(client, world, cats):
    client.force_login(world.citizen)
    r = client.post("/report/", form(cats, phone=""))
    assert r.status_code == 302
    assert Case.objects.get().reporter == world.citizen


def test_report_form_preset_to_a_grid_uses_a_point_inside_it(client, world, cats):
    page = client.get(f"/report/?grid={world.grid_a2.code}")
    assert world.grid_a2.name in page.content.decode()
    r = client.post(
        f"/report/?grid={world.grid_a2.code}", form(cats, lat="", lng="", grid=world.grid_a2.code)
    )
    assert r.status_code == 302
    assert Case.objects.get().grid == world.grid_a2


@FROZEN
def test_rate_limit_per_ip_with_a_clear_chinese_message(client, world, cats):
    _window, allowed = IP_LIMITS[0]
    for i in range(allowed):
        r = client.post("/report/", form(cats, phone=f"1380000{i:04d}"))
        assert r.status_code == 302
    r = client.post("/report/", form(cats, phone="13900009999"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert r.status_code == 429
    text = r.content.decode()
    assert "提交过于频繁" in text and "分钟后再试" in text
    assert Case.objects.count() == allowed
    # Another network is not affected.
    r = client.post("/report/", form(cats, phone="13900009999"), REMOTE_ADDR="10.1.2.3")
    assert r.status_code == 302


@FROZEN
def test_rate_limit_per_phone_across_networks(client, world, cats):
    _window, allowed = PHONE_LIMITS[0]
    for i in range(allowed):
        r = client.post("/report/", form(cats), REMOTE_ADDR=f"10.0.0.{i + 1}")
        assert r.status_code == 302
    r = client.post("/report/", form(cats), REMOTE_ADDR="10.0.9.9", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert r.status_code == 429
    assert "该手机号提交过于频繁" in r.content.decode()
    assert Case.objects.count() == allowed


@FROZEN
def test_retries_and_refused_forms_do_not_count_against_the_limit(client, world, cats):
    _window, allowed = IP_LIMITS[0]
    data = form(cats)
    for _ in range(allowed + 3):  # the same form again and again: one report
        data["photos"] = []
        assert client.post("/report/", data).status_code == 302
    for _ in range(allowed + 3):  # invalid forms
        assert client.post("/report/", form(cats, description="")).status_code == 400
    for i in range(allowed - 1):
        assert client.post("/report/", form(cats, phone=f"1370000{i:04d}")).status_code == 302
    assert Case.objects.count() == allowed


@FROZEN
def test_public_api_report_is_anonymous_and_rate_limited(client, world, cats):
    client.force_login(world.citizen)  # a session cookie is ignored by the CSRF-free API
    r = client.post("/api/public/reports", form(cats))
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["created"] is True and body["track_url"].endswith(
        f"/track/{body['tracking_code']}/"
    )
    assert Case.objects.get().reporter is None
    for i in range(IP_LIMITS[0][1] - 1):
        client.post("/api/public/reports", form(cats, phone=f"1360000{i:04d}"))
    r = client.post("/api/public/reports", form(cats, phone="13500000000"))
    assert r.status_code == 429 and r.json()["code"] == "rate_limited"
    assert r.json()["details"]["retry_after"] > 0


# --- tracking page -----------------------------------------------------------------------------


def closed_case(world, cats, client):
    client.post("/report/", form(cats))
    case = Case.objects.get()
    w = world
    case_services.case_accept(
        case=case, actor=w.operator_a, category=cats.small, priority=2, note="坐席甲区坐席受理"
    )
    case_services.case_comment(
        case=case, actor=w.operator_a, text="内部备注：注意该户常投诉", internal=True
    )
    case_services.case_dispatch(
        case=case, actor=w.operator_a, department=w.dept_a, note="派给甲区城管张科长"
    )
    case_services.case_sign(case=case, actor=w.handler_a)
    case_services.case_submit(
        case=case, actor=w.handler_a, result="已安排清运车清理完毕", attachments=[jpeg_bytes()]
    )
    case_services.case_verify(case=case, actor=w.operator_a, note="甲区坐席电话回访核实")
    case.refresh_from_db()
    return case


STAFF_NAMES = ["甲区坐席", "甲区城管", "张科长", "内部备注", "甲一网格员", "甲区领导"]


def mentions(name: str, text: str) -> bool:
    # The handler 甲区城管 works for the department 甲区城管局, which may be named.
    return re.search(re.escape(name) + "(?!局)", text) is not None


def test_tracking_page_shows_the_public_timeline_without_staff_names(client, world, cats):
    case = closed_case(world, cats, client)
    assert case.state == State.CLOSED
    with translation.override("zh-hans"):
        page = client.get(f"/track/{case.tracking_code}/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    text = page.content.decode()
    for name in STAFF_NAMES:
        assert not mentions(name, text), name
    assert "已安排清运车清理完毕" in text  # the result is public
    assert "甲区城管局" in text  # the department is named, its staff are not
    assert text.count('class="h"') == 6  # report, accept, dispatch, sign, submit, verify
    api = client.get(f"/api/public/track/{case.tracking_code}").json()
    dumped = str(api)
    for name in STAFF_NAMES:
        assert not mentions(name, dumped), name
    assert {r["action"] for r in api["timeline"]} == {
        "report",
        "accept",
        "dispatch",
        "sign",
        "submit",
        "verify",
    }


def test_rating_after_closure_once(client, world, cats):
    case = closed_case(world, cats, client)
    page = client.get(f"/track/{case.tracking_code}/")
    assert 'id="rate-form"' in page.content.decode()
    r = client.post(f"/track/{case.tracking_code}/", {"score": "4", "text": "处理及时"})
    assert r.status_code == 302
    case.refresh_from_db()
    assert (case.satisfaction, case.rating_text) == (4, "处理及时")
    again = client.post(
        f"/api/public/track/{case.tracking_code}/rate",
        '{"score": 1}',
        content_type="application/json",
    )
    assert again.status_code == 400 and again.json()["code"] == "already_rated"
    assert 'id="rate-form"' not in client.get(f"/track/{case.tracking_code}/").content.decode()


def test_no_rating_before_closure(client, world, cats):
    client.post("/report/", form(cats))
    case = Case.objects.get()
    assert 'id="rate-form"' not in client.get(f"/track/{case.tracking_code}/").content.decode()
    r = client.post(
        f"/api/public/track/{case.tracking_code}/rate",
        '{"score": 5}',
        content_type="application/json",
    )
    assert r.status_code == 409
    case.refresh_from_db()
    assert case.satisfaction is None


def test_unknown_tracking_code(client, world):
    assert client.get("/track/NOPE2345/").status_code == 404
    assert client.get("/api/public/track/NOPE2345").status_code == 404
    assert client.get("/track/?code=abc").status_code == 302


# --- grid board --------------------------------------------------------------------------------


def test_grid_board_shows_work_phones_never_personal_ones_and_links_the_report_form(client, world):
    from civicgrid.people.models import GridMember

    world.worker_a1.phone = "13912345678"
    world.worker_a1.save()
    GridMember.objects.filter(user=world.worker_a1).update(work_phone="0352-7654321")
    second = UserFactory(username="w2", full_name="甲一兼职", phone="13811112222")
    add_member(second, world.grid_a1, worker_type="part_time")
    world.center_comm_a.phone = "0352-8000000"
    world.center_comm_a.save()
    GridAdviser.objects.create(
        grid=world.grid_a1, kind="lawyer", name="李律师", organisation="某律所", phone="13600001111"
    )
    page = client.get(f"/grid/{world.grid_a1.code}/")
    text = page.content.decode()
    assert page.status_code == 200
    assert world.grid_a1.code in text and world.grid_a1.name in text
    # the work phone in full; the personal phones neither in full nor masked
    assert "0352-7654321" in text
    assert "13912345678" not in text and "139****5678" not in text
    assert "13811112222" not in text and "138****2222" not in text
    # a member without a work phone shows the center's duty line
    assert "0352-8000000" in text
    assert "13600001111" not in text
    assert text.count("<svg") >= 2 and "<path" in text  # two inline QR codes
    assert f"/report/?grid={world.grid_a1.code}" in text
    assert "@page { size: A4" in text
    assert "@page { size: A3" in client.get(f"/grid/{world.grid_a1.code}/?size=a3").content.decode()
    api = client.get(f"/api/public/grids/{world.grid_a1.code}").json()
    phones = {m["name"]: m["phone"] for m in api["members"]}
    assert phones == {"甲一网格员": "0352-7654321", "甲一兼职": "0352-8000000"}
    assert "13912345678" not in str(api) and "139****5678" not in str(api)
    assert api["geometry"]["type"] == "Polygon"


def test_board_qr_code_encodes_the_board_url(client, world, settings):
    settings.CIVICGRID = {**settings.CIVICGRID, "PUBLIC_BASE_URL": "https://wg.example.cn"}
    text = client.get(f"/grid/{world.grid_a1.code}/").content.decode()
    assert f"https://wg.example.cn/grid/{world.grid_a1.code}/" in text
    assert f"https://wg.example.cn/report/?grid={world.grid_a1.code}" in text


def test_unknown_grid_board_is_404(client, world):
    assert client.get("/grid/999999999999999/").status_code == 404


def test_public_locate_and_outlines(client, world):
    r = client.get(f"/api/public/locate?lat={A2[0]}&lng={A2[1]}").json()
    assert r["grid_code"] == world.grid_a2.code
    x0, y0, x1, y1 = world.city.geometry.bounds
    fc = client.get(f"/api/public/grids?bbox={x0},{y0},{x1},{y1}").json()
    assert {f["properties"]["code"] for f in fc["features"]} == {
        world.grid_a1.code,
        world.grid_a2.code,
        world.grid_b1.code,
    }
    assert client.get("/api/public/grids?bbox=0,0,10,10").status_code == 400
    streets = client.get("/api/public/areas?level=3").json()
    assert {f["properties"]["name"] for f in streets["features"]} == {"甲街道", "乙街道"}
    assert client.get("/api/public/areas?level=1").status_code == 400


def test_report_page_lists_categories(client, world, cats):
    text = client.get("/report/").content.decode()
    assert re.search(r'<option value="0401"', text) and cats.small.name in text
