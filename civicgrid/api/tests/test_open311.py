"""Open311 GeoReport v2: public service list and lookups, keyed creation and scoped search."""

import pytest

from civicgrid.api.models import ApiToken
from civicgrid.cases import services
from civicgrid.cases.models import Case, Category, HandlingLevel
from civicgrid.conftest import X0, Y0
from civicgrid.people.tests.factories import UserFactory

BASE = "/api/open311/v2"
A1 = (Y0 + 0.01, X0 + 0.005)
B1 = (Y0 + 0.01, X0 + 0.03)


@pytest.fixture
def geo(world):
    parent = Category.objects.create(code="04", name="市容环境")
    Category.objects.create(
        code="0401", name="乱堆乱放", parent=parent, handling_level=HandlingLevel.VILLAGE
    )
    Category.objects.create(code="0402", name="占道经营", parent=parent)
    Category.objects.create(code="0403", name="停用项", parent=parent, is_active=False)
    Category.objects.create(code="09", name="其他")
    _row, world.citizen_key = ApiToken.issue(user=world.citizen, name="wechat mini-program")
    _row, world.operator_key = ApiToken.issue(user=world.operator_a, name="12345 bridge")
    return world


def create(client, key, **fields):
    data = {"service_code": "0401", "lat": A1[0], "long": A1[1], "description": "垃圾堆放"}
    data.update(fields)
    if key:
        data["api_key"] = key
    return client.post(f"{BASE}/requests.json", data)


def error_of(response):
    body = response.json()
    assert isinstance(body, list) and set(body[0]) == {"code", "description"}
    assert body[0]["code"] == response.status_code
    return body[0]["description"]


def test_service_list_is_public_and_lists_active_leaf_categories(client, geo):
    body = client.get(f"{BASE}/services.json").json()
    assert [(s["service_code"], s["group"]) for s in body] == [
        ("0401", "市容环境"),
        ("0402", "市容环境"),
        ("09", "其他"),
    ]
    assert body[0]["metadata"] is False and body[0]["type"] == "realtime"


def test_service_definition(client, geo):
    assert client.get(f"{BASE}/services/0401.json").json() == {
        "service_code": "0401",
        "attributes": [],
    }
    missing = client.get(f"{BASE}/services/04.json")  # a class with items is not a service
    assert missing.status_code == 404
    assert "04" in error_of(missing)


def test_create_needs_a_valid_api_key(client, geo):
    for key in (None, "cg_wrong"):
        response = create(client, key)
        assert response.status_code == 403
        assert "api_key" in error_of(response)
    assert not Case.objects.exists()


