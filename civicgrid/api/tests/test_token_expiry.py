"""API tokens expire and can be revoked; they are never read from the query string (except
Open311's api_key, which the GeoReport specification requires)."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from civicgrid.api.models import ApiToken

pytestmark = pytest.mark.django_db
URL = "/api/notifications/unread-count"


def bearer(token):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_a_token_stops_working_when_it_expires(client, world, settings):
    settings.API_TOKEN_DAYS = 90
    with time_machine.travel("2026-01-01 09:00 +08:00", tick=False) as clock:
        row, token = ApiToken.issue(user=world.leader_a, name="phone")
        assert row.expires_at == dt.datetime(2026, 4, 1, 1, 0, tzinfo=dt.UTC)
        assert client.get(URL, **bearer(token)).status_code == 200
        clock.move_to("2026-04-01 08:59 +08:00")
        assert client.get(URL, **bearer(token)).status_code == 200
        clock.move_to("2026-04-01 09:00 +08:00")
        assert client.get(URL, **bearer(token)).status_code == 401


def test_shorter_lives_are_allowed_longer_ones_are_not(world, settings):
    settings.API_TOKEN_DAYS = 30
    row, _ = ApiToken.issue(user=world.leader_a, name="x", days=7)
    assert abs((row.expires_at - row.created_at) - dt.timedelta(days=7)) < dt.timedelta(seconds=5)
    for days in (0, 31):
        with pytest.raises(ValueError, match="days"):
            ApiToken.issue(user=world.leader_a, name="x", days=days)
    with pytest.raises(CommandError, match="days"):
        call_command("issue_token", "leader_a", "x", "--days", "400", stdout=StringIO())


def test_a_token_without_an_expiry_is_refused(client, world):
    row, token = ApiToken.issue(user=world.leader_a, name="legacy")
    ApiToken.objects.filter(pk=row.pk).update(expires_at=None)
    assert client.get(URL, **bearer(token)).status_code == 401


def test_revoke_command_by_prefix_and_by_user(client, world):
    row, token = ApiToken.issue(user=world.leader_a, name="a")
    _r2, token2 = ApiToken.issue(user=world.leader_a, name="b")
    call_command("revoke_token", row.prefix, stdout=StringIO())
    row.refresh_from_db()
    assert row.revoked and row.revoked_at is not None
    assert client.get(URL, **bearer(token)).status_code == 401
    assert client.get(URL, **bearer(token2)).status_code == 200
    call_command("revoke_token", "--user", "leader_a", stdout=StringIO())
    assert client.get(URL, **bearer(token2)).status_code == 401
    with pytest.raises(CommandError):
        call_command("revoke_token", "--user", "leader_a", stdout=StringIO())


def test_admin_revokes_selected_tokens(client, world):
    world.admin.is_superuser = True
    world.admin.save()
    row, token = ApiToken.issue(user=world.leader_a, name="a")
    client.force_login(world.admin)
    client.post(
        "/admin/api/apitoken/",
        {"action": "revoke_selected", "_selected_action": [row.pk]},
    )
    row.refresh_from_db()
    assert row.revoked


@pytest.mark.parametrize("param", ["token", "api_key", "access_token", "key"])
def test_tokens_in_the_query_string_are_ignored(client, world, param):
    _row, token = ApiToken.issue(user=world.leader_a, name="a")
    assert client.get(URL, {param: token}).status_code == 401


def test_open311_still_takes_its_api_key_parameter(client, world):
    _row, token = ApiToken.issue(user=world.operator_a, name="bridge")
    assert client.get("/api/open311/v2/requests.json", {"api_key": token}).status_code == 200
    assert client.get("/api/open311/v2/requests.json").status_code in (200, 403)
