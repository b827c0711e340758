import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from civicgrid.basedata import services
from civicgrid.basedata.models import RevealLog
from civicgrid.people.models import Role
from civicgrid.people.tests.factories import DepartmentFactory, UserFactory, assign

from .conftest import grant_reveal, pid


def as_user(client, user):
    client.force_login(user)
    return client


def test_roster_masked_scoped_and_searchable_by_exact_id(client, bd):
    c = as_user(client, bd.operator_a)
    html = c.get(reverse("basedata:roster")).content.decode()
    assert "张三" in html and "李四" not in html
    assert bd.person_a1.id_number_mask in html and pid(11) not in html
    assert "139****0012" in html and "13900000012" not in html
    hit = c.get(reverse("basedata:roster"), {"id_number": pid(11)}).content.decode()
    assert "张三" in hit
    miss = c.get(reverse("basedata:roster"), {"id_number": pid(11)[:-2]}).content.decode()
    assert "张三" not in miss  # exact only: a partial number finds nobody
    assert (
        "张三"
        not in c.get(
            reverse("basedata:roster"), {"id_number": pid(22, region="140214")}
        ).content.decode()
    )


def test_out_of_scope_person_and_grid_answer_404(client, bd):
    c = as_user(client, bd.operator_a)
    assert c.get(reverse("basedata:person_detail", args=[bd.person_b1.pk])).status_code == 404
    assert c.get(reverse("basedata:grid_profile", args=[bd.grid_b1.code])).status_code == 404
    assert (
        c.get(reverse("basedata:record_detail", args=["house", bd.house_b1.pk])).status_code == 404
    )
    assert c.get(reverse("basedata:person_detail", args=[bd.person_a1.pk])).status_code == 200


def test_person_page_shows_history_and_reveal_is_logged(client, bd):
    services.person_update(person=bd.person_a1, actor=bd.worker_a1, data={"name": "张三丰"})
    c = as_user(client, bd.worker_a1)
    url = reverse("basedata:person_detail", args=[bd.person_a1.pk])
    html = c.get(url).content.decode()
    assert "张三丰" in html and "甲一网格员" in html  # the change and who made it
    assert reverse("basedata:person_reveal", args=[bd.person_a1.pk]) not in html  # no permission
    r = c.post(reverse("basedata:person_reveal", args=[bd.person_a1.pk]), {"reason": "核实身份"})
    assert r.status_code == 403 and not RevealLog.objects.exists()
    grant_reveal(bd.worker_a1)
    r = c.post(
        reverse("basedata:person_reveal", args=[bd.person_a1.pk]),
        {"reason": "核实身份"},
        REMOTE_ADDR="10.1.2.3",
    )
    assert pid(11) in r.content.decode()
    log = RevealLog.objects.get()
    assert (log.user, log.reason, log.ip) == (bd.worker_a1, "核实身份", "10.1.2.3")


def test_grid_profile_counts(client, bd):
    services.tag_add(person=bd.person_a1, kind=bd.kinds["lonely_elderly"], actor=bd.worker_a1)
    html = (
        as_user(client, bd.worker_a1)
        .get(reverse("basedata:grid_profile", args=[bd.grid_a1.code]))
        .content.decode()
    )
    assert "独居老人" in html and "甲一网格" in html


# --- persona × tag × page matrix ----------------------------------------------------------------


@pytest.fixture
def tagged(bd):
    dept = DepartmentFactory(code="A-SF", name="甲区司法局", area=bd.dist_a)
    bd.kinds["community_correction"].departments.add(dept)
    bd.handler_sf = UserFactory(username="handler_sf", full_name="司法所")
    assign(bd.handler_sf, Role.HANDLER, bd.dist_a, department=dept)
    for code, data in [
        ("mental_disorder", {"risk_level": 4}),
        ("community_correction", {"start_date": "2026-01-01", "end_date": "2027-01-01"}),
        ("idle_youth", {}),
        ("disabled", {"disability": "肢体"}),
    ]:
        services.tag_add(person=bd.person_a1, kind=bd.kinds[code], data=data, actor=bd.worker_a1)
    return bd


PERSONAS = {
    # persona: (open tag visible, mental_disorder, community_correction, idle_youth)
    "worker_a1": (True, True, True, True),
    "chief_a": (True, True, True, True),
    "operator_a": (True, True, True, True),
    "handler_sf": (True, False, True, False),  # named department of 社区矫正 only
    "handler_a": (True, False, False, False),  # 城管: no sensitive tag
    "leader_a": (True, False, False, False),
    "outsider_b": (False, False, False, False),  # out of scope: sees nobody
}
TAGS = {
    "disabled": "残疾人",
    "mental_disorder": "严重精神障碍患者",
    "community_correction": "社区矫正对象",
    "idle_youth": "闲散青少年",
}


def _pages(bd):
    pk = bd.person_a1.pk
    return {
        "roster": reverse("basedata:roster"),
        "detail": reverse("basedata:person_detail", args=[pk]),
        "tags": reverse("basedata:tags"),
        "profile": reverse("basedata:grid_profile", args=[bd.grid_a1.code]),
        "api_list": "/api/basedata/persons",
        "api_detail": f"/api/basedata/persons/{pk}",
        "export": reverse("basedata:person_export"),
    }


def _text(resp) -> str:
    if resp["Content-Type"].startswith("application/vnd.openxml"):
        wb = load_workbook(io.BytesIO(resp.content), read_only=True)
        return " ".join(
            str(v) for row in wb.worksheets[0].iter_rows(values_only=True) for v in row if v
        )
    return resp.content.decode()


