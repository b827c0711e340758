"""Field work on base data: one-form collection, visits with photo and findings, case links,
overdue-visit notices, freshness figures and the dashboard tiles."""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from civicgrid.basedata import fieldwork, services, stats, tasks
from civicgrid.basedata.models import (
    CaseLink,
    Collection,
    House,
    Household,
    HouseholdMember,
    Person,
    PersonTag,
    Visit,
    VisitNotice,
)
from civicgrid.cases.models import Case, Category, HandlingLevel, SlaUnit, Source, State
from civicgrid.notifications.models import Notification
from civicgrid.people.models import Role
from civicgrid.people.tests.factories import UserFactory, add_member, assign

from .conftest import A1, A2, OUTSIDE, pid

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]


def post_json(client, url, data):
    return client.post(url, json.dumps(data), content_type="application/json")


def jpeg(color=(200, 40, 40)) -> io.BytesIO:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buf, format="JPEG")
    buf.seek(0)
    buf.name = "p.jpg"
    return buf


@pytest.fixture
def cat(world):
    parent = Category.objects.create(code="07", name="社会治安")
    return Category.objects.create(
        code="0701",
        name="矛盾纠纷",
        parent=parent,
        handling_level=HandlingLevel.VILLAGE,
        default_department=world.dept_a,
        sla_unit=SlaUnit.NATURAL,
    )


def _collect_body(client_id=None, **house):
    return {
        "client_id": client_id or str(uuid.uuid4()),
        "house": house
        or {
            "lat": A1[0],
            "lng": A1[1],
            "address": "丙路8号",
            "building": "5",
            "unit": "1",
            "room": "502",
            "use": "rented",
        },
        "persons": [
            {"name": "赵一", "id_number": pid(101), "phone": "13600000001", "relation": "head"},
            {
                "name": "赵二",
                "id_number": pid(102, birth=dt.date(2015, 3, 1)),
                "relation": "child",
                "tags": [{"kind": "left_behind_child", "data": {"guardian": "赵一"}}],
            },
            {
                "name": "钱三",
                "id_number": pid(103),
                "relation": "other",
                "tags": [{"kind": "mental_disorder", "data": {"risk_level": 3}}],
            },
        ],
    }


# --- collection ---------------------------------------------------------------------------------


def test_collection_writes_house_household_persons_tags_once(client, bd):
    client.force_login(bd.worker_a1)
    body = _collect_body()
    r = post_json(client, "/api/basedata/collect", body)
    assert r.status_code == 201, r.content
    out = r.json()
    assert out["house_created"] and [p["created"] for p in out["persons"]] == [True] * 3
    house = House.objects.get(pk=out["house_id"])
    assert (house.scope_code, house.use) == (bd.grid_a1.code, "rented")
    hh = Household.objects.get(house=house)
    assert hh.head.name == "赵一"
    assert dict(HouseholdMember.objects.values_list("person__name", "relation")) == {
        "赵一": "head",
        "赵二": "child",
        "钱三": "other",
    }
    kinds = set(PersonTag.objects.filter(person__house=house).values_list("kind__code", flat=True))
    assert kinds == {"left_behind_child", "mental_disorder"}
    # The phone's outbox sends it again (lost answer): the first result, nothing written twice.
    again = post_json(client, "/api/basedata/collect", body)
    assert again.status_code == 200 and again.json()["house_id"] == out["house_id"]
    assert again.json()["persons"] == out["persons"] and not again.json()["created"]
    assert House.objects.filter(address="丙路8号").count() == 1
    assert Person.objects.filter(house=house).count() == 3
    assert Collection.objects.count() == 1
    assert PersonTag.objects.filter(person__house=house).count() == 2


