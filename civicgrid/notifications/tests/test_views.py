import pytest
from django.urls import reverse

from civicgrid.notifications.models import Notification
from civicgrid.notifications.services import notify

PERSONAS = ["operator_a", "handler_a", "worker_a1", "chief_a", "leader_a", "admin", "outsider_b"]


@pytest.fixture
def inboxes(world):
    """Two notifications for every persona, titled with the owner's username."""
    for name in PERSONAS:
        user = getattr(world, name)
        notify(users=[user], kind="system", title=f"for {name} #1")
        notify(users=[user], kind="case_overdue", title=f"for {name} #2", url="/territory/grids/")
    return world


def test_inbox_requires_login(client, db):
    response = client.get(reverse("notifications:inbox"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


@pytest.mark.parametrize("persona", PERSONAS)
def test_inbox_lists_only_the_users_own_notifications(client, inboxes, persona):
    client.force_login(getattr(inboxes, persona))
    body = client.get(reverse("notifications:inbox")).content.decode()
    for other in PERSONAS:
        assert (f"for {other} #1" in body) is (other == persona)


def test_inbox_unread_filter(client, inboxes):
    Notification.objects.filter(recipient=inboxes.operator_a, title__endswith="#1").update(
        read_at="2026-01-01T00:00Z"
    )
    client.force_login(inboxes.operator_a)
    body = client.get(reverse("notifications:inbox") + "?unread=1").content.decode()
    assert "for operator_a #2" in body
    assert "for operator_a #1" not in body


def test_htmx_mark_read_returns_the_row_and_signals_the_badge(client, inboxes):
    row = Notification.objects.filter(recipient=inboxes.operator_a).first()
    client.force_login(inboxes.operator_a)
    response = client.post(reverse("notifications:read", args=[row.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Trigger"] == "notificationsChanged"
    html = response.content.decode()
    assert f'id="notif-{row.pk}"' in html and "unread" not in html.split("\n")[0]
    assert 'id="notif-unread-count" hx-swap-oob="true">1<' in html
    row.refresh_from_db()
    assert row.read_at is not None


def test_plain_post_mark_read_redirects_back_to_the_inbox(client, inboxes):
    row = Notification.objects.filter(recipient=inboxes.operator_a).first()
    client.force_login(inboxes.operator_a)
    response = client.post(reverse("notifications:read", args=[row.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("notifications:inbox")


@pytest.mark.parametrize("persona", ["handler_a", "leader_a", "admin", "outsider_b"])
def test_marking_someone_elses_notification_answers_404(client, inboxes, persona):
    row = Notification.objects.filter(recipient=inboxes.operator_a).first()
    client.force_login(getattr(inboxes, persona))
    for name in ("read", "open"):
        method = client.post if name == "read" else client.get
        assert method(reverse(f"notifications:{name}", args=[row.pk])).status_code == 404
    row.refresh_from_db()
    assert row.read_at is None


def test_mark_read_refuses_get(client, inboxes):
    row = Notification.objects.filter(recipient=inboxes.operator_a).first()
    client.force_login(inboxes.operator_a)
    assert client.get(reverse("notifications:read", args=[row.pk])).status_code == 405


def test_mark_all_read_over_htmx_rerenders_the_list(client, inboxes):
    client.force_login(inboxes.operator_a)
    response = client.post(reverse("notifications:read_all"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'id="notif-list"' in response.content.decode()
    assert not Notification.objects.filter(recipient=inboxes.operator_a, read_at=None).exists()
    assert Notification.objects.filter(recipient=inboxes.leader_a, read_at=None).count() == 2


def test_open_marks_read_and_follows_a_local_link(client, inboxes):
    row = Notification.objects.get(recipient=inboxes.operator_a, title__endswith="#2")
    client.force_login(inboxes.operator_a)
    response = client.get(reverse("notifications:open", args=[row.pk]))
    assert response.status_code == 302
    assert response["Location"] == "/territory/grids/"
    row.refresh_from_db()
    assert row.read_at is not None


def test_open_never_redirects_off_site(client, world):
    (row,) = notify(users=[world.operator_a], kind="system", title="t", url="https://evil.example/")
    client.force_login(world.operator_a)
    response = client.get(reverse("notifications:open", args=[row.pk]))
    assert response["Location"] == reverse("notifications:inbox")


def test_badge_shows_the_unread_count_and_answers_304_until_it_changes(client, inboxes):
    client.force_login(inboxes.operator_a)
    url = reverse("notifications:badge")
    first = client.get(url)
    assert first.status_code == 200
    assert 'data-unread="2"' in first.content.decode()
    etag = first["ETag"]
    assert first["Cache-Control"] == "private, no-cache"
    again = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    notify(users=[inboxes.operator_a], kind="system", title="new")
    changed = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert 'data-unread="3"' in changed.content.decode()


def test_badge_etag_is_per_user(client, inboxes):
    client.force_login(inboxes.operator_a)
    etag = client.get(reverse("notifications:badge"))["ETag"]
    client.force_login(inboxes.leader_a)
    response = client.get(reverse("notifications:badge"), HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200


def test_badge_without_unread_shows_no_count(client, world):
    client.force_login(world.operator_a)
    html = client.get(reverse("notifications:badge")).content.decode()
    assert "data-unread" not in html
    assert 'id="notif-bell"' in html


def test_badge_for_anonymous_is_empty_so_polling_never_swaps_a_login_page(client, db):
    response = client.get(reverse("notifications:badge"))
    assert response.status_code == 204


def test_badge_polls_with_few_queries(client, inboxes, django_assert_max_num_queries):
    client.force_login(inboxes.operator_a)
    etag = client.get(reverse("notifications:badge"))["ETag"]
    # session + user + the one aggregate
    with django_assert_max_num_queries(3):
        assert (
            client.get(reverse("notifications:badge"), HTTP_IF_NONE_MATCH=etag).status_code == 304
        )


def test_every_page_carries_the_polling_bell_for_signed_in_users(client, world):
    client.force_login(world.operator_a)
    html = client.get(reverse("console:grids")).content.decode()
    assert 'id="notif-bell"' in html
    assert 'hx-trigger="load, every 30s' in html


def test_inbox_speaks_chinese_by_default(client, inboxes):
    client.force_login(inboxes.operator_a)
    html = client.get(reverse("notifications:inbox")).content.decode()
    assert "消息通知" in html and "标为已读" in html


def test_open_follows_a_case_notification_to_the_console_case_page(client, world):
    from civicgrid.cases.models import Case, Category

    category = Category.objects.create(code="01", name="市容环境")
    case = Case.objects.create(
        category=category,
        description="垃圾堆放",
        area=world.comm_a,
        grid=world.grid_a1,
        scope_code=world.grid_a1.code,
        source="grid_worker",
        owner=world.center_a,
        owner_code=world.center_a.area.code,
    )
    (row,) = notify(users=[world.operator_a], kind="case_reported", title="t", case=case)
    client.force_login(world.operator_a)
    response = client.get(reverse("notifications:open", args=[row.pk]))
    assert response["Location"] == reverse("console:case_detail", args=[case.pk])
