"""The field API: patrols, replay permissions, check-ins, reports and actions from the phone."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from civicgrid.cases import services as case_services
from civicgrid.cases.models import (
    AdmissionItem,
    Attachment,
    Case,
    CaseAction,
    GridTask,
    GridTaskState,
    State,
)
from civicgrid.field.models import CheckIn, Patrol, PatrolState, Receipt

from .conftest import A1, A2, geodesic, jpeg_bytes, ms, offset, post_json

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

PERSONAS = [
    "worker_a1",
    "worker_a2",
    "operator_a",
    "chief_a",
    "leader_a",
    "admin",
    "handler_a",
    "outsider_b",
    "citizen",
]


def persona(world, field, name):
    return field.worker_a2 if name == "worker_a2" else getattr(world, name)


def photo(name="p.jpg"):
    return SimpleUploadedFile(name, jpeg_bytes(), content_type="image/jpeg")


def uploaded_patrol(client, user, *, n=10, at=A1):
    client.force_login(user)
    key = str(uuid.uuid4())
    t0 = timezone.now() - dt.timedelta(minutes=30)
    assert (
        post_json(client, "/api/field/patrols", {"uuid": key, "started_at": ms(t0)}).status_code
        == 201
    )
    pts, here = [], at
    for i in range(n):
        pts.append(
            {"t": ms(t0 + dt.timedelta(seconds=30 * (i + 1))), "lat": here[0], "lng": here[1]}
        )
        here = offset(*here, north_m=25)
    r = post_json(client, f"/api/field/patrols/{key}/points", {"points": pts})
    assert r.status_code == 200 and r.json()["accepted"] == n
    return key


# --- patrol lifecycle --------------------------------------------------------------------------


def test_starting_a_patrol_twice_with_one_uuid_creates_one(client, world):
    client.force_login(world.worker_a1)
    key = str(uuid.uuid4())
    first = post_json(client, "/api/field/patrols", {"uuid": key})
    again = post_json(client, "/api/field/patrols", {"uuid": key})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Patrol.objects.filter(worker=world.worker_a1).count() == 1
    assert first.json()["scope_code"] == world.grid_a1.code


def test_a_new_patrol_ends_the_one_still_running(client, world):
    client.force_login(world.worker_a1)
    one, two = str(uuid.uuid4()), str(uuid.uuid4())
    post_json(client, "/api/field/patrols", {"uuid": one})
    post_json(client, "/api/field/patrols", {"uuid": two})
    states = dict(Patrol.objects.values_list("uuid", "state"))
    assert states[uuid.UUID(one)] == PatrolState.ENDED
    assert states[uuid.UUID(two)] == PatrolState.ACTIVE


def test_stop_is_idempotent(client, world):
    key = uploaded_patrol(client, world.worker_a1)
    ended = timezone.now() - dt.timedelta(minutes=1)
    first = post_json(client, f"/api/field/patrols/{key}/stop", {"ended_at": ms(ended)}).json()
    again = post_json(client, f"/api/field/patrols/{key}/stop", {}).json()
    assert first["state"] == again["state"] == "ended"
    assert first["ended_at"] == again["ended_at"]


def test_only_grid_team_members_patrol(client, world):
    client.force_login(world.operator_a)
    r = post_json(client, "/api/field/patrols", {"uuid": str(uuid.uuid4())})
    assert r.status_code == 403 and r.json()["code"] == "no_grid"


def test_a_start_in_the_future_is_refused(client, world):
    client.force_login(world.worker_a1)
    later = timezone.now() + dt.timedelta(hours=2)
    r = post_json(
        client, "/api/field/patrols", {"uuid": str(uuid.uuid4()), "started_at": ms(later)}
    )
    assert r.status_code == 400 and r.json()["details"]["field"] == "started_at"
    assert not Patrol.objects.exists()


def test_patrol_uuid_must_be_a_uuid(client, world):
    client.force_login(world.worker_a1)
    r = post_json(client, "/api/field/patrols", {"uuid": "abc"})
    assert r.status_code == 400 and r.json()["details"]["field"] == "uuid"


# --- who sees a patrol -------------------------------------------------------------------------

REPLAY = {
    "worker_a1": 200,  # own
    "worker_a2": 404,  # a fellow worker does not see other workers' tracks
    "operator_a": 200,
    "chief_a": 200,
    "leader_a": 200,
    "admin": 200,
    "handler_a": 404,
    "outsider_b": 404,
    "citizen": 404,
}


@pytest.mark.parametrize("who", PERSONAS)
def test_replay_permission_matrix(client, world, field, who):
    key = uploaded_patrol(client, world.worker_a1)
    pk = Patrol.objects.get(uuid=key).pk
    client.force_login(persona(world, field, who))
    for url in (
        f"/api/field/patrols/{key}",
        f"/api/field/patrols/{pk}/track",
        f"/field/patrols/{key}/",
    ):
        assert client.get(url).status_code == REPLAY[who], (who, url)
    r = client.get(f"/api/field/patrols/{key}/track")
    if REPLAY[who] == 200:
        assert len(r.json()["points"]) == 10


@pytest.mark.parametrize("who", PERSONAS)
def test_patrol_list_shows_own_patrols_to_workers_and_the_area_to_staff(client, world, field, who):
    mine = uploaded_patrol(client, world.worker_a1)
    theirs = uploaded_patrol(client, field.worker_a2, at=A2)
    client.force_login(persona(world, field, who))
    seen = {p["uuid"] for p in client.get("/api/field/patrols").json()}
    expected = {
        "worker_a1": {mine},
        "worker_a2": {theirs},
        "operator_a": {mine, theirs},
        "chief_a": {mine, theirs},
        "leader_a": {mine, theirs},
        "admin": {mine, theirs},
    }.get(who, set())
    assert seen == expected


def test_replay_track_in_gcj02_for_chinese_tile_maps(client, world):
    from civicgrid.territory.crs import wgs84_to_gcj02

    key = uploaded_patrol(client, world.worker_a1, n=3)
    wgs = client.get(f"/api/field/patrols/{key}/track").json()["points"]
    gcj = client.get(f"/api/field/patrols/{key}/track?crs=gcj02").json()["points"]
    for a, b in zip(wgs, gcj, strict=True):
        assert b[1:3] == pytest.approx(list(wgs84_to_gcj02(a[1], a[2])), abs=1e-9)


@time_machine.travel(dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))))
def test_worker_day_track_and_per_grid_summary(client, world, field):
    # Noon: the patrols of half an hour ago are on today's local date.
    uploaded_patrol(client, world.worker_a1, n=20)
    uploaded_patrol(client, field.worker_a2, n=12, at=A2)
    client.force_login(world.operator_a)
    today = timezone.localdate().isoformat()
    day = client.get(f"/api/field/workers/{world.worker_a1.pk}/track?date={today}").json()
    assert len(day["points"]) == 20
    rows = client.get(f"/api/field/patrols/summary?date_from={today}&date_to={today}").json()
    by = {r["grid_code"]: r for r in rows}
    p1 = Patrol.objects.get(worker=world.worker_a1)
    assert by[world.grid_a1.code]["patrols"] == 1
    assert by[world.grid_a1.code]["km"] == pytest.approx(p1.distance_m / 1000, abs=0.01)
    assert by[world.grid_a2.code]["hours"] == pytest.approx(11 * 30 / 3600, abs=0.01)
    client.force_login(world.outsider_b)
    assert (
        client.get(f"/api/field/workers/{world.worker_a1.pk}/track?date={today}").json()["points"]
        == []
    )
    assert client.get(f"/api/field/patrols/summary?date_from={today}&date_to={today}").json() == []


# --- check-ins ---------------------------------------------------------------------------------


def test_check_in_records_the_geodesic_distance_from_the_place(client, world, field):
    client.force_login(world.worker_a1)
    here = offset(*A1, north_m=60, east_m=20)
    key = str(uuid.uuid4())
    r = post_json(
        client,
        "/api/field/checkins",
        {"client_id": key, "place": field.place.pk, "lat": here[0], "lng": here[1], "accuracy": 9},
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["distance_m"] == pytest.approx(geodesic(here, A1), abs=0.1)
    assert body["within"] is True
    again = post_json(
        client,
        "/api/field/checkins",
        {"client_id": key, "place": field.place.pk, "lat": 0, "lng": 0},
    )
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert CheckIn.objects.count() == 1


def test_check_in_too_far_is_kept_but_flagged(client, world, field):
    client.force_login(world.worker_a1)
    far = offset(*A1, east_m=350)
    body = post_json(
        client,
        "/api/field/checkins",
        {"client_id": str(uuid.uuid4()), "place": field.place.pk, "lat": far[0], "lng": far[1]},
    ).json()
    assert body["within"] is False
    assert body["distance_m"] == pytest.approx(350, abs=0.5)


def test_check_in_attaches_to_the_running_patrol(client, world, field):
    key = uploaded_patrol(client, world.worker_a1)
    post_json(
        client,
        "/api/field/checkins",
        {"client_id": str(uuid.uuid4()), "place": field.place.pk, "lat": A1[0], "lng": A1[1]},
    )
    assert CheckIn.objects.get().patrol.uuid == uuid.UUID(key)


@pytest.mark.parametrize("who", ["worker_a2", "outsider_b", "citizen", "handler_a"])
def test_check_in_at_a_place_of_another_grid_is_not_found(client, world, field, who):
    client.force_login(persona(world, field, who))
    r = post_json(
        client,
        "/api/field/checkins",
        {"client_id": str(uuid.uuid4()), "place": field.place.pk, "lat": A1[0], "lng": A1[1]},
    )
    assert r.status_code == 404
    assert not CheckIn.objects.exists()


def test_places_are_listed_nearest_first_with_distance(client, world, field):
    from civicgrid.field.models import KeyPlace

    far = offset(*A1, north_m=500)
    KeyPlace.objects.create(name="远处配电房", grid=world.grid_a1, lat=far[0], lng=far[1])
    client.force_login(world.worker_a1)
    here = offset(*far, east_m=10)
    rows = client.get(f"/api/field/places?lat={here[0]}&lng={here[1]}").json()
    assert [r["name"] for r in rows] == ["远处配电房", "甲一小区消防通道"]
    assert rows[0]["distance_m"] == pytest.approx(10, abs=0.1)
    client.force_login(field.worker_a2)
    assert client.get("/api/field/places").json() == []


def test_a_worker_registers_a_key_place_in_own_grid_only(client, world, field):
    client.force_login(world.worker_a1)
    ok = post_json(
        client,
        "/api/field/places",
        {
            "grid": world.grid_a1.code,
            "name": "加油站",
            "lat": A1[0],
            "lng": A1[1],
            "kind": "risk_point",
        },
    )
    assert ok.status_code == 201
    other = post_json(
        client,
        "/api/field/places",
        {"grid": world.grid_a2.code, "name": "x", "lat": A2[0], "lng": A2[1]},
    )
    assert other.status_code == 404


# --- reports and case actions from the phone ---------------------------------------------------


def report_form(cats, client_id, **extra):
    return {
        "client_id": client_id,
        "category": cats.small.code,
        "description": "楼道堆放纸箱，堵塞通道",
        "lat": str(A1[0]),
        "lng": str(A1[1]),
        "crs": "wgs84",
        "photos": [photo()],
        **extra,
    }


def test_field_report_with_photo_is_idempotent_by_client_id(client, world, cats):
    client.force_login(world.worker_a1)
    cid = str(uuid.uuid4())
    first = client.post("/api/field/reports", report_form(cats, cid))
    again = client.post("/api/field/reports", report_form(cats, cid))
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["tracking_code"] == again.json()["tracking_code"]
    case = Case.objects.get()
    assert case.source == "grid_worker" and case.grid == world.grid_a1
    assert Attachment.objects.filter(case=case).count() == 1


def test_report_and_self_close_on_the_spot(client, world, cats):
    client.force_login(world.worker_a1)
    r = client.post(
        "/api/field/reports",
        report_form(
            cats,
            str(uuid.uuid4()),
            self_close="1",
            result="已现场清理",
            result_photos=[photo("after.jpg")],
        ),
    )
    assert r.status_code == 201
    assert r.json()["state"] == State.CLOSED and r.json()["self_close_error"] is None
    case = Case.objects.get()
    assert case.self_closed and case.result == "已现场清理"
    assert Attachment.objects.filter(case=case).count() == 2


def test_a_refused_self_close_keeps_the_report(client, world, cats):
    client.force_login(world.worker_a1)
    form = report_form(
        cats,
        str(uuid.uuid4()),
        category=cats.big.code,
        self_close="1",
        result="已处理",
        result_photos=[photo()],
    )
    r = client.post("/api/field/reports", form)
    assert r.status_code == 201
    assert r.json()["state"] == State.REPORTED
    assert r.json()["self_close_error"]["code"] == "not_self_closable"
    assert Case.objects.count() == 1


def test_report_in_gcj02_is_located_in_wgs84(client, world, cats):
    from civicgrid.territory.crs import wgs84_to_gcj02

    client.force_login(world.worker_a1)
    glat, glng = wgs84_to_gcj02(*A1)
    r = client.post(
        "/api/field/reports",
        report_form(cats, str(uuid.uuid4()), lat=str(glat), lng=str(glng), crs="gcj02"),
    )
    assert r.status_code == 201
    case = Case.objects.get()
    assert geodesic((case.lat, case.lng), A1) < 0.05 and case.grid == world.grid_a1


def handled_case(world, cats):
    case = case_services.case_report(
        actor=world.operator_a,
        category=cats.small,
        description="路灯不亮",
        lat=A1[0],
        lng=A1[1],
        source="hotline",
        reporter_phone="13900001111",
    )
    case_services.case_accept(case=case, actor=world.operator_a, category=cats.small, priority=2)
    case_services.case_dispatch(case=case, actor=world.operator_a, department=world.dept_a)
    case_services.case_sign(case=case, actor=world.handler_a)
    case_services.case_submit(
        case=case, actor=world.handler_a, result="已修复", attachments=[jpeg_bytes()]
    )
    return case


def test_verify_from_the_phone_is_done_once_per_client_id(client, world, cats):
    case = handled_case(world, cats)
    client.force_login(world.worker_a1)
    cid = str(uuid.uuid4())
    first = client.post(
        f"/api/field/cases/{case.pk}/verify", {"client_id": cid, "text": "核实已修复"}
    )
    again = client.post(
        f"/api/field/cases/{case.pk}/verify", {"client_id": cid, "text": "核实已修复"}
    )
    assert first.status_code == again.status_code == 200, first.content
    assert first.json()["state"] == "closed" and again.json()["replayed"] is True
    assert CaseAction.objects.filter(case=case, action="verify").count() == 1
    assert Receipt.objects.filter(client_id=cid).count() == 1


def test_a_failed_action_leaves_no_receipt_so_it_can_be_retried(client, world, cats):
    case = handled_case(world, cats)
    client.force_login(world.worker_a1)
    cid = str(uuid.uuid4())
    r = client.post(f"/api/field/cases/{case.pk}/verify", {"client_id": cid, "text": ""})
    assert r.status_code == 400 and r.json()["details"]["field"] == "note"
    assert not Receipt.objects.exists()
    r = client.post(f"/api/field/cases/{case.pk}/verify", {"client_id": cid, "text": "核实"})
    assert r.status_code == 200 and r.json()["replayed"] is False


@pytest.mark.parametrize(
    "who, status", [("worker_a2", 404), ("outsider_b", 404), ("citizen", 404), ("handler_a", 403)]
)
def test_verify_by_someone_not_of_the_grid_is_refused(client, world, field, cats, who, status):
    case = handled_case(world, cats)
    client.force_login(persona(world, field, who))
    r = client.post(
        f"/api/field/cases/{case.pk}/verify", {"client_id": str(uuid.uuid4()), "text": "ok"}
    )
    assert r.status_code == status
    case.refresh_from_db()
    assert case.state == State.HANDLED


def test_dispatched_to_the_worker_sign_and_submit_with_photo(client, world, cats):
    case = case_services.case_report(
        actor=world.operator_a,
        category=cats.small,
        description="走访",
        lat=A1[0],
        lng=A1[1],
        source="hotline",
        reporter_phone="13900001111",
    )
    case_services.case_accept(case=case, actor=world.operator_a, category=cats.small, priority=2)
    case_services.case_dispatch(case=case, actor=world.operator_a, worker=world.worker_a1)
    client.force_login(world.worker_a1)
    inbox = client.get("/api/field/inbox").json()
    assert [c["id"] for c in inbox["dispatched"]] == [case.pk]
    assert (
        client.post(f"/api/field/cases/{case.pk}/sign", {"client_id": str(uuid.uuid4())}).json()[
            "state"
        ]
        == "in_progress"
    )
    r = client.post(
        f"/api/field/cases/{case.pk}/submit",
        {"client_id": str(uuid.uuid4()), "text": "已走访", "photos": [photo()]},
    )
    assert r.json()["state"] == "handled"


def test_grid_task_completion_is_done_once(client, world):
    item = AdmissionItem.objects.create(department=world.dept_a, code="MZ-01", name="独居老人探访")
    task = GridTask.objects.create(
        department=world.dept_a,
        item=item,
        grid=world.grid_a1,
        scope_code=world.grid_a1.code,
        worker=world.worker_a1,
        title="探访独居老人",
        deadline=timezone.now() + dt.timedelta(days=2),
    )
    client.force_login(world.worker_a1)
    cid = str(uuid.uuid4())
    form = {"client_id": cid, "result": "已探访，身体状况良好", "photos": [photo()]}
    first = client.post(f"/api/field/tasks/{task.pk}/complete", form)
    form["photos"] = [photo()]
    again = client.post(f"/api/field/tasks/{task.pk}/complete", form)
    assert first.status_code == again.status_code == 200
    assert again.json()["replayed"] is True
    task.refresh_from_db()
    assert task.state == GridTaskState.DONE
    assert Attachment.objects.filter(task=task).count() == 1


def test_someone_elses_grid_task_is_not_found(client, world, field):
    item = AdmissionItem.objects.create(department=world.dept_a, code="MZ-01", name="探访")
    task = GridTask.objects.create(
        department=world.dept_a,
        item=item,
        grid=world.grid_a1,
        scope_code=world.grid_a1.code,
        worker=world.worker_a1,
        title="探访",
        deadline=timezone.now() + dt.timedelta(days=2),
    )
    client.force_login(field.worker_a2)
    r = client.post(
        f"/api/field/tasks/{task.pk}/complete", {"client_id": str(uuid.uuid4()), "result": "x"}
    )
    assert r.status_code == 404


def test_a_client_id_reused_for_another_action_is_a_conflict(client, world, cats):
    case = handled_case(world, cats)
    client.force_login(world.worker_a1)
    cid = str(uuid.uuid4())
    client.post(f"/api/field/cases/{case.pk}/verify", {"client_id": cid, "text": "核实"})
    r = client.post(f"/api/field/cases/{case.pk}/rework", {"client_id": cid, "text": "返工"})
    assert r.status_code == 409 and r.json()["code"] == "client_id_conflict"
