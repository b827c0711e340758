"""Open311 through a third-party client (PyPI ``georeport``) making its own HTTP calls against a
live server, in XML and in JSON. ``georeport`` reads only; creation goes through ``requests``
form-encoded as the specification says, and errors are read as the specification's arrays."""

import datetime as dt

import pytest
import requests
import xmltodict
from georeport import GeoReport

from civicgrid.api.models import ApiToken
from civicgrid.cases import services
from civicgrid.cases.models import Category, HandlingLevel
from civicgrid.conftest import X0, Y0

A1 = (Y0 + 0.01, X0 + 0.005)
NOW = dt.datetime(2026, 6, 1, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def geo(transactional_db, world):
    parent = Category.objects.create(code="04", name="市容环境")
    Category.objects.create(
        code="0401", name="乱堆乱放", parent=parent, handling_level=HandlingLevel.VILLAGE
    )
    private = Category.objects.create(code="07", name="特殊人群", is_private=True)
    Category.objects.create(code="0701", name="独居老人关爱", parent=private)
    _row, world.key = ApiToken.issue(user=world.citizen, name="client test")
    return world


@pytest.fixture
def root(live_server):
    return f"{live_server.url}/api/open311/v2"


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_georeport_client_lists_creates_and_reads_requests(geo, root, fmt):
    client = GeoReport(root, jurisdiction="140200000000", output_format=fmt)
    services_ = client.get_service_list()
    if isinstance(services_, dict):  # xmltodict: a single <service> is a dict, not a list
        services_ = [services_]
    codes = {s["service_code"] for s in services_}
    assert codes == {"0401", "0701"}
    definition = client.get_service_definition("0401")
    assert definition["service_code"] == "0401"

    created = requests.post(
        f"{root}/requests.{fmt}",
        data={"api_key": geo.key, "jurisdiction_id": "140200000000", "service_code": "0401",
              "lat": A1[0], "long": A1[1], "description": "路边垃圾堆放"},
        timeout=10,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    if fmt == "json":
        code = created.json()[0]["service_request_id"]
    else:
        code = xmltodict.parse(created.content)["service_requests"]["request"]["service_request_id"]
    one = client.get_service_request(code)
    assert one["service_request_id"] == code and one["status"] == "open"
    assert one["description"] == "路边垃圾堆放"

    services.case_report(
        actor=None, category="0701", description="独居老人两天未出门", lat=A1[0], lng=A1[1],
        reporter_phone="13912345678",
    )  # fmt: skip
    found = client.get_service_requests(status="open")  # no key: the public square map
    rows = found if isinstance(found, list) else [found]
    assert [r["service_code"] for r in rows] == ["0401"]  # the private one never appears
    assert rows[0]["service_request_id"].startswith("M") and not rows[0].get("description")
    again = client.get_service_request(rows[0]["service_request_id"])
    assert again["service_code"] == "0401"


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_errors_are_the_specifications_arrays_in_both_formats(geo, root, fmt):
    for response, status in (
        (requests.post(f"{root}/requests.{fmt}", data={"service_code": "0401"}, timeout=10), 403),
        (requests.get(f"{root}/requests/NOPE123.{fmt}", timeout=10), 404),
        (requests.get(f"{root}/services.{fmt}?jurisdiction_id=elsewhere", timeout=10), 404),
        (requests.get(f"{root}/requests.{fmt}?start_date=yesterday", timeout=10), 400),
    ):
        assert response.status_code == status
        if fmt == "json":
            (error,) = response.json()
        else:
            error = xmltodict.parse(response.content)["errors"]["error"]
        assert int(error["code"]) == status and error["description"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_discovery_names_both_formats(geo, root, fmt):
    response = requests.get(f"{root}/discovery.{fmt}", timeout=10)
    assert response.status_code == 200
    if fmt == "json":
        endpoint = response.json()["endpoints"][0]
        formats = endpoint["formats"]
    else:
        endpoint = xmltodict.parse(response.content)["discovery"]["endpoints"]["endpoint"]
        formats = endpoint["formats"]["format"]
    assert set(formats) == {"text/xml", "application/json"}
    assert endpoint["url"] == root


def test_public_search_spans_at_most_90_days(geo, root):
    response = requests.get(
        f"{root}/requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z",
        timeout=10,
    )
    assert response.status_code == 400 and "90" in response.json()[0]["description"]
