"""Grid-worker assessment: quality shares from the case log and tasks, field data when present."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.test import override_settings

from civicgrid.analytics.assessment import field_stats, month_of, worker_assessment
from civicgrid.analytics.selectors import resolve_filters
from civicgrid.cases import services
from civicgrid.cases.models import AdmissionItem, GridTask, GridTaskState

from .conftest import at, on

MARCH = month_of("2026-03")
CALLS = []


def fake_field_stats(*, user_ids, start, end):
    CALLS.append((tuple(user_ids), start, end))
    return {uid: {"patrol_km": 42.5, "patrol_coverage": 0.8, "checkins": 12} for uid in user_ids}


def broken_field_stats(**kw):
    raise RuntimeError("field app down")


def handled_case(driver, world, reported: dt.datetime, submitted: dt.datetime):
    case = driver.report(reported)
    driver.accept(case, reported + dt.timedelta(minutes=30))
    driver.dispatch(case, reported + dt.timedelta(minutes=40))
    driver.sign(case, reported + dt.timedelta(minutes=50))
    driver.submit(case, submitted)
    return case


@pytest.fixture
def checks(world, cats, driver, march):
    """worker_a1 verifies one result within 24 h and sends another back after 30 h."""
    fast = handled_case(driver, world, at(2026, 3, 3, 9), at(2026, 3, 4, 9))
    on(at(2026, 3, 4, 15), services.case_verify, case=fast, actor=world.worker_a1, note="已核实")
    slow = handled_case(driver, world, at(2026, 3, 5, 9), at(2026, 3, 6, 9))
    on(at(2026, 3, 7, 15), services.case_rework, case=slow, actor=world.worker_a1, reason="未完成")
    item = AdmissionItem.objects.create(department=world.dept_a, code="CG-01", name="入户核查")
    for deadline, done in [(at(2026, 3, 10), at(2026, 3, 9)), (at(2026, 3, 10), at(2026, 3, 12))]:
        GridTask.objects.create(
            department=world.dept_a,
            item=item,
            grid=world.grid_a1,
            scope_code=world.grid_a1.code,
            worker=world.worker_a1,
            title="核查",
            deadline=deadline,
            state=GridTaskState.DONE,
            completed_at=done,
        )
    return fast, slow


def row_for(data, user):
    return next(r for r in data["rows"] if r["user_id"] == user.pk)


def test_quality_shares_by_hand(world, checks):
    data = worker_assessment(world.leader_a, MARCH, resolve_filters(world.leader_a))
    r = row_for(data, world.worker_a1)
    # 15 reports in March (13 of the timeline + 2 here); b1 not decided yet; c6 rejected and
    # c7 merged are the invalid ones: 12 valid of 14 decided.
    assert r["reports"] == 15
    assert r["valid_share"] == pytest.approx(12 / 14)
    assert r["verifications"] == 2 and r["verified_on_time_share"] == pytest.approx(0.5)
    assert r["tasks_done"] == 2 and r["tasks_on_time_share"] == pytest.approx(0.5)
    assert r["grids"] == [world.grid_a1.code]


@override_settings(
    CIVICGRID={
        **settings.CIVICGRID,
        "ASSESSMENT_FIELD_STATS": "civicgrid.field.no_such_module.worker_month_stats",
    }
)
def test_field_columns_say_no_data_without_the_field_app(client, world, checks):
    assert field_stats() is None
    data = worker_assessment(world.leader_a, MARCH, resolve_filters(world.leader_a))
    r = row_for(data, world.worker_a1)
    assert data["field_data"] is False
    assert r["patrol_km"] is None and r["checkins"] is None and r["base_data_touched"] is None
    client.force_login(world.leader_a)
    html = client.get("/analytics/assessment/", {"month": "2026-03"}).content.decode()
    assert "no data" in html or "暂无数据" in html


@override_settings(
    CIVICGRID={
        **settings.CIVICGRID,
        "ASSESSMENT_FIELD_STATS": "civicgrid.analytics.tests.test_assessment.fake_field_stats",
    }
)
def test_field_provider_is_picked_up_when_present(world, checks):
    CALLS.clear()
    data = worker_assessment(world.leader_a, MARCH, resolve_filters(world.leader_a))
    r = row_for(data, world.worker_a1)
    assert data["field_data"] is True
    assert (r["patrol_km"], r["patrol_coverage"], r["checkins"]) == (42.5, 0.8, 12)
    assert r["base_data_touched"] is None  # a key the provider left out
    assert CALLS == [((world.worker_a1.pk,), MARCH.start, MARCH.end)]


@override_settings(
    CIVICGRID={
        **settings.CIVICGRID,
        "ASSESSMENT_FIELD_STATS": "civicgrid.analytics.tests.test_assessment.broken_field_stats",
    }
)
def test_failing_field_provider_does_not_break_the_table(world, checks):
    r = row_for(
        worker_assessment(world.leader_a, MARCH, resolve_filters(world.leader_a)), world.worker_a1
    )
    assert r["patrol_km"] is None and r["reports"] == 15


@pytest.mark.parametrize(
    "persona,sees", [("leader_a", True), ("chief_a", True), ("outsider_b", False), ("admin", True)]
)
def test_workers_in_scope_only(world, march, persona, sees):
    user = getattr(world, persona)
    ids = [r["user_id"] for r in worker_assessment(user, MARCH, resolve_filters(user))["rows"]]
    assert (world.worker_a1.pk in ids) is sees


def test_sortable_page_and_api(client, world, checks):
    client.force_login(world.leader_a)
    page = client.get("/analytics/assessment/", {"month": "2026-03", "sort": "valid_share"})
    assert page.status_code == 200
    html = page.content.decode()
    assert world.worker_a1.full_name in html and "desc=1" in html
    part = client.get(
        "/analytics/assessment/",
        {"month": "2026-03", "sort": "reports", "desc": "1"},
        HTTP_HX_REQUEST="true",
    )
    assert part.status_code == 200 and "<html" not in part.content.decode()
    api = client.get("/api/analytics/assessment", {"month": "2026-03"}).json()
    assert api["month"] == "2026-03" and row_for(api, world.worker_a1)["reports"] == 15
    client.force_login(world.worker_a1)
    assert client.get("/analytics/assessment/").status_code == 403


def test_assessment_export(world, checks, django_capture_on_commit_callbacks):
    from civicgrid.analytics.services import export_request

    with django_capture_on_commit_callbacks(execute=True):
        e = export_request(
            kind="assessment", fmt="csv", params={"date": "2026-03-01"}, actor=world.leader_a
        )
    e.refresh_from_db()
    with e.file.open("rb") as f:
        text = f.read().decode("utf-8-sig")
    assert world.worker_a1.full_name in text and e.total == 1


def test_month_parameter_is_validated(client, world):
    client.force_login(world.leader_a)
    r = client.get("/api/analytics/assessment", {"month": "March"})
    assert r.status_code == 400 and r.json()["details"]["field"] == "date"


def test_field_models_are_picked_up_when_present(world, march):
    """With no provider of its own, the field app's patrols, track points and check-ins count."""
    import uuid

    from civicgrid.conftest import X0, Y0
    from civicgrid.field.models import CheckIn, KeyPlace, Patrol, TrackPoint

    patrol = Patrol.objects.create(
        uuid=uuid.uuid4(),
        worker=world.worker_a1,
        scope_code=world.grid_a1.code,
        state="ended",
        started_at=at(2026, 3, 10, 9),
        ended_at=at(2026, 3, 10, 11),
        distance_m=3250.0,
    )
    # Grid A1 is 0.01° × 0.02°: 10 × 20 = 200 cells of 0.001°. Visit 3 of them (one twice)
    # and one cell outside the grid.
    for k, (dlat, dlng) in enumerate(
        [(0.0005, 0.0005), (0.0006, 0.0004), (0.0105, 0.0055), (0.0195, 0.0095), (0.01, 0.0305)]
    ):
        TrackPoint.objects.create(
            patrol=patrol, recorded_at=at(2026, 3, 10, 9, k), lat=Y0 + dlat, lng=X0 + dlng
        )
    place = KeyPlace.objects.create(
        name="幼儿园", grid=world.grid_a1, scope_code=world.grid_a1.code, lat=Y0, lng=X0
    )
    for k in range(2):
        CheckIn.objects.create(
            client_id=uuid.uuid4(),
            worker=world.worker_a1,
            place=place,
            scope_code=world.grid_a1.code,
            checked_at=at(2026, 3, 11 + k, 10),
            lat=Y0,
            lng=X0,
            distance_m=5.0,
            within=True,
        )
    with override_settings(CIVICGRID={**settings.CIVICGRID, "ASSESSMENT_FIELD_STATS": ""}):
        data = worker_assessment(world.leader_a, MARCH, resolve_filters(world.leader_a))
    r = row_for(data, world.worker_a1)
    assert data["field_data"] is True
    assert r["patrol_km"] == 3.25 and r["checkins"] == 2
    assert r["patrol_coverage"] == pytest.approx(3 / 200)
    assert r["base_data_touched"] is None
