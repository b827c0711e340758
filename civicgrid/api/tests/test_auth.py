from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from civicgrid.api.models import ApiToken

URL = "/api/notifications/unread-count"


def issue(username: str, name: str = "device") -> str:
    out, err = StringIO(), StringIO()
    call_command("issue_token", username, name, stdout=out, stderr=err)
    assert "cannot be shown again" in err.getvalue()
    return out.getvalue().strip()


def test_issue_token_prints_the_token_once_and_stores_only_its_hash(world):
    token = issue("operator_a", "12345 hotline bridge")
    row = ApiToken.objects.get(user=world.operator_a)
    assert row.name == "12345 hotline bridge"
    assert token.startswith("cg_") and len(token) > 40
    assert row.digest == ApiToken.hash(token) and token not in (row.digest, row.prefix)


@pytest.mark.parametrize("header", ["HTTP_AUTHORIZATION", "HTTP_X_API_TOKEN"])
def test_token_authenticates_as_its_user(client, world, header):
    token = issue("leader_a")
    value = f"Bearer {token}" if header == "HTTP_AUTHORIZATION" else token
    response = client.get(URL, **{header: value})
    assert response.status_code == 200
    assert ApiToken.objects.get(user=world.leader_a).last_used_at is not None


@pytest.mark.parametrize(
    "spoil",
    ["revoke", "deactivate", "wrong"],
)
def test_revoked_wrong_or_inactive_tokens_answer_401(client, world, spoil):
    token = issue("leader_a")
    if spoil == "revoke":
        ApiToken.objects.update(revoked=True)
    elif spoil == "deactivate":
        world.leader_a.is_active = False
        world.leader_a.save()
    else:
        token = token + "x"
    response = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401
    assert response.json() == {
        "code": "unauthenticated",
        "message": "authentication required",
        "details": {},
    }


@pytest.mark.parametrize(
    "args, message",
    [(["nobody", "x"], "not found"), (["operator_a", "  "], "1 to 100")],
)
def test_issue_token_refuses_bad_input(world, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("issue_token", *args, stdout=StringIO(), stderr=StringIO())
    assert not ApiToken.objects.exists()


def test_issue_token_refuses_inactive_users(world):
    world.citizen.is_active = False
    world.citizen.save()
    with pytest.raises(CommandError, match="inactive"):
        call_command("issue_token", "citizen", "x", stdout=StringIO(), stderr=StringIO())


def test_validation_errors_name_the_field(client, world):
    client.force_login(world.operator_a)
    response = client.get("/api/notifications/?limit=many")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["details"]["errors"][0]["field"] == "limit"
    assert body["message"].startswith("limit:")


def test_session_post_without_csrf_token_is_refused(world):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(world.operator_a)
    response = client.post("/api/notifications/read-all")
    assert response.status_code in (401, 403)
    assert response.json()["code"] == "csrf_failed"


@pytest.mark.parametrize("header", ["HTTP_AUTHORIZATION", "HTTP_X_API_TOKEN"])
def test_token_post_from_a_cookieless_client_needs_no_csrf_token(world, header):
    from django.test import Client

    token = issue("leader_a")
    value = f"Bearer {token}" if header == "HTTP_AUTHORIZATION" else token
    response = Client(enforce_csrf_checks=True).post(
        "/api/notifications/read-all", **{header: value}
    )
    assert response.status_code == 200
    assert response.json() == {"marked": 0}


def test_session_post_with_csrf_token_is_accepted(world):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(world.operator_a)
    client.get("/notifications/")  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    response = client.post("/api/notifications/read-all", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200


def test_session_requests_do_not_look_up_tokens(client, world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(world.operator_a)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(URL).status_code == 200
    assert not any("api_apitoken" in q["sql"] for q in ctx.captured_queries)
