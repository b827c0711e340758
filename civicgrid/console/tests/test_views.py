"""Console pages behave as the seat operator expects; every write goes through the services."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from civicgrid.cases import services
from civicgrid.cases.models import Case, CaseAction, Source, State, Supervision
from civicgrid.console.models import PhoneReveal

from .conftest import A1, A2, B1, drive, jpeg, new_case

pytestmark = pytest.mark.usefixtures("frozen_clock")

HX = {"HTTP_HX_REQUEST": "true"}


def body(response) -> str:
    return response.content.decode()


def login(client, user):
    client.force_login(user)
    return client


# --- workbench ----------------------------------------------------------------------------------


def test_operator_home_counts_each_queue_of_the_own_center(client, world, cases):
    html = body(login(client, world.operator_a).get(reverse("home")))
    counts = dict(re.findall(r'data-queue="(\w+)" data-count="(\d+)"', html))
    # reported, filed, handled are owned by center_a (county-level category); A2 assigned too.
    assert counts["reported"] == "1"
    assert counts["filed"] == "1"
    assert counts["in_progress"] == "2"  # assigned + in progress
    assert counts["handled"] == "1"
    assert counts["overdue"] == "0"


def test_handler_home_shows_the_departments_queues(client, world, cases):
    html = body(login(client, world.handler_a).get(reverse("home")))
    counts = dict(re.findall(r'data-queue="(\w+)" data-count="(\d+)"', html))
    assert counts["to_sign"] == "1" and counts["signed"] == "1"
    assert counts["handled"] == "1" and counts["rework"] == "0"
    assert 'data-queue="reported"' not in html  # no center queues for a handler


def test_leader_home_shows_an_overview_by_child_area(client, world, cases):
    html = body(login(client, world.leader_a).get(reverse("home")))
    assert world.street_a.name in html
    assert "block-leader" in html
    assert 'data-queue="reported"' not in html  # no operator queues for a leader


def test_overdue_and_due_soon_follow_the_clock(client, world, cats):
    case = drive(world, cats, State.FILED)  # handling limit 24 natural hours from now
    client.force_login(world.operator_a)
    url = reverse("console:home_tiles", args=["operator"])
    with time_machine.travel(timezone.now() + dt.timedelta(hours=20)):
        counts = dict(re.findall(r'data-queue="(\w+)" data-count="(\d+)"', body(client.get(url))))
        assert counts["due_soon"] == "1" and counts["overdue"] == "0"
    with time_machine.travel(timezone.now() + dt.timedelta(hours=25)):
        counts = dict(re.findall(r'data-queue="(\w+)" data-count="(\d+)"', body(client.get(url))))
        assert counts["due_soon"] == "0" and counts["overdue"] == "1"
    assert case.pk


def test_polled_tiles_answer_304_until_a_case_changes(client, world, cases):
    client.force_login(world.operator_a)
    url = reverse("console:home_tiles", args=["operator"])
    first = client.get(url)
    etag = first["ETag"]
    assert first.status_code == 200 and etag
    again = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again["ETag"] == etag
    services.case_reject(case=cases.reported, actor=world.operator_a, reason="重复来电")
    changed = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag


def test_etag_differs_per_user(client, world, cases):
    url = reverse("console:home_tiles", args=["operator"])
    a = login(client, world.operator_a).get(url)["ETag"]
    b = login(client, world.outsider_b).get(url)["ETag"]
    assert a != b


def test_queue_fragment_lists_the_queue_and_polls_itself(client, world, cases):
    client.force_login(world.operator_a)
    html = body(client.get(reverse("console:home_queue", args=["operator", "handled"])))
    assert cases.handled.tracking_code in html
    assert cases.reported.tracking_code not in html
    assert 'hx-trigger="every' in html


def test_workbench_never_polls_a_form(client, world, cases):
    """Only count and queue fragments are polled; forms are never inside a polled element."""
    html = body(login(client, world.operator_a).get(reverse("home")))
    for match in re.finditer(r"<(\w+)[^>]*hx-trigger=\"every", html):
        assert match.group(1) in ("div", "section", "aside")
    polled_ids = re.findall(r'id="([\w-]+)"[^>]*hx-trigger="every', html)
    assert set(polled_ids) == {"tiles-operator", "queue-operator", "side-operator"}
    for pid in polled_ids:  # no polled element holds a form
        start = html.index(f'id="{pid}"')
        end = html.find('hx-trigger="every', html.index("hx-trigger", start) + 1)
        assert "<form" not in html[start : end if end > 0 else len(html)]


def test_tile_click_swaps_the_block_with_the_chosen_queue(client, world, cases):
    client.force_login(world.operator_a)
    url = reverse("console:home_block", args=["operator"]) + "?queue=filed"
    html = body(client.get(url, **HX))
    queue = html[html.index('id="queue-operator"') : html.index('id="side-operator"')]
    assert cases.filed.tracking_code in queue and cases.handled.tracking_code not in queue


# --- case list -----------------------------------------------------------------------------------


def list_codes(client, query: str = "") -> set[str]:
    html = body(client.get(reverse("console:case_list") + query))
    return set(re.findall(r'class="code-link" href="/console/cases/\d+/">(\w+)<', html))


def test_case_list_filters_by_state_category_area_grid_text_and_source(client, world, cats, cases):
    lamp = new_case(world, cats, category=cats.lamp, at=A2, description="路灯不亮")
    client.force_login(world.operator_a)
    assert list_codes(client, "?state=handled") == {cases.handled.tracking_code}
    assert list_codes(client, "?category=0501") == {lamp.tracking_code}
    assert lamp.tracking_code in list_codes(client, "?category=05")
    assert list_codes(client, "?grid=甲二网格") == {
        cases.assigned.tracking_code,
        lamp.tracking_code,
    }
    assert list_codes(client, "?q=路灯") == {lamp.tracking_code}
    assert list_codes(client, f"?q={lamp.tracking_code.lower()}") == {lamp.tracking_code}
    assert len(list_codes(client, "?source=hotline")) == 7
    assert list_codes(client, "?source=citizen") == set()
    assert cases.other.tracking_code not in list_codes(client, "?area=140214000000")


def test_case_list_sla_and_date_filters(client, world, cats):
    with time_machine.travel(timezone.now() - dt.timedelta(days=3)):
        old = drive(world, cats, State.FILED)
    fresh = drive(world, cats, State.FILED)
    client.force_login(world.operator_a)
    assert list_codes(client, "?sla=overdue") == {old.tracking_code}
    assert list_codes(client, "?sla=normal") == {fresh.tracking_code}
    today = timezone.localdate().isoformat()
    assert list_codes(client, f"?date_from={today}") == {fresh.tracking_code}
    assert list_codes(client, f"?date_to={today}") == {old.tracking_code, fresh.tracking_code}


def test_bad_filters_are_reported_not_crashed(client, world, cases):
    client.force_login(world.operator_a)
    response = client.get(reverse("console:case_list") + "?date_from=2026-13-40&grid=不存在")
    html = body(response)
    assert response.status_code == 200
    assert html.count('class="field-error"') == 2
    bad_cursor = client.get(reverse("console:case_list") + "?after=garbage")
    assert bad_cursor.status_code == 200 and "msg-error" in body(bad_cursor)


def test_case_list_keyset_pages_forward_and_back_without_gaps(client, world, cats):
    made = []
    base = timezone.now() - dt.timedelta(hours=70)
    for i in range(55):
        with time_machine.travel(base + dt.timedelta(minutes=i), tick=False):
            made.append(new_case(world, cats, description=f"第{i}件"))
    client.force_login(world.operator_a)
    first = body(client.get(reverse("console:case_list") + "?sort=oldest"))
    page1 = re.findall(r'class="code-link" href="/console/cases/\d+/">(\w+)<', first)
    assert page1 == [c.tracking_code for c in made[:50]]
    assert "55" in first  # the bounded total
    nxt = re.search(r'href="(\?[^"]*after=[^"]+)" [^>]*rel="next"', first).group(1)
    second = body(client.get(reverse("console:case_list") + nxt.replace("&amp;", "&")))
    page2 = re.findall(r'class="code-link" href="/console/cases/\d+/">(\w+)<', second)
    assert page2 == [c.tracking_code for c in made[50:]]
    prev = re.search(r'href="(\?[^"]*before=[^"]+)"', second).group(1)
    back = body(client.get(reverse("console:case_list") + prev.replace("&amp;", "&")))
    assert re.findall(r'class="code-link" href="/console/cases/\d+/">(\w+)<', back) == page1


def test_htmx_filter_returns_only_the_results_fragment(client, world, cases):
    client.force_login(world.operator_a)
    response = client.get(
        reverse("console:case_list") + "?state=filed", HTTP_HX_TARGET="case-results", **HX
    )
    html = body(response)
    assert "<html" not in html and cases.filed.tracking_code in html


def test_case_list_query_count_does_not_grow_with_rows(
    client, world, cats, django_assert_max_num_queries
):
    for _ in range(12):
        drive(world, cats, State.FILED)
    client.force_login(world.operator_a)
    client.get(reverse("console:case_list"))  # warm per-user caches of the session
    with django_assert_max_num_queries(20):
        response = client.get(reverse("console:case_list"))
    assert response.status_code == 200


def test_bulk_dispatch_reports_each_case(client, world, cats, cases):
    second = drive(world, cats, State.FILED)
    client.force_login(world.operator_a)
    response = client.post(
        reverse("console:bulk_dispatch"),
        {
            "ids": [cases.filed.pk, second.pk, cases.reported.pk, cases.other.pk],
            "department": world.dept_a.pk,
        },
        **HX,
    )
    html = body(response)
    assert response["HX-Trigger"] == "casesChanged"
    assert Case.objects.get(pk=cases.filed.pk).state == State.ASSIGNED
    assert Case.objects.get(pk=second.pk).state == State.ASSIGNED
    assert Case.objects.get(pk=cases.reported.pk).state == State.REPORTED
    ok = re.findall(r'class="row-ok" data-result="(\d+)"', html)
    bad = re.findall(r'class="row-bad" data-result="(\d+)"', html)
    assert set(map(int, ok)) == {cases.filed.pk, second.pk}
    assert set(map(int, bad)) == {cases.reported.pk, cases.other.pk}
    assert "reported" in html  # the engine's refusal names the state


def test_bulk_dispatch_needs_a_department_and_a_selection(client, world, cases):
    client.force_login(world.operator_a)
    r1 = client.post(reverse("console:bulk_dispatch"), {"department": world.dept_a.pk}, **HX)
    r2 = client.post(reverse("console:bulk_dispatch"), {"ids": [cases.filed.pk]}, **HX)
    assert "msg-error" in body(r1) and "msg-error" in body(r2)
    assert Case.objects.get(pk=cases.filed.pk).state == State.FILED


def test_only_dispatchable_rows_get_a_checkbox(client, world, cases):
    html = body(login(client, world.operator_a).get(reverse("console:case_list")))
    boxes = set(map(int, re.findall(r'name="ids" value="(\d+)"', html)))
    assert boxes == {cases.filed.pk, cases.assigned.pk}  # filed, and re-dispatch of assigned
    html = body(login(client, world.leader_a).get(reverse("console:case_list")))
    assert 'name="ids"' not in html and "bulk-form" not in html


# --- case detail and actions --------------------------------------------------------------------


def offered(html: str) -> set[str]:
    return set(re.findall(r'data-action="(\w+)"', html))


@pytest.mark.parametrize(
    "persona,state,expected",
    [
        (
            "operator_a",
            "reported",
            {"accept", "reject", "merge", "escalate", "supervise", "comment"},
        ),
        ("operator_a", "filed", {"dispatch", "merge", "escalate", "supervise", "comment"}),
        ("handler_a", "assigned", {"sign", "return", "extend_request", "comment"}),
        ("handler_a", "in_progress", {"submit", "extend_request", "suspend_request", "comment"}),
        ("operator_a", "handled", {"verify", "rework", "supervise", "comment"}),
        ("leader_a", "handled", {"supervise", "comment"}),
        ("operator_a", "closed", {"reopen", "rate", "comment"}),
    ],
)
def test_detail_offers_exactly_what_the_engine_allows(
    client, world, cases, persona, state, expected
):
    case = getattr(cases, state)
    html = body(
        login(client, getattr(world, persona)).get(reverse("console:case_detail", args=[case.pk]))
    )
    assert offered(html) == expected


def test_accept_through_the_form_files_the_case_and_logs_it(client, world, cases):
    client.force_login(world.operator_a)
    url = reverse("console:case_act", args=[cases.reported.pk, "accept"])
    response = client.post(
        url, {"category": "0501", "priority": "3", "version": cases.reported.version}, **HX
    )
    assert response.status_code == 204
    assert response["HX-Redirect"] == reverse("console:case_detail", args=[cases.reported.pk])
    case = Case.objects.get(pk=cases.reported.pk)
    assert case.state == State.FILED and case.category.code == "0501" and case.priority == 3
    assert CaseAction.objects.filter(case=case, action="accept", actor=world.operator_a).exists()


def test_missing_reason_shows_inline_under_the_field_and_changes_nothing(client, world, cases):
    client.force_login(world.operator_a)
    url = reverse("console:case_act", args=[cases.reported.pk, "reject"])
    response = client.post(url, {"reason": "  "}, **HX)
    html = body(response)
    assert response.status_code == 200
    assert 'id="action-reject"' in html and "has-errors" in html
    label = re.search(r'<label class="field invalid[^"]*" data-field="(\w+)"', html)
    assert label and label.group(1) == "reason"
    assert Case.objects.get(pk=cases.reported.pk).state == State.REPORTED


def test_engine_message_appears_under_the_named_field(client, world, cases):
    client.force_login(world.handler_a)
    url = reverse("console:case_act", args=[cases.assigned.pk, "extend_request"])
    response = client.post(url, {"due": "2020-01-01T10:00", "reason": "需要更多时间"})
    html = body(response)
    assert response.status_code == 400
    field = re.search(
        r'data-field="due">.*?<span class="field-error" role="alert">(.*?)</span>', html, re.S
    )
    assert field is not None and field.group(1).strip()


def test_a_stale_form_is_refused_with_a_conflict(client, world, cases):
    client.force_login(world.operator_a)
    stale = cases.reported.version
    services.case_supervise(case=cases.reported, actor=world.leader_a, note="请尽快受理")
    response = client.post(
        reverse("console:case_act", args=[cases.reported.pk, "reject"]),
        {"reason": "重复", "version": stale},
    )
    assert response.status_code == 400
    assert Case.objects.get(pk=cases.reported.pk).state == State.REPORTED
    assert "msg-error" in body(response)


def test_submit_with_a_photo_then_rework_and_verify(client, world, cases):
    case = cases.in_progress
    client.force_login(world.handler_a)
    photo = SimpleUploadedFile("scene.jpg", jpeg(), content_type="image/jpeg")
    r = client.post(
        reverse("console:case_act", args=[case.pk, "submit"]),
        {"result": "已清理完毕", "attachments": [photo]},
    )
    assert r.status_code == 302
    case.refresh_from_db()
    assert case.state == State.HANDLED and case.attachments.count() == 1
    client.force_login(world.operator_a)
    html = body(client.get(reverse("console:case_detail", args=[case.pk])))
    att = case.attachments.first()
    assert reverse("console:attachment", args=[case.pk, att.pk]) in html
    client.post(reverse("console:case_act", args=[case.pk, "rework"]), {"reason": "未清理干净"})
    case.refresh_from_db()
    assert case.state == State.IN_PROGRESS and case.rework_count == 1


def test_returning_a_case_leaves_the_handlers_scope_and_goes_home(client, world, cases):
    client.force_login(world.handler_a)
    response = client.post(
        reverse("console:case_act", args=[cases.assigned.pk, "return"]), {"reason": "不属于本部门"}
    )
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert Case.objects.get(pk=cases.assigned.pk).state == State.FILED


def test_dispatch_to_a_grid_worker(client, world, cases):
    client.force_login(world.operator_a)
    client.post(
        reverse("console:case_act", args=[cases.filed.pk, "dispatch"]),
        {"dispatch_to": "worker", "department": world.dept_a.pk, "worker": world.worker_a1.pk},
    )
    case = Case.objects.get(pk=cases.filed.pk)
    assert case.state == State.ASSIGNED and case.worker == world.worker_a1
    assert case.department is None


def test_unknown_action_is_404(client, world, cases):
    client.force_login(world.operator_a)
    response = client.post(reverse("console:case_act", args=[cases.reported.pk, "teleport"]))
    assert response.status_code == 404


def test_duplicates_are_suggested_when_accepting_and_merge_in_one_click(client, world, cats):
    first = new_case(world, cats, description="同一处占道经营")
    second = new_case(world, cats, description="又有人反映占道经营")
    client.force_login(world.operator_a)
    html = body(client.get(reverse("console:case_detail", args=[second.pk])))
    assert "dup-card" in html and f'data-merge="{first.tracking_code}"' in html
    response = client.post(
        reverse("console:case_act", args=[second.pk, "merge"]),
        {"target": first.tracking_code, "version": second.version},
        **HX,
    )
    assert response.status_code == 204
    second.refresh_from_db()
    assert second.state == State.MERGED and second.merged_into_id == first.pk


def test_phone_is_masked_and_a_reveal_is_logged(client, world, cases):
    client.force_login(world.operator_a)
    html = body(client.get(reverse("console:case_detail", args=[cases.reported.pk])))
    assert "139****5678" in html and "13912345678" not in html
    revealed = body(client.post(reverse("console:reveal_phone", args=[cases.reported.pk]), **HX))
    assert "13912345678" in revealed
    row = PhoneReveal.objects.get()
    assert row.user == world.operator_a and row.case_id == cases.reported.pk


def test_leader_sees_the_masked_phone_without_a_reveal_button(client, world, cases):
    html = body(
        login(client, world.leader_a).get(reverse("console:case_detail", args=[cases.reported.pk]))
    )
    assert "139****5678" in html and "data-reveal" not in html


def test_timeline_lists_every_action_in_order(client, world, cases):
    html = body(
        login(client, world.operator_a).get(reverse("console:case_detail", args=[cases.closed.pk]))
    )
    order = re.findall(r'class="tl-item tl-(\w+)"', html)
    assert order == ["report", "accept", "dispatch", "sign", "submit", "verify"]
    assert world.dept_a.name in html


def test_case_stamp_is_silent_until_the_case_moves(client, world, cases):
    client.force_login(world.operator_a)
    url = reverse("console:case_stamp", args=[cases.reported.pk])
    seen = cases.reported.version
    assert client.get(url + f"?v={seen}").status_code == 204
    services.case_supervise(case=cases.reported, actor=world.leader_a, note="请尽快受理")
    response = client.get(url + f"?v={seen}")
    assert response.status_code == 200 and "changed-banner" in body(response)


def test_detail_map_carries_the_grid_boundary_and_point(client, world, cases):
    html = body(
        login(client, world.operator_a).get(
            reverse("console:case_detail", args=[cases.reported.pk])
        )
    )
    data = re.search(r'<script id="case-map-data" type="application/json">(.*?)</script>', html)
    import json

    payload = json.loads(data.group(1))
    assert payload["grid"]["code"] == world.grid_a1.code
    assert payload["grid"]["geometry"]["type"] == "Polygon"
    assert payload["point"] == pytest.approx([A1[0], A1[1]])
    assert {s["code"] for s in payload["siblings"]} == {world.grid_a2.code}


# --- hotline intake --------------------------------------------------------------------------------


def intake_post(client, **overrides):
    data = {
        "reporter_name": "李女士",
        "reporter_phone": "13800001111",
        "category": "0401",
        "description": "小区门口占道经营",
        "address": "甲社区北门",
        "lat": str(A1[0]),
        "lng": str(A1[1]),
        "crs": "wgs84",
        "client_id": "intake-test-0001",
    }
    data.update(overrides)
    return client.post(reverse("console:intake"), data)


def test_hotline_intake_creates_a_hotline_case_through_the_report_service(client, world, cats):
    client.force_login(world.operator_a)
    response = intake_post(client)
    case = Case.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("console:case_detail", args=[case.pk])
    assert case.source == Source.HOTLINE and case.state == State.REPORTED
    assert case.grid == world.grid_a1 and case.reporter_phone == "13800001111"
    assert CaseAction.objects.get(case=case).actor == world.operator_a


def test_intake_can_accept_at_once(client, world, cats):
    client.force_login(world.operator_a)
    intake_post(client, accept_now="on", priority="3")
    case = Case.objects.get()
    assert case.state == State.FILED and case.priority == 3


def test_intake_double_submit_creates_one_case(client, world, cats):
    client.force_login(world.operator_a)
    intake_post(client)
    intake_post(client)
    assert Case.objects.count() == 1


@pytest.mark.parametrize(
    "overrides,field",
    [
        ({"category": ""}, "category"),
        ({"description": ""}, "description"),
        ({"lat": "", "lng": ""}, "location"),
        ({"lat": "10", "lng": "10"}, "location"),
        ({"crs": "mars"}, "crs"),
    ],
)
def test_intake_errors_show_under_their_field_and_keep_the_input(
    client, world, cats, overrides, field
):
    client.force_login(world.operator_a)
    response = intake_post(client, **overrides)
    html = body(response)
    assert response.status_code == 400 and Case.objects.count() == 0
    assert "field-error" in html
    if field == "location":
        assert 'data-field="location"' in html
    else:
        assert re.search(r'class="field invalid"><span class="field-label">[^<]*', html)
    assert "李女士" in html  # nothing typed is lost


def test_locate_fragment_names_the_grid_center_and_duplicates(client, world, cats):
    existing = new_case(world, cats)
    client.force_login(world.operator_a)
    html = body(
        client.get(
            reverse("console:intake_locate"), {"lat": A1[0], "lng": A1[1], "category": "0401"}
        )
    )
    assert world.grid_a1.name in html and world.grid_a1.code in html
    assert world.center_a.name in html
    assert existing.tracking_code in html


def test_locate_outside_every_grid_names_the_nearest(client, world, cats):
    client.force_login(world.operator_a)
    html = body(client.get(reverse("console:intake_locate"), {"lat": A1[0], "lng": A1[1] - 0.007}))
    assert 'data-grid=""' in html and world.grid_a1.name in html


def test_place_search_finds_areas_and_grids_in_scope_only(client, world, cats):
    client.force_login(world.operator_a)
    html = body(client.get(reverse("console:intake_places"), {"place": "网格"}))
    assert world.grid_a1.name in html and world.grid_b1.name not in html


# --- map -----------------------------------------------------------------------------------------


def test_map_points_follow_bbox_filters_and_limit(client, world, cats, cases, monkeypatch):
    client.force_login(world.operator_a)
    url = reverse("console:map_cases")
    inside_a1 = f"{A1[1] - 0.001},{A1[0] - 0.001},{A1[1] + 0.001},{A1[0] + 0.001}"
    data = client.get(url, {"bbox": inside_a1}).json()
    ids = {row[0] for row in data["items"]}
    assert cases.reported.pk in ids and cases.assigned.pk not in ids  # A2 is outside
    assert cases.closed.pk not in ids  # open only by default
    closed = client.get(url, {"bbox": "113,40,114,41", "state": "closed"}).json()
    assert [row[0] for row in closed["items"]] == [cases.closed.pk]
    assert closed["items"][0][3] == "done"
    from civicgrid.console import queries

    monkeypatch.setattr(queries.map, "MAP_LIMIT", 2)
    few = client.get(url, {"bbox": "113,40,114,41"}).json()
    assert len(few["items"]) == 2 and few["truncated"] is True


def test_map_points_refuse_a_bad_bbox(client, world):
    client.force_login(world.operator_a)
    response = client.get(reverse("console:map_cases"), {"bbox": "1,2,3"})
    assert response.status_code == 400 and response.json()["code"] == "invalid_bbox"


# --- supervision and directories ----------------------------------------------------------------


def test_supervision_list_shows_waiting_and_answered(client, world, cases):
    services.case_supervise(case=cases.assigned, actor=world.leader_a, note="请加快处理")
    services.case_supervise(case=cases.other, actor=world.outsider_b, note="乙区督办")
    client.force_login(world.operator_a)
    html = body(client.get(reverse("console:supervision") + "?status=open"))
    assert "请加快处理" in html and "乙区督办" not in html
    services.case_sign(case=cases.assigned, actor=world.handler_a)
    html = body(client.get(reverse("console:supervision") + "?status=open"))
    assert "请加快处理" not in html
    assert Supervision.objects.filter(answered_at__isnull=False).count() == 1


def test_grid_directory_shows_the_team_with_types(client, world, cases):
    client.force_login(world.operator_a)
    html = body(client.get(reverse("console:grids")))
    assert world.grid_a1.name in html and world.grid_b1.name not in html
    assert "× 1" in html
    detail = body(client.get(reverse("console:grid_detail", args=[world.grid_a1.code])))
    assert world.worker_a1.display_name in detail
    assert world.worker_a1.phone not in detail  # masked
    assert world.worker_a1.phone[:3] + "****" + world.worker_a1.phone[-4:] in detail


def test_worker_directory_masks_phones_and_is_scoped(client, world):
    from civicgrid.people.tests.factories import UserFactory, add_member

    other = UserFactory(full_name="乙一网格员", phone="13655556666")
    add_member(other, world.grid_b1)
    client.force_login(world.operator_a)
    html = body(client.get(reverse("console:workers")))
    assert world.worker_a1.display_name in html and "乙一网格员" not in html
    assert world.worker_a1.phone not in html
    html_b = body(login(client, world.outsider_b).get(reverse("console:workers")))
    assert "乙一网格员" in html_b and "136****6666" in html_b and "13655556666" not in html_b


def test_pages_render_in_english_too(client, world, cases):
    client.force_login(world.operator_a)
    client.cookies["django_language"] = "en"
    html = body(client.get(reverse("home")))
    assert "Awaiting acceptance" in html
    client.cookies["django_language"] = "zh-hans"
    html = body(client.get(reverse("home")))
    assert "待受理" in html


def test_b1_fixture_is_really_outside_district_a(world, cats):
    case = new_case(world, cats, at=B1)
    assert case.scope_code.startswith("140214") and A2 != B1
