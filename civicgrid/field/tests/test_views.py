"""The field pages: sign-in, every page renders for a worker, scope on detail pages, PWA files."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from civicgrid.cases import services as case_services
from civicgrid.cases.models import AdmissionItem, GridTask

from .conftest import A1, A2

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

PAGES = [
    "/field/",
    "/field/tasks/",
    "/field/tasks/?tab=verify",
    "/field/tasks/?tab=self",
    "/field/tasks/?tab=grid",
    "/field/report/",
    "/field/patrol/",
    "/field/checkin/",
    "/field/outbox/",
    "/field/me/",
]


@pytest.mark.parametrize("url", PAGES)
def test_pages_need_a_sign_in(client, world, url):
    r = client.get(url)
    assert r.status_code == 302 and r["Location"].startswith("/field/login/?next=")


@pytest.mark.parametrize("url", PAGES)
def test_pages_render_in_chinese_for_a_worker(client, world, cats, field, url):
    client.force_login(world.worker_a1)
    r = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert r.status_code == 200
    text = r.content.decode()
    assert "首页" in text and "巡查" in text  # the tab bar
    assert 'rel="manifest"' in text and "csrftoken" in r.cookies


def test_the_report_page_lists_categories_and_self_closable_ones(client, world, cats):
    client.force_login(world.worker_a1)
    text = client.get("/field/report/").content.decode()
    assert 'value="0401"' in text and 'capture="environment"' in text
    assert '["0401"]' in text  # self-closable codes for the switch
    assert world.grid_a1.code in text  # the outline of my grid for the map (json_script)


def test_home_counts_what_waits(client, world, cats):
    case = case_services.case_report(
        actor=world.operator_a,
        category=cats.small,
        description="走访",
        lat=A1[0],
        lng=A1[1],
        source="hotline",
        reporter_phone="13900001111",
    )
    case_services.case_accept(case=case, actor=world.operator_a, category=cats.small, priority=2)
    case_services.case_dispatch(case=case, actor=world.operator_a, worker=world.worker_a1)
    item = AdmissionItem.objects.create(department=world.dept_a, code="X1", name="入户核查")
    GridTask.objects.create(
        department=world.dept_a,
        item=item,
        grid=world.grid_a1,
        scope_code=world.grid_a1.code,
        worker=world.worker_a1,
        title="出租房屋核查",
        deadline=timezone.now() + dt.timedelta(days=1),
    )
    client.force_login(world.worker_a1)
    text = client.get("/field/").content.decode()
    assert case.tracking_code in text and "出租房屋核查" in text
    assert "<b>2</b><span>待办</span>" in text.replace("\n", "")


@pytest.mark.parametrize(
    "who, status", [("worker_a1", 200), ("operator_a", 200), ("outsider_b", 404), ("citizen", 404)]
)
def test_case_page_follows_the_case_scope(client, world, cats, who, status):
    case = case_services.case_report(
        actor=world.worker_a1,
        category=cats.small,
        description="堆物",
        lat=A1[0],
        lng=A1[1],
        source="grid_worker",
    )
    client.force_login(getattr(world, who))
    assert client.get(f"/field/cases/{case.pk}/").status_code == status


def test_verify_form_is_offered_only_to_a_verifier_of_the_grid(client, world, cats, field):
    case = case_services.case_report(
        actor=world.operator_a,
        category=cats.small,
        description="路灯",
        lat=A1[0],
        lng=A1[1],
        source="hotline",
        reporter_phone="13900001111",
    )
    case_services.case_accept(case=case, actor=world.operator_a, category=cats.small, priority=2)
    case_services.case_dispatch(case=case, actor=world.operator_a, department=world.dept_a)
    case_services.case_sign(case=case, actor=world.handler_a)
    from .conftest import jpeg_bytes

    case_services.case_submit(
        case=case, actor=world.handler_a, result="已修", attachments=[jpeg_bytes()]
    )
    client.force_login(world.worker_a1)
    assert 'id="verify-form"' in client.get(f"/field/cases/{case.pk}/").content.decode()
    assert A2  # worker_a2's grid differs: the case is out of their scope
    client.force_login(field.worker_a2)
    assert client.get(f"/field/cases/{case.pk}/").status_code == 404


def test_service_worker_and_manifest(client, world):
    sw = client.get("/field/sw.js")
    assert sw.status_code == 200 and sw["Content-Type"].startswith("application/javascript")
    assert sw["Service-Worker-Allowed"] == "/field/" and "no-cache" in sw["Cache-Control"]
    body = sw.content.decode()
    assert "/static/civicgrid/js/field.js" in body and '"/field/report/"' in body
    manifest = client.get("/field/manifest.webmanifest")
    data = json.loads(manifest.content)
    assert manifest["Content-Type"] == "application/manifest+json"
    assert data["start_url"] == "/field/" and data["display"] == "standalone"
    assert {i["sizes"] for i in data["icons"]} >= {"192x192", "512x512"}
    from django.contrib.staticfiles import finders

    for icon in data["icons"]:
        assert finders.find(icon["src"].removeprefix("/static/")), icon


def test_offline_shell_covers_every_field_page_of_every_app(client, world):
    """The pages other apps mount under /field/ (base-data collection and visits, disputes) are kept
    for offline use like the field app's own, and every asset the worker caches exists."""
    from django.contrib.staticfiles import finders

    from civicgrid.field.views import SHELL_ASSETS

    body = client.get("/field/sw.js").content.decode()
    pages = json.loads(body.split("const PAGES = ", 1)[1].split(";", 1)[0])
    assert all(p.startswith("/field/") for p in pages), pages
    assert {"/field/basedata/", "/field/basedata/visits/", "/field/mediation/",
            "/field/mediation/new/"} <= set(pages)  # fmt: skip
    for asset in SHELL_ASSETS:
        assert finders.find(asset), asset
    # Each page is served to a signed-in worker with the principal header the worker caches by.
    client.force_login(world.worker_a1)
    for page in pages:
        r = client.get(page)
        assert r.status_code == 200 and r.get("X-CG-Principal"), page


def test_login_page_signs_a_worker_in(client, world):
    world.worker_a1.set_password("pass-Word-123")
    world.worker_a1.save()
    r = client.post("/field/login/", {"username": "worker_a1", "password": "pass-Word-123"})
    assert r.status_code == 302 and r["Location"] == "/field/"