def test_collection_updates_a_known_person_and_keeps_what_was_not_typed(client, bd):
    client.force_login(bd.worker_a1)
    body = {
        "client_id": str(uuid.uuid4()),
        "house": {"id": bd.house_a1.pk},
        "persons": [
            # Known by ID number: updated, never a second person; no phone typed keeps the phone.
            {"name": "张三", "id_number": pid(11), "category": "floating", "relation": "head"},
            {"id": None, "name": "张小三", "id_number": pid(12), "relation": "child"},
        ],
    }
    r = post_json(client, "/api/basedata/collect", body)
    assert r.status_code == 201, r.content
    assert [p["created"] for p in r.json()["persons"]] == [False, True]
    bd.person_a1.refresh_from_db()
    assert bd.person_a1.category == "floating" and bd.person_a1.phone_mask == "139****0012"
    assert Person.objects.filter(name__startswith="张").count() == 2
    # Updating by record id (a resident shown on the phone), with the same answer for a retry.
    body2 = {
        "client_id": str(uuid.uuid4()),
        "house": {"id": bd.house_a1.pk, "use": "own"},
        "persons": [{"id": bd.person_a1.pk, "name": "张三", "phone": "13900000099"}],
    }
    assert post_json(client, "/api/basedata/collect", body2).status_code == 201
    bd.person_a1.refresh_from_db()
    assert bd.person_a1.phone_mask == "139****0099"


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda b: b["persons"][1].update(id_number=pid(102)[:-1] + "0"), "persons[1].id_number"),
        (
            lambda b: b["persons"][2]["tags"][0]["data"].update(risk_level=9),
            "persons[2].tags[0].data.risk_level",
        ),
        (lambda b: b["persons"][0].update(relation="boss"), "persons[0].relation"),
        (lambda b: b["house"].update(lat=OUTSIDE[0], lng=OUTSIDE[1]), "house.location"),
        (lambda b: b["persons"][1].update(relation="head"), "persons"),
    ],
)
def test_collection_errors_name_the_field_and_write_nothing(client, bd, change, field):
    body = _collect_body()
    if body["persons"][1]["id_number"] == pid(102)[:-1] + "0":
        pytest.skip("check character happens to be 0")
    change(body)
    client.force_login(bd.worker_a1)
    r = post_json(client, "/api/basedata/collect", body)
    assert r.status_code == 400, r.content
    assert r.json()["details"]["field"] == field
    assert not House.objects.filter(address="丙路8号").exists()
    assert not Person.objects.filter(name__in=["赵一", "赵二", "钱三"]).exists()
    assert not Collection.objects.exists()


def test_collection_is_scoped(client, bd, world):
    client.force_login(bd.worker_a1)
    body = _collect_body(house_id=None)
    body["house"] = {"id": bd.house_b1.pk}
    assert post_json(client, "/api/basedata/collect", body).status_code == 404
    body = _collect_body()
    body["house"] = {**body["house"], "lat": A2[0], "lng": A2[1]}  # grid A2: not my team's
    r = post_json(client, "/api/basedata/collect", body)
    assert r.status_code == 403 and r.json()["details"]["field"] == "house.location"
    # Someone else's client id is refused, not answered with their result.
    mine = _collect_body()
    assert post_json(client, "/api/basedata/collect", mine).status_code == 201
    client.force_login(bd.operator_a)
    r = post_json(client, "/api/basedata/collect", mine)
    assert r.status_code == 400 and r.json()["details"]["field"] == "client_id"


# --- visits ---------------------------------------------------------------------------------------


@pytest.fixture
def tag(bd):
    t = services.tag_add(
        person=bd.person_a1,
        kind=bd.kinds["community_correction"],
        data={"start_date": "2025-01-01", "end_date": "2026-01-01"},
        since=dt.date(2025, 5, 1),
        actor=bd.worker_a1,
    )
    assert t.next_visit_due < timezone.localdate()  # weekly since May: overdue
    return t


def test_one_tap_visit_is_recorded_once_and_moves_the_due_date(client, bd, tag):
    client.force_login(bd.worker_a1)
    cid = str(uuid.uuid4())
    r = client.post("/api/basedata/visits/field", {"client_id": cid, "tag_id": tag.pk})
    assert r.status_code == 201, r.content
    assert r.json()["was_overdue"] and r.json()["case_id"] is None
    tag.refresh_from_db()
    assert tag.next_visit_due == timezone.localdate() + dt.timedelta(days=7)
    r = client.post("/api/basedata/visits/field", {"client_id": cid, "tag_id": tag.pk})
    assert r.status_code == 200 and Visit.objects.count() == 1