def test_create_reports_a_case_from_the_api_source(client, geo):
    response = create(
        client, geo.citizen_key, first_name="小明", last_name="王", phone="13900001111",
        address_string="幸福路 12 号", account_id="acct-9",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    (created,) = response.json()
    case = Case.objects.get()
    assert created["service_request_id"] == case.tracking_code
    assert created["account_id"] == "acct-9"
    assert (case.source, case.reporter, case.grid) == ("api", geo.citizen, geo.grid_a1)
    assert (case.reporter_name, case.reporter_phone, case.address) == (
        "王小明",
        "13900001111",
        "幸福路 12 号",
    )


def test_create_accepts_the_key_as_a_bearer_header(client, geo):
    data = {"service_code": "0401", "lat": A1[0], "long": A1[1], "description": "x"}
    response = client.post(
        f"{BASE}/requests.json", data, HTTP_AUTHORIZATION=f"Bearer {geo.citizen_key}"
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    "fields, status, words",
    [
        ({"lat": ""}, 400, "lat"),
        ({"long": "east"}, 400, "long"),
        ({"lat": None, "long": None, "address_string": "幸福路"}, 400, "address lookup"),
        ({"service_code": ""}, 400, "service_code"),
        ({"service_code": "7777"}, 400, "category"),
        ({"description": ""}, 400, "description"),
    ],
)
def test_create_errors_use_the_georeport_shape_and_name_the_field(
    client, geo, fields, status, words
):
    data = {k: v for k, v in fields.items() if v is not None}
    if fields.get("lat", 0) is None:
        response = client.post(
            f"{BASE}/requests.json",
            {"api_key": geo.citizen_key, "service_code": "0401", "description": "x", **data},
        )
    else:
        response = create(client, geo.citizen_key, **data)
    assert response.status_code == status
    assert words in error_of(response)
    assert not Case.objects.exists()


def test_create_is_idempotent_with_our_client_id_extension(client, geo):
    first = create(client, geo.citizen_key, client_id="wx-0001-aaaa").json()
    again = create(client, geo.citizen_key, client_id="wx-0001-aaaa").json()
    assert first[0]["service_request_id"] == again[0]["service_request_id"]
    assert Case.objects.count() == 1


def test_request_lookup_is_public_by_id_and_shows_only_public_facts(client, geo):
    code = create(client, geo.citizen_key).json()[0]["service_request_id"]
    case = Case.objects.get(tracking_code=code)
    services.case_comment(case=case, actor=geo.operator_a, text="内部：疑似重复")
    (body,) = client.get(f"{BASE}/requests/{code}.json").json()
    assert body["status"] == "open" and body["service_code"] == "0401"
    assert body["status_notes"] is None
    assert body["requested_datetime"].endswith("+08:00")
    assert body["agency_responsible"] == case.owner.name
    services.case_reject(case=case, actor=geo.operator_a, reason="不属于受理范围")
    (body,) = client.get(f"{BASE}/requests/{code.lower()}.json").json()
    assert (body["status"], body["status_notes"]) == ("closed", "不属于受理范围")
    assert body["expected_datetime"] is None


def test_unknown_request_answers_404_in_the_georeport_shape(client, geo):
    response = client.get(f"{BASE}/requests/NOSUCHCODE22.json")
    assert response.status_code == 404
    assert "NOSUCHCODE22" in error_of(response)


def test_requests_by_id_list(client, geo):
    a = create(client, geo.citizen_key).json()[0]["service_request_id"]
    b = create(client, geo.citizen_key, lat=B1[0], long=B1[1]).json()[0]["service_request_id"]
    body = client.get(f"{BASE}/requests.json?service_request_id={b},{a},NOPE").json()
    assert [r["service_request_id"] for r in body] == [b, a]


def test_search_with_a_key_is_limited_to_the_keys_scope(client, geo):
    a = create(client, geo.citizen_key).json()[0]["service_request_id"]
    other = UserFactory(username="citizen_b")
    _r, other_key = ApiToken.issue(user=other, name="x")
    create(client, other_key, lat=B1[0], long=B1[1])
    anonymous = client.get(f"{BASE}/requests.json")  # the public square map, not the search
    assert anonymous.status_code == 200
    assert {r["service_request_id"][0] for r in anonymous.json()} == {"M"}
    body = client.get(f"{BASE}/requests.json?api_key={geo.operator_key}").json()
    assert [r["service_request_id"] for r in body] == [a]
    closed = client.get(f"{BASE}/requests.json?api_key={geo.operator_key}&status=closed").json()
    assert closed == []
    bad = client.get(f"{BASE}/requests.json?api_key={geo.operator_key}&status=done")
    assert bad.status_code == 400
    bad_date = client.get(f"{BASE}/requests.json?api_key={geo.operator_key}&start_date=today")
    assert bad_date.status_code == 400 and "start_date" in error_of(bad_date)


def test_open311_endpoints_are_in_the_openapi_document_without_auth(client, db):
    paths = client.get("/api/openapi.json").json()["paths"]
    for path in ("services.json", "services/{service_code}.json", "requests.json"):
        for op in paths[f"{BASE}/{path}"].values():
            assert "security" not in op
