"""The console's audit search: who may read it, filters, pages, bad input."""

from __future__ import annotations

import pytest
import time_machine
from django.urls import reverse
from django.utils import translation

from civicgrid.audit import selectors, services
from civicgrid.audit.context import Actor

pytestmark = pytest.mark.django_db
URL = "/console/audit/"


def _events(n, label="alice", action="update", object_type="cases.category"):
    return [
        services.record(
            action,
            object_type=object_type,
            object_id=str(i),
            object_repr=f"对象{i}",
            after={"n": i},
            actor=Actor(None, label, "10.1.1.1"),
        )
        for i in range(n)
    ]


@pytest.mark.parametrize(
    "persona,status",
    [
        ("admin", 200),  # administrator of the whole city
        ("operator_a", 403),
        ("leader_a", 403),
        ("chief_a", 403),
        ("handler_a", 403),
        ("worker_a1", 403),
        ("outsider_b", 403),
        ("citizen", 403),
    ],
)
def test_only_installation_admins_read_the_trail(client, world, persona, status):
    client.force_login(getattr(world, persona))
    assert client.get(URL).status_code == status


def test_district_admin_is_not_an_auditor(client, world):
    from civicgrid.people.models import Role
    from civicgrid.people.tests.factories import UserFactory, assign

    district_admin = UserFactory(username="dadmin")
    assign(district_admin, Role.ADMIN, world.dist_a)
    client.force_login(district_admin)
    assert client.get(URL).status_code == 403


def test_anonymous_is_sent_to_sign_in(client, world):
    response = client.get(URL)
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_page_is_chinese_and_filters_by_actor_action_object_and_date(client, world):
    with time_machine.travel("2026-05-01 10:00 +08:00", tick=False):
        _events(2, label="bob", action="delete")
    with time_machine.travel("2026-05-03 10:00 +08:00", tick=False):
        _events(3, label="alice")
    client.force_login(world.admin)
    with translation.override("zh-hans"):
        page = client.get(URL, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "审计日志" in page.content.decode()
    items = lambda **q: [e.seq for e in client.get(URL, q).context["page"].items]  # noqa: E731
    assert len(items(actor="bob")) == 2
    assert len(items(action="delete")) == 2
    assert len(items(object_id="1", object_type="cases.category")) == 2  # bob's and alice's
    assert len(items(date_from="2026-05-02", date_to="2026-05-03")) == 3
    assert len(items(date_to="2026-05-01", object_type="cases.category")) == 2


@pytest.mark.parametrize(
    "params,field",
    [
        ({"date_from": "2026-13-01"}, "date_from"),
        ({"date_to": "yesterday"}, "date_to"),
        ({"action": "drop table"}, "action"),
        ({"object_type": "x"}, "object_type"),
        ({"date_from": "2026-05-03", "date_to": "2026-05-01"}, "date_to"),
    ],
)
def test_bad_filters_answer_a_clear_error_not_a_500(client, world, params, field):
    client.force_login(world.admin)
    response = client.get(URL, {**params, "before": "9" * 40})
    assert response.status_code == 200
    assert field in response.context["f"].errors


def test_pages_walk_the_whole_log_newest_first(client, world):
    rows = _events(selectors.PAGE_SIZE * 2 + 5)
    client.force_login(world.admin)
    first = client.get(URL, {"actor": "alice"}).context["page"]
    assert first.items[0].seq == rows[-1].seq and first.newer is None
    second = client.get(URL, {"actor": "alice", "before": first.older}).context["page"]
    third = client.get(URL, {"actor": "alice", "before": second.older}).context["page"]
    seen = [e.seq for p in (first, second, third) for e in p.items]
    assert seen == sorted((r.seq for r in rows), reverse=True) and third.older is None
    back = client.get(URL, {"actor": "alice", "after": second.newer}).context["page"]
    assert [e.seq for e in back.items] == [e.seq for e in first.items]


def test_the_list_costs_a_fixed_number_of_queries(client, world, django_assert_max_num_queries):
    _events(60)
    client.force_login(world.admin)
    client.get(URL)
    with django_assert_max_num_queries(12):
        client.get(URL)


def test_nav_links_the_trail_for_auditors_only(client, world):
    client.force_login(world.admin)
    assert URL in client.get(reverse("console:case_list")).content.decode()
    client.force_login(world.operator_a)
    assert URL not in client.get(reverse("console:case_list")).content.decode()