def test_visit_with_photo_and_findings_raises_a_case_through_the_engine(client, bd, tag, cat):
    client.force_login(bd.worker_a1)
    cid = str(uuid.uuid4())
    data = {
        "client_id": cid,
        "tag_id": tag.pk,
        "note": "情绪稳定",
        "findings": "与邻居因漏水发生纠纷",
        "case_category": cat.code,
    }
    r = client.post("/api/basedata/visits/field", {**data, "photo": jpeg()})
    assert r.status_code == 201, r.content
    out = r.json()
    assert out["has_photo"] and out["tracking_code"]
    case = Case.objects.get(pk=out["case_id"])
    assert (case.state, case.source, case.reporter) == (
        State.REPORTED,
        Source.GRID_WORKER,
        bd.worker_a1,
    )
    assert case.description == "与邻居因漏水发生纠纷" and case.scope_code == bd.grid_a1.code
    assert case.actions.filter(action="report").exists()  # the engine's creation step
    assert case.attachments.count() == 1
    links = set(CaseLink.objects.filter(case=case).values_list("entity", "object_id"))
    assert links == {("person", bd.person_a1.pk), ("house", bd.house_a1.pk)}
    # A retry from the outbox: no second visit, no second case.
    r = client.post("/api/basedata/visits/field", {**data, "photo": jpeg()})
    assert r.status_code == 200 and r.json()["case_id"] == case.pk
    assert Visit.objects.count() == 1 and Case.objects.count() == 1
    # The photo is served to who may see the person, 404 to others.
    v = Visit.objects.get()
    url = reverse("basedata:visit_photo", args=[v.pk])
    assert client.get(url).status_code == 200
    client.force_login(bd.outsider_b)
    assert client.get(url).status_code == 404


def test_visit_errors_write_nothing(client, bd, tag, cat):
    client.force_login(bd.worker_a1)
    base = {"client_id": str(uuid.uuid4()), "tag_id": tag.pk}
    r = client.post("/api/basedata/visits/field", {**base, "case_category": cat.code})
    assert r.status_code == 400 and r.json()["details"]["field"] == "findings"
    r = client.post(
        "/api/basedata/visits/field", {**base, "findings": "x", "case_category": "9999"}
    )
    assert r.status_code in (400, 404) and not Visit.objects.exists()
    bad = io.BytesIO(b"not an image")
    bad.name = "x.jpg"
    r = client.post("/api/basedata/visits/field", {**base, "photo": bad})
    assert r.status_code == 400 and r.json()["details"]["field"] == "photo"
    assert not Visit.objects.exists() and not Case.objects.exists()
    # A sensitive tag of someone I do not serve: not found.
    client.force_login(bd.leader_a)
    r = client.post("/api/basedata/visits/field", {**base, "client_id": str(uuid.uuid4())})
    assert r.status_code == 404


# --- case links -----------------------------------------------------------------------------------


@pytest.fixture
def case(bd, cat):
    from civicgrid.cases.services import case_report

    return case_report(
        actor=bd.worker_a1,
        category=cat,
        description="楼道堆物",
        lat=A1[0],
        lng=A1[1],
        source=Source.GRID_WORKER,
    )


def test_case_links_are_scoped_both_ways_and_masked(client, bd, case):
    fieldwork.case_link_add(case=case, entity="person", object_id=bd.person_a1.pk, actor=bd.admin)
    fieldwork.case_link_add(case=case, entity="person", object_id=bd.person_b1.pk, actor=bd.admin)
    fieldwork.case_link_add(case=case, entity="house", object_id=bd.house_a1.pk, actor=bd.admin)
    page = reverse("console:case_detail", args=[case.pk])
    client.force_login(bd.operator_a)
    html = client.get(page).content.decode()
    assert 'id="basedata-links"' in html
    assert "张三" in html and bd.person_a1.id_number_mask in html and pid(11) not in html
    assert "李四" not in html  # named on the case, but outside my scope
    api = client.get(f"/api/basedata/cases/{case.pk}/links").json()
    assert {r["entity"] for r in api} == {"person", "house"} and len(api) == 2
    # The record side: the case shows on the person's page for who may see the case ...
    person_page = reverse("basedata:person_detail", args=[bd.person_a1.pk])
    assert case.tracking_code in client.get(person_page).content.decode()
    # ... and not for who may see the person but not the case.
    client.force_login(bd.outsider_b)
    b_page = reverse("basedata:person_detail", args=[bd.person_b1.pk])
    assert case.tracking_code not in client.get(b_page).content.decode()
    assert client.get(page).status_code == 404
    assert client.get(f"/api/basedata/cases/{case.pk}/links").status_code == 404


