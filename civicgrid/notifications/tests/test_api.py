import pytest

from civicgrid.api.models import ApiToken
from civicgrid.notifications.models import Notification
from civicgrid.notifications.services import notify

BASE = "/api/notifications"


@pytest.fixture
def api_world(world):
    for i in range(5):
        notify(users=[world.operator_a, world.leader_a], kind="system", title=f"n{i}")
    return world


def test_unauthenticated_request_answers_401_with_the_error_shape(client, db):
    response = client.get(f"{BASE}/")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


def test_list_returns_own_rows_newest_first_with_a_cursor(client, api_world):
    client.force_login(api_world.operator_a)
    page1 = client.get(f"{BASE}/?limit=2").json()
    assert [n["title"] for n in page1["items"]] == ["n4", "n3"]
    assert page1["unread"] == 5
    page2 = client.get(f"{BASE}/?limit=2&before={page1['next_cursor']}").json()
    assert [n["title"] for n in page2["items"]] == ["n2", "n1"]
    page3 = client.get(f"{BASE}/?limit=2&before={page2['next_cursor']}").json()
    assert [n["title"] for n in page3["items"]] == ["n0"]
    assert page3["next_cursor"] is None
    own = set(
        Notification.objects.filter(recipient=api_world.operator_a).values_list("id", flat=True)
    )
    assert {n["id"] for n in page1["items"] + page2["items"] + page3["items"]} == own


def test_list_unread_filter(client, api_world):
    client.force_login(api_world.operator_a)
    Notification.objects.filter(recipient=api_world.operator_a, title="n4").update(
        read_at="2026-01-01T00:00Z"
    )
    titles = [n["title"] for n in client.get(f"{BASE}/?unread=true").json()["items"]]
    assert titles == ["n3", "n2", "n1", "n0"]


def test_unread_count_supports_if_none_match(client, api_world):
    client.force_login(api_world.operator_a)
    first = client.get(f"{BASE}/unread-count")
    assert first.json() == {"unread": 5}
    assert client.get(f"{BASE}/unread-count", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    client.post(f"{BASE}/read-all")
    second = client.get(f"{BASE}/unread-count", HTTP_IF_NONE_MATCH=first["ETag"])
    assert second.status_code == 200 and second.json() == {"unread": 0}


def test_mark_one_read_and_all_read(client, api_world):
    client.force_login(api_world.operator_a)
    row = Notification.objects.filter(recipient=api_world.operator_a).first()
    body = client.post(f"{BASE}/{row.pk}/read").json()
    assert body["id"] == row.pk and body["read_at"] is not None
    assert client.post(f"{BASE}/read-all").json() == {"marked": 4}
    assert Notification.objects.filter(recipient=api_world.leader_a, read_at=None).count() == 5


@pytest.mark.parametrize("persona", ["leader_a", "handler_a", "outsider_b", "admin", "citizen"])
def test_mark_read_of_another_users_row_answers_404(client, api_world, persona):
    row = Notification.objects.filter(recipient=api_world.operator_a).first()
    client.force_login(getattr(api_world, persona))
    response = client.post(f"{BASE}/{row.pk}/read")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    row.refresh_from_db()
    assert row.read_at is None


def test_token_auth_reads_the_token_owners_inbox(client, api_world):
    _obj, token = ApiToken.issue(user=api_world.leader_a, name="phone")
    response = client.get(f"{BASE}/unread-count", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.json() == {"unread": 5}
    response = client.post(f"{BASE}/read-all", HTTP_X_API_TOKEN=token)
    assert response.json() == {"marked": 5}
    assert Notification.objects.filter(recipient=api_world.operator_a, read_at=None).count() == 5