@pytest.mark.parametrize("persona", list(PERSONAS))
def test_sensitive_tag_matrix(client, tagged, persona):
    user = getattr(tagged, persona)
    c = as_user(client, user)
    expected = PERSONAS[persona]
    for page, url in _pages(tagged).items():
        resp = c.get(url)
        if resp.status_code == 404:
            assert not any(expected), (persona, page)
            continue
        assert resp.status_code == 200, (persona, page, resp.status_code)
        body = _text(resp)
        for (code, name), visible in zip(TAGS.items(), expected, strict=True):
            if page.startswith("api"):
                rows = resp.json()["results"] if page == "api_list" else [resp.json()]
                seen = any(t["kind"] == code for r in rows for t in r["tags"])
            elif page == "export":
                seen = name in body
            else:
                seen = f'data-tag="{code}"' in body
            assert seen == visible, (persona, page, code)
        assert pid(11) not in body and "13900000012" not in body, (persona, page)


def test_tag_filter_does_not_disclose_unseen_sensitive_tags(client, tagged):
    c = as_user(client, tagged.leader_a)
    html = c.get(reverse("basedata:roster"), {"tag": "mental_disorder"}).content.decode()
    assert "张三" not in html
    html = (
        as_user(client, tagged.worker_a1)
        .get(reverse("basedata:roster"), {"tag": "mental_disorder"})
        .content.decode()
    )
    assert "张三" in html


# --- API ----------------------------------------------------------------------------------------


def test_api_create_upsert_update_and_errors(client, bd):
    c = as_user(client, bd.worker_a1)
    body = {
        "name": "王五",
        "id_number": pid(55),
        "phone": "13700000001",
        "house_id": bd.house_a1.pk,
    }
    r = c.post("/api/basedata/persons", body, content_type="application/json")
    assert r.status_code == 201, r.content
    out = r.json()
    assert (
        out["id_number"] == pid(55)[:6] + "********" + pid(55)[-4:]
        and out["phone"] == "137****0001"
    )
    r = c.post("/api/basedata/persons", {**body, "name": "王五五"}, content_type="application/json")
    assert r.status_code == 200 and r.json()["id"] == out["id"] and r.json()["name"] == "王五五"
    bad = {**body, "id_number": pid(56)[:-1] + ("0" if pid(56)[-1] != "0" else "1")}
    r = c.post("/api/basedata/persons", bad, content_type="application/json")
    assert r.status_code == 400 and r.json()["details"]["field"] == "id_number"
    r = c.patch(
        f"/api/basedata/persons/{out['id']}",
        {"hukou_region": "999999"},
        content_type="application/json",
    )
    assert r.status_code == 400 and r.json()["details"]["field"] == "hukou_region"
    assert c.get(f"/api/basedata/persons/{bd.person_b1.pk}").status_code == 404
    r = c.post(
        "/api/basedata/houses",
        {"address": "x", "building": "1", "room": "1", "lat": 40.5, "lng": 113.9},
        content_type="application/json",
    )
    assert r.status_code == 400 and r.json()["code"] == "outside_grids"


# --- nothing in plaintext on disk -----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_database_file_holds_no_plaintext_id_or_phone(bd, tmp_path):
    """Copy the (SQLite) database into a file with VACUUM INTO and scan its bytes."""
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("scans a SQLite database file")
    numbers = [pid(700 + i) for i in range(20)]
    phones = [f"1390000{i:04d}" for i in range(20)]
    for i, (n, ph) in enumerate(zip(numbers, phones, strict=True)):
        services.person_create(
            actor=bd.operator_a,
            data={"name": f"扫描{i}", "id_number": n, "phone": ph, "house": bd.house_a1},
        )
    services.person_update(person=bd.person_a1, actor=bd.operator_a, data={"phone": "13911112222"})
    grant_reveal(bd.operator_a)
    services.person_reveal(person=bd.person_a1, actor=bd.operator_a, reason="核实身份", ip=None)
    path = tmp_path / "scan.sqlite3"
    with connection.cursor() as cur:
        cur.execute("VACUUM INTO %s", [str(path)])
    blob = path.read_bytes()
    assert "扫描19".encode() in blob  # the scan does see plain columns
    for n, ph in zip([*numbers, pid(11)], [*phones, "13900000012", "13911112222"], strict=False):
        assert n.encode() not in blob and n[6:14].encode() + n[14:].encode() not in blob
        assert ph.encode() not in blob


def test_visits_due_and_offline_visit_once_per_client_id(client, tagged):
    import datetime as dt
    import uuid

    import time_machine

    c = as_user(client, tagged.worker_a1)
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=10), tick=False):
        due = c.get("/api/basedata/visits/due").json()
        assert {d["kind"] for d in due} >= {"mental_disorder", "community_correction"}
        assert all(d["overdue"] for d in due if d["kind"] == "mental_disorder")
        tag = next(d for d in due if d["kind"] == "mental_disorder")
        body = {
            "client_id": str(uuid.uuid4()),
            "person_id": tag["person_id"],
            "tag_id": tag["tag_id"],
            "note": "走访正常",
        }
        r1 = c.post("/api/basedata/visits", body, content_type="application/json")
        r2 = c.post("/api/basedata/visits", body, content_type="application/json")
        assert (r1.status_code, r2.status_code) == (201, 200) and r1.json()["id"] == r2.json()["id"]
        assert r1.json()["was_overdue"]
        due2 = c.get("/api/basedata/visits/due").json()
        again = next(d for d in due2 if d["tag_id"] == tag["tag_id"])  # weekly: due again in 7 days
        assert not again["overdue"] and again["next_visit_due"] > tag["next_visit_due"]
    leader = as_user(client, tagged.leader_a)
    assert "mental_disorder" not in [
        d["kind"] for d in leader.get("/api/basedata/visits/due?within=90").json()
    ]