def test_linking_needs_both_sides_in_scope(client, bd, case):
    client.force_login(bd.operator_a)
    r = post_json(
        client,
        f"/api/basedata/cases/{case.pk}/links",
        {"entity": "person", "object_id": bd.person_b1.pk},
    )
    assert r.status_code == 404 and not CaseLink.objects.exists()
    r = post_json(
        client,
        f"/api/basedata/cases/{case.pk}/links",
        {"entity": "planet", "object_id": 1},
    )
    assert r.status_code == 400 and r.json()["details"]["field"] == "entity"
    # From the console: the case page form takes a person's full ID number ...
    r = client.post(
        reverse("basedata:case_link_add", args=[case.pk]), {"entity": "person", "ref": pid(11)}
    )
    assert r.status_code == 302
    assert CaseLink.objects.filter(entity="person", object_id=bd.person_a1.pk).count() == 1
    # ... and the record page form a tracking code; twice is still one link.
    for _ in range(2):
        client.post(
            reverse("basedata:record_link", args=["house", bd.house_a1.pk]),
            {"case": case.tracking_code},
        )
    assert CaseLink.objects.filter(entity="house").count() == 1
    link = CaseLink.objects.get(entity="house")
    client.force_login(bd.outsider_b)
    r = client.post(reverse("basedata:case_link_delete", args=[link.pk]))
    assert r.status_code == 404 and CaseLink.objects.filter(pk=link.pk).exists()
    client.force_login(bd.operator_a)
    client.post(reverse("basedata:case_link_delete", args=[link.pk]))
    assert not CaseLink.objects.filter(pk=link.pk).exists()


# --- overdue notices ------------------------------------------------------------------------------


def test_overdue_visits_notify_worker_and_chief_once(bd, tag):
    other = UserFactory(username="worker_b1", full_name="乙一网格员")
    assign(other, Role.GRID_WORKER, bd.comm_b)
    add_member(other, bd.grid_b1)
    counts = tasks.visit_sweep()
    assert counts == {"tags": 1, "notices": 2}
    rows = Notification.objects.filter(kind="visit_overdue")
    assert set(rows.values_list("recipient__username", flat=True)) == {"worker_a1", "chief_a"}
    assert "张三" in rows.first().body and "社区矫正对象" in rows.first().body
    assert tasks.visit_sweep() == {"tags": 0, "notices": 0}  # no double notice
    assert rows.count() == 2
    # A visit moves the due date; when that one passes as well, a new notice follows.
    services.visit_record(actor=bd.worker_a1, client_id=uuid.uuid4(), person=bd.person_a1)
    assert tasks.visit_sweep()["tags"] == 0
    with time_machine.travel(timezone.now() + dt.timedelta(days=8), tick=False):
        assert tasks.visit_sweep() == {"tags": 1, "notices": 2}
    assert VisitNotice.objects.count() == 2 and rows.count() == 4


def test_sweep_claims_each_tag_once_even_when_two_run(bd, tag):
    # The second sweep finds the row the first wrote (unique tag + due date) and sends nothing.
    assert tasks._claim(tag) and not tasks._claim(tag)
    assert tasks.visit_sweep() == {"tags": 0, "notices": 0}


# --- freshness and dashboard ----------------------------------------------------------------------


def test_freshness_shares_with_a_frozen_clock(bd, frozen_clock):
    now = frozen_clock
    start = now.replace(day=1, hour=0)
    end = (start + dt.timedelta(days=32)).replace(day=1)
    # Records of grid A1: house_a1 and person_a1 (confirmed now); one more confirmed 13 months ago.
    old = services.house_create(
        actor=bd.worker_a1, lat=A1[0], lng=A1[1], address="旧街", building="1", room="1"
    )
    House.objects.filter(pk=old.pk).update(confirmed_at=now - dt.timedelta(days=400))
    kind = bd.kinds["lonely_elderly"]  # weekly
    on_time = services.tag_add(person=bd.person_a1, kind=kind, actor=bd.worker_a1)
    services.visit_record(
        actor=bd.worker_a1, client_id=uuid.uuid4(), person=bd.person_a1, tag=on_time
    )
    p2 = services.person_create(
        actor=bd.worker_a1, data={"name": "孙五", "id_number": pid(77), "house": bd.house_a1}
    )
    late = services.tag_add(
        person=p2, kind=kind, since=now.date() - dt.timedelta(days=9), actor=bd.worker_a1
    )
    assert late.next_visit_due == now.date() - dt.timedelta(days=2)  # due in June, missed
    p3 = services.person_create(
        actor=bd.worker_a1, data={"name": "周六", "id_number": pid(78), "house": bd.house_a1}
    )
    services.tag_add(
        person=p3, kind=kind, since=now.date() - dt.timedelta(days=8), actor=bd.worker_a1
    )
    services.visit_record(actor=bd.worker_a1, client_id=uuid.uuid4(), person=p3)  # 1 day late
    out = stats.freshness(user_ids=[bd.worker_a1.pk, bd.chief_a.pk], start=start, end=end)
    # Due: 2 visits made (1 on time, 1 late) + 1 still missing → 1/3 on time.
    assert out[bd.worker_a1.pk]["visits_on_time_share"] == pytest.approx(1 / 3)
    # Records: house_a1, old, person_a1, p2, p3 → 4 of 5 confirmed within 12 months.
    assert out[bd.worker_a1.pk]["records_confirmed_share"] == pytest.approx(4 / 5)
    assert out[bd.chief_a.pk] == {"visits_on_time_share": None, "records_confirmed_share": None}


