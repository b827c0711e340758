"""Inputs the fuzzer found answering 500: each now a 4xx in the API's error shape."""

import pytest

from civicgrid.api.models import ApiToken

HUGE = "-5774943065977368453578752"


@pytest.fixture
def auth(world):
    _row, token = ApiToken.issue(user=world.worker_a1, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def _error(response, status, field=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "details"}
    if field is not None:
        assert field in {e["field"] for e in body["details"]["errors"]}
    return body


@pytest.mark.parametrize(
    "url, field",
    [
        (f"/api/field/patrols?worker={HUGE}", "worker"),
        ("/api/field/patrols?worker=0", "worker"),
        ("/api/field/patrols?limit=100000", "limit"),
        ("/api/field/patrols?date=", "date"),
        ("/api/field/patrols/summary?date_from=&date_to=2026-01-01", "date_from"),
        ("/api/field/patrols/summary?date_from=2026-01-01", "date_to"),
        ("/api/field/workers/0/track?date=2026-01-01", "worker_id"),
        ("/api/field/workers/5/track?date=", "date"),
        (f"/api/field/checkins?worker={HUGE}", "worker"),
        (f"/api/notifications/?before={HUGE}", "before"),
        (f"/api/analytics/exports/{HUGE[1:]}", "export_id"),
    ],
)
def test_out_of_range_and_empty_parameters_are_422_naming_the_field(client, auth, url, field):
    _error(client.get(url, **auth), 422, field)


@pytest.mark.parametrize(
    "url",
    [
        "/api/cases/attachments",
        "/api/field/reports",
        "/api/public/reports",
    ],
)
def test_multipart_without_a_boundary_is_a_400(client, auth, url):
    response = client.generic(
        "POST", url, b"--x\r\n\r\nhello\r\n--x--", content_type="multipart/form-data", **auth
    )
    body = _error(response, 400)
    assert body["code"] == "invalid_multipart"
    assert "boundary" in body["message"]
