"""Pages as persona × scope matrices; out of scope answers 404."""

import pytest
from django.urls import reverse

from civicgrid.cases.models import Case, Flow, State
from civicgrid.party import services

from .conftest import A1, A2, B1, order

pytestmark = pytest.mark.django_db


def as_(client, user):
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "persona,sees",
    [
        ("operator_a", True),
        ("comm_op", True),
        ("leader_a", True),
        ("chief_a", True),
        ("worker_a1", True),
        ("outsider_b", False),
        ("handler_a", False),
        ("citizen", False),
    ],
)
def test_console_orders_matrix(client, pw, persona, sees):
    case = order(pw)
    r = as_(client, getattr(pw, persona)).get(reverse("party:console_orders"))
    assert r.status_code == 200
    assert (case.tracking_code in r.content.decode()) is sees


@pytest.mark.parametrize(
    "persona,status", [("comm_op", 302), ("operator_a", 302), ("outsider_b", 404)]
)
def test_dispatch_matrix(client, pw, persona, status):
    case = order(pw)
    services.order_take(case=case, actor=pw.worker_a1)
    r = as_(client, getattr(pw, persona)).post(
        reverse("party:console_dispatch", args=[case.pk]), {"member": pw.member.pk}
    )
    assert r.status_code == status
    case.refresh_from_db()
    assert (case.state == State.ASSIGNED) is (status == 302)


def test_dispatch_without_member_names_the_field(client, pw):
    case = order(pw)
    services.order_take(case=case, actor=pw.worker_a1)
    r = as_(client, pw.comm_op).post(reverse("party:console_dispatch", args=[case.pk]), {})
    assert r.status_code == 400 and 'data-code="required"' in r.content.decode()