def test_assessment_shows_the_freshness_columns(client, bd, frozen_clock):
    services.tag_add(person=bd.person_a1, kind=bd.kinds["lonely_elderly"], actor=bd.worker_a1)
    client.force_login(bd.chief_a)
    html = client.get(reverse("analytics:assessment")).content.decode()
    assert "records_confirmed_share" in html and "visits_on_time_share" in html
    assert "100%" in html  # both records of grid A1 were confirmed just now


@pytest.mark.parametrize(
    "persona, special",
    [("operator_a", True), ("chief_a", True), ("leader_a", False), ("admin", False)],
)
def test_dashboard_tiles_show_special_populations_only_to_serving_roles(
    client, bd, persona, special
):
    services.tag_add(
        person=bd.person_a1,
        kind=bd.kinds["mental_disorder"],
        data={"risk_level": 4},
        actor=bd.worker_a1,
    )
    services.tag_add(person=bd.person_a1, kind=bd.kinds["lonely_elderly"], actor=bd.worker_a1)
    client.force_login(getattr(bd, persona))
    html = client.get(reverse("analytics:dashboard")).content.decode()
    assert 'id="basedata-tiles"' in html
    assert ('data-key="bd_special"' in html) is special
    assert ("严重精神障碍患者" in html) is special
    assert 'data-key="bd_care"' in html


def _embedded(html: str, element_id: str):
    import re

    m = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(m.group(1))


def test_field_pages_embed_only_my_grids_and_the_tags_i_serve(client, bd, tag):
    client.force_login(bd.worker_a1)
    html = client.get(reverse("basedata_field:collect")).content.decode()
    houses = _embedded(html, "houses-data")
    assert [h["address"] for h in houses] == ["甲街1号"]  # grid A1 only: not 乙街9号
    assert houses[0]["persons"][0]["tags"][0]["kind"] == "community_correction"
    assert "community_correction" in {k["code"] for k in _embedded(html, "kinds-data")}
    assert pid(11) not in html and "13900000012" not in html
    home = client.get(reverse("field:home")).content.decode()
    assert 'id="basedata-tiles"' in home and "逾期 1" in home
    visits = client.get(reverse("basedata_field:visits")).content.decode()
    assert "张三" in visits and f'data-tag="{tag.pk}"' in visits
    # Not on a grid team: the pages say so and list nobody.
    client.force_login(bd.chief_a)
    assert "张三" not in client.get(reverse("basedata_field:visits")).content.decode()
    html = client.get(reverse("basedata_field:collect")).content.decode()
    assert _embedded(html, "houses-data") == []


# --- map layer ------------------------------------------------------------------------------------

MAP_PERSONAS = {
    # persona: (sees house_a1, sees the person by the sensitive tag, sees house_b1)
    "worker_a1": (True, True, False),
    "chief_a": (True, True, False),
    "operator_a": (True, True, False),
    "leader_a": (True, False, False),
    "handler_a": (True, False, False),
    "outsider_b": (False, False, True),
}


@pytest.mark.parametrize("persona", list(MAP_PERSONAS))
def test_map_layer_is_scoped_and_respects_sensitive_tags(client, bd, persona):
    services.tag_add(
        person=bd.person_a1,
        kind=bd.kinds["mental_disorder"],
        data={"risk_level": 4},
        actor=bd.worker_a1,
    )
    client.force_login(getattr(bd, persona))
    r = client.get(
        reverse("basedata:map_points"),
        {"bbox": "113.2,40.0,113.5,40.3", "layers": "house,tag,thing,bogus"},
    )
    assert r.status_code == 200, r.content
    items = r.json()["items"]
    houses = {i[1] for i in items if i[0] == "house"}
    tagged = {i[1] for i in items if i[0] == "tag"}
    a1, sensitive, b1 = MAP_PERSONAS[persona]
    assert (bd.house_a1.pk in houses) is a1
    assert (bd.house_b1.pk in houses) is b1
    assert (bd.person_a1.pk in tagged) is sensitive
    body = r.content.decode()
    assert (
        pid(11) not in body
        and "13900000012" not in body
        and "140213" not in body.replace(bd.grid_a1.code, "")
    )


def test_map_layer_refuses_a_bad_box_and_the_profile_links_to_it(client, bd):
    client.force_login(bd.worker_a1)
    r = client.get(reverse("basedata:map_points"), {"bbox": "1,2,3"})
    assert r.status_code == 400 and r.json()["details"]["field"] == "bbox"
    r = client.get(reverse("basedata:map_points"), {"bbox": "100,20,120,40", "layers": "house"})
    assert r.status_code == 400
    html = client.get(reverse("basedata:grid_profile", args=[bd.grid_a1.code])).content.decode()
    assert 'id="grid-map-link"' in html and "bd_bbox=" in html
    page = client.get(reverse("console:map")).content.decode()
    assert 'id="basedata-map-config"' in page


# --- key places -----------------------------------------------------------------------------------


def test_key_places_become_places_and_risk_points_with_their_check_ins(client, bd):
    from django.core.management import call_command

    from civicgrid.basedata import keyplaces
    from civicgrid.basedata.models import Place, RiskPoint
    from civicgrid.field.models import KeyPlace, KeyPlaceKind
    from civicgrid.field.services import checkin_create

    old = KeyPlace.objects.bulk_create(  # bulk: no signal, like the demo's
        [
            KeyPlace(name="甲一配电房", kind=KeyPlaceKind.RISK_POINT, grid=bd.grid_a1,
                     scope_code=bd.grid_a1.code, lat=A1[0], lng=A1[1]),
            KeyPlace(name="甲一农贸市场", kind=KeyPlaceKind.KEY_PLACE, grid=bd.grid_a1,
                     scope_code=bd.grid_a1.code, lat=A1[0], lng=A1[1]),
        ]
    )  # fmt: skip
    call_command("basedata_keyplaces", stdout=io.StringIO())
    call_command("basedata_keyplaces", stdout=io.StringIO())  # idempotent
    rp = RiskPoint.objects.get(name="甲一配电房")
    assert rp.key_place_id == old[0].pk and rp.scope_code == bd.grid_a1.code
    assert Place.objects.filter(name="甲一农贸市场").count() == 1
    # A key place registered in the field app is adopted when it is saved.
    with django_capture_on_commit():
        KeyPlace.objects.create(name="甲一幼儿园门口", grid=bd.grid_a1, lat=A1[0], lng=A1[1])
    assert Place.objects.filter(name="甲一幼儿园门口").exists()
    # Check-ins at the key place show on the record's page.
    checkin_create(
        actor=bd.worker_a1,
        place=old[0],
        client_id=str(uuid.uuid4()),
        lat=A1[0],
        lng=A1[1],
    )
    client.force_login(bd.worker_a1)
    html = client.get(reverse("basedata:record_detail", args=["riskpoint", rp.pk])).content.decode()
    assert 'id="checkins"' in html and "甲一网格员" in html
    client.force_login(bd.outsider_b)
    assert (
        client.get(reverse("basedata:record_detail", args=["riskpoint", rp.pk])).status_code == 404
    )
    # The other way: a base-data place gets a check-in point in the field app.
    place = services.place_create(
        actor=bd.worker_a1, name="甲一小学", kind="school", lat=A1[0], lng=A1[1]
    )
    client.force_login(bd.worker_a1)
    client.post(reverse("basedata:record_checkins_enable", args=["place", place.pk]))
    place.refresh_from_db()
    assert place.key_place.name == "甲一小学" and place.key_place.grid == bd.grid_a1
    assert Place.objects.filter(name="甲一小学").count() == 1  # not adopted a second time
    assert keyplaces.checkins_for(place)["enabled"]
    client.force_login(bd.leader_a)  # may see, may not write
    other = services.place_create(
        actor=bd.worker_a1, name="甲一医院", kind="hospital", lat=A1[0], lng=A1[1]
    )
    client.post(reverse("basedata:record_checkins_enable", args=["place", other.pk]))
    other.refresh_from_db()
    assert other.key_place_id is None


def django_capture_on_commit():
    from django.test import TestCase

    return TestCase.captureOnCommitCallbacks(execute=True)