def test_portal_service_request_then_tracking(client, pw):
    r = client.get(reverse("party:service_request") + f"?grid={pw.grid_a1.code}")
    assert r.status_code == 200 and pw.cat_service.name in r.content.decode()
    assert pw.cat_problem.name not in r.content.decode()
    r = client.post(
        reverse("party:service_request") + f"?grid={pw.grid_a1.code}",
        {"category": "0602", "description": "需要助餐", "phone": "13800005555",
         "client_id": "0f7c2b1e-1111-4a2b-9c3d-aaaaaaaaaaaa"},
    )  # fmt: skip
    assert r.status_code == 302
    case = Case.objects.get(flow=Flow.SERVICE)
    assert case.grid == pw.grid_a1
    page = client.get(r["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-state="reported"' in page and "Order placed" in page


def test_portal_service_request_bad_input_is_a_form_error(client, pw):
    r = client.post(reverse("party:service_request"), {"category": "0401", "description": "x"})
    assert r.status_code == 400 and 'data-code="not_a_service"' in r.content.decode()


@pytest.mark.parametrize("persona", ["member_user", "worker_a1"])
def test_field_orders_show_own_or_grid_orders(client, pw, persona):
    mine = order(pw, phone="13800003333")
    far = order(pw, at=B1, phone="13800004444")
    if persona == "member_user":
        services.order_take(case=mine, actor=pw.worker_a1)
        mine.refresh_from_db()
        services.order_dispatch(case=mine, member=pw.member, actor=pw.comm_op)
    page = as_(client, getattr(pw, persona)).get(reverse("party:field_orders")).content.decode()
    assert mine.tracking_code in page and far.tracking_code not in page


def test_field_take_by_the_grid_worker_and_404_elsewhere(client, pw):
    a1 = order(pw, phone="13800003333")
    b1 = order(pw, at=B1, phone="13800004444")
    c = as_(client, pw.worker_a1)
    assert c.post(reverse("party:field_take", args=[a1.pk])).status_code == 302
    assert c.post(reverse("party:field_take", args=[b1.pk])).status_code == 404
    a1.refresh_from_db()
    assert a1.state == State.FILED


def test_member_cannot_open_another_order(client, pw):
    other = order(pw)
    r = as_(client, pw.member_user).get(reverse("field:case", args=[other.pk]))
    assert r.status_code == 404


@pytest.mark.parametrize(
    "persona,sees",
    [("operator_a", True), ("leader_a", True), ("chief_a", True), ("outsider_b", False)],
)
def test_compliance_matrix(client, pw, persona, sees):
    services.liaison_assign(cadre=pw.leader_a, grid=pw.grid_a2, actor=pw.operator_a)
    page = as_(client, getattr(pw, persona)).get(reverse("party:compliance")).content.decode()
    assert (pw.grid_a2.name in page) is sees


def test_compliance_area_out_of_scope_is_404(client, pw):
    c = as_(client, pw.outsider_b)
    assert c.get(reverse("party:compliance") + f"?area={pw.comm_a.code}").status_code == 404
    assert c.get(reverse("party:compliance") + "?month=2026-13").status_code == 400


def test_visit_from_the_console_files_the_problem(client, pw):
    services.liaison_assign(cadre=pw.leader_a, grid=pw.grid_a1, actor=pw.operator_a)
    c = as_(client, pw.leader_a)
    r = c.post(
        reverse("party:console_visit"),
        {"grid": pw.grid_a1.code, "visited_at": "", "place": "党群服务站", "people_met": "网格员",
         "problem_category_0": "0401", "problem_0": "楼道堆物",
         "client_id": "0f7c2b1e-2222-4a2b-9c3d-aaaaaaaaaaaa"},
    )  # fmt: skip
    assert r.status_code == 200 and 'id="visit-saved"' in r.content.decode()
    assert Case.objects.filter(category__code="0401").count() == 1
    r = as_(client, pw.outsider_b).post(reverse("party:console_visit"), {"grid": pw.grid_a1.code})
    assert r.status_code == 400  # not one of their grids


def test_assign_from_the_compliance_page(client, pw):
    c = as_(client, pw.operator_a)
    r = c.post(reverse("party:assign"), {"cadre": "leader_a", "code": pw.comm_a.code})
    assert r.status_code == 302
    r = as_(client, pw.outsider_b).post(
        reverse("party:assign"), {"cadre": "leader_a", "code": pw.grid_a1.code}
    )
    assert r.status_code == 403


def test_board_shows_the_party_block_without_persons(client, pw):
    page = client.get(reverse("public:board", args=[pw.grid_a1.code])).content.decode()
    assert 'id="board-party"' in page and "甲一网格党支部" in page
    assert 'id="qr-service"' in page and f"/service/?grid={pw.grid_a1.code}" in page
    assert "王党员" not in page and "13900000031" not in page


@pytest.mark.parametrize("persona,status", [("operator_a", 200), ("outsider_b", 404)])
def test_console_grid_page_party_block(client, pw, persona, status):
    r = as_(client, getattr(pw, persona)).get(
        reverse("console:grid_detail", args=[pw.grid_a1.code])
    )
    assert r.status_code == status
    if status == 200:
        page = r.content.decode()
        assert 'id="grid-party"' in page and "王党员" in page and "13900000031" not in page


def test_dashboard_tile(client, pw):
    order(pw)
    page = as_(client, pw.operator_a).get(reverse("analytics:dashboard")).content.decode()
    assert 'id="party-figures"' in page and 'data-step="reported">1<' in page
    page = as_(client, pw.outsider_b).get(reverse("analytics:dashboard")).content.decode()
    assert 'data-step="reported">0<' in page


# --- citizens: duplicates and my reports ----------------------------------------------------------


def _problem(pw, category="0401", at=A1, phone="13800006666"):
    from civicgrid.cases import services as cs

    return cs.case_report(
        actor=None, category=category, description="楼道堆物 张先生 13800006666", lat=at[0],
        lng=at[1], source="citizen", reporter_phone=phone,
    )  # fmt: skip


def test_duplicates_lists_nearby_open_public_matters_only(client, pw):
    near = _problem(pw)
    _problem(pw, at=A2, phone="13800007777")  # ~850 m away
    _problem(pw, category="0701", phone="13800008888")  # private category
    r = client.get(reverse("public:duplicates"), {"category": "0401", "lat": A1[0], "lng": A1[1]})
    assert r.status_code == 200
    items = r.json()["items"]
    assert [i["id"] for i in items] == [f"M{near.pk}"]
    body = r.content.decode()
    assert "13800006666" not in body and "张先生" not in body and near.tracking_code not in body
    r = client.get(reverse("public:duplicates"), {"category": "0701", "lat": A1[0], "lng": A1[1]})
    assert r.json()["items"] == []
    page = client.get(items[0]["url"]).content.decode()
    assert pw.cat_problem.name in page and "张先生" not in page


def test_duplicates_bad_input_names_the_field(client, pw):
    r = client.get(reverse("public:duplicates"), {"category": "0401", "lat": "x", "lng": "1"})
    assert r.status_code == 400 and r.json()["details"]["field"] == "lat"
    r = client.get(reverse("public:duplicates"), {"category": "", "lat": "1", "lng": "1"})
    assert r.json()["details"]["field"] == "category"


def test_service_orders_never_suggested_as_duplicates(client, pw):
    order(pw)
    r = client.get(reverse("public:duplicates"), {"category": "0602", "lat": A1[0], "lng": A1[1]})
    assert r.json()["items"] == []


def test_my_reports(client, pw):
    from civicgrid.cases import services as cs

    mine = cs.case_report(
        actor=pw.citizen, category="0401", description="路灯不亮", lat=A1[0], lng=A1[1],
        source="citizen",
    )  # fmt: skip
    other = _problem(pw)
    assert client.get(reverse("public:my_reports")).status_code == 302
    page = as_(client, pw.citizen).get(reverse("public:my_reports")).content.decode()
    assert mine.tracking_code in page and other.tracking_code not in page
