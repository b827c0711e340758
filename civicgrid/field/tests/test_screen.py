"""The patrol screen: persona × scope for the page and its JSON, last positions, today's tracks,
replay of a worker's day, the dashboard panel; batch ids and bad input of track uploads."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import shapely
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from civicgrid.field import latest, overview
from civicgrid.field.models import LatestPatrol, Patrol, PatrolState, TrackPoint
from civicgrid.field.tracks import MAX_BATCH

from .conftest import A1, A2, ms, post_json
from .test_api_tracks import upload, walk

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

SCREEN = "/api/field/screen"
PAGE = "/console/patrols/"
DIST_A, DIST_B = "140213000000", "140214000000"
STREET_A = "140213001000"


@pytest.fixture
def patrolled(client, world, field, start_patrol):
    """worker_a1 patrolled 47 min in grid A1 and is still on patrol; worker_a2 has no patrol;
    one check-in of worker_a1."""
    now = timezone.now()
    key = start_patrol(world.worker_a1, now - dt.timedelta(hours=1))
    pts = walk(now - dt.timedelta(minutes=50), A1, 95)  # the last fix 3 minutes ago
    assert upload(client, key, pts).json()["accepted"] == 95
    r = post_json(
        client,
        "/api/field/checkins",
        {"client_id": str(uuid.uuid4()), "place": field.place.pk, "lat": A1[0], "lng": A1[1]},
    )
    assert r.status_code == 201, r.content
    client.logout()
    return {"key": key, "points": pts}


# --- persona × scope ---------------------------------------------------------------------------

# (persona, area asked for, expected status); "" asks for the persona's own area.
MATRIX = [
    ("operator_a", "", 200),
    ("operator_a", DIST_A, 200),
    ("operator_a", STREET_A, 200),
    ("operator_a", DIST_B, 404),
    ("operator_a", "140200000000", 404),  # the city above the district
    ("leader_a", DIST_A, 200),
    ("chief_a", "", 200),
    ("chief_a", STREET_A, 200),
    ("chief_a", DIST_A, 404),
    ("admin", DIST_B, 200),
    ("admin", "140200000000", 200),
    ("outsider_b", DIST_A, 404),
    ("outsider_b", DIST_B, 200),
    ("handler_a", DIST_A, 404),
    ("worker_a1", "", 404),
    ("worker_a1", DIST_A, 404),
    ("citizen", "", 404),
    ("operator_a", "999999000000", 404),  # unknown
]


@pytest.mark.parametrize(("persona", "area", "status"), MATRIX)
def test_screen_json_persona_by_scope(client, world, patrolled, persona, area, status):
    client.force_login(getattr(world, persona))
    r = client.get(SCREEN, {"area": area})
    assert r.status_code == status, (persona, area, r.content[:200])
    if status == 200:
        body = r.json()
        ids = {w[0] for w in body["workers"]}
        sees_a = body["area"]["code"][:6] in ("140213", "140200")
        assert (world.worker_a1.pk in ids) == sees_a


@pytest.mark.parametrize(("persona", "area", "status"), MATRIX)
def test_screen_page_persona_by_scope(client, world, patrolled, persona, area, status):
    client.force_login(getattr(world, persona))
    r = client.get(PAGE, {"area": area} if area else {})
    assert r.status_code == status, (persona, area)
    if status == 200:
        assert b'id="ps-map"' in r.content and b"patrol-screen.js" in r.content


def test_anonymous_gets_nothing(client, world, patrolled):
    assert client.get(SCREEN).status_code == 401
    r = client.get(PAGE)
    assert r.status_code == 302 and "login" in r["Location"]


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("operator_a", 200),
        ("leader_a", 200),
        ("chief_a", 200),
        ("admin", 200),
        ("outsider_b", 404),
        ("handler_a", 404),
        ("worker_a1", 404),  # even their own day: the screen is for supervisors
        ("citizen", 404),
    ],
)
def test_replay_persona_by_scope(client, world, patrolled, persona, status):
    client.force_login(getattr(world, persona))
    r = client.get(f"{SCREEN}/workers/{world.worker_a1.pk}/day")
    assert r.status_code == status, persona


def test_replay_of_an_unknown_worker_or_one_outside_every_team_is_404(client, world, patrolled):
    client.force_login(world.operator_a)
    assert client.get(f"{SCREEN}/workers/999999/day").status_code == 404
    assert client.get(f"{SCREEN}/workers/{world.handler_a.pk}/day").status_code == 404


def test_nav_link_only_for_screen_roles(client, world):
    client.force_login(world.operator_a)
    assert PAGE.encode() in client.get("/console/cases/").content
    client.force_login(world.handler_a)
    assert PAGE.encode() not in client.get("/console/cases/").content


# --- what the screen shows ---------------------------------------------------------------------


def test_screen_shows_last_position_status_km_and_checkins(client, world, field, patrolled):
    client.force_login(world.operator_a)
    body = client.get(SCREEN, {"area": DIST_A}).json()
    rows = {w[0]: w for w in body["workers"]}
    w1, w2 = rows[world.worker_a1.pk], rows[field.worker_a2.pk]
    last = patrolled["points"][-1]
    assert w1[1] == "甲一网格员" and w1[2] == world.grid_a1.code
    assert w1[3] == "patrol"
    assert (w1[4], w1[5]) == pytest.approx((last["lat"], last["lng"]), abs=1e-6)
    assert w1[6] == last["t"]
    patrol = Patrol.objects.get(uuid=patrolled["key"])
    assert w1[7] == pytest.approx(patrol.distance_m / 1000, abs=0.01) and w1[7] > 2
    assert w1[8] == 1
    assert w2[3] == "off" and w2[4] is None and w2[6] is None and w2[8] == 0
    assert body["totals"] == {
        "workers": 2,
        "on_patrol": 1,
        "signal_lost": 0,
        "with_position": 1,
        "km": pytest.approx(w1[7], abs=0.1),
        "checkins": 1,
        "patrols": 1,
    }
    # Today's track, simplified: same ends, far fewer points, within the tolerance everywhere.
    assert [t[:2] for t in body["tracks"]] == [[world.worker_a1.pk, patrol.pk]]
    line = overview.decode(body["tracks"][0][2])
    raw = [(p["lat"], p["lng"]) for p in patrolled["points"]]
    assert line[0] == pytest.approx(raw[0], abs=1e-5) and line[-1] == pytest.approx(
        raw[-1], abs=1e-5
    )
    assert 2 <= len(line) < len(raw)
    a = shapely.LineString([(lng, lat) for lat, lng in raw])
    b = shapely.LineString([(lng, lat) for lat, lng in line])
    assert a.hausdorff_distance(b) <= overview.TOLERANCE_DEG * 1.2


def test_running_patrol_without_a_recent_fix_shows_signal_lost(client, world, patrolled):
    import time_machine

    client.force_login(world.operator_a)
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=30), tick=False):
        body = client.get(SCREEN, {"area": DIST_A}).json()
    row = next(w for w in body["workers"] if w[0] == world.worker_a1.pk)
    assert row[3] == "stale" and body["totals"]["signal_lost"] == 1


def test_ended_patrol_keeps_the_last_position_but_not_on_patrol(client, world, patrolled):
    client.force_login(world.worker_a1)
    r = post_json(
        client, f"/api/field/patrols/{patrolled['key']}/stop", {"ended_at": ms(timezone.now())}
    )
    assert r.status_code == 200
    client.force_login(world.operator_a)
    row = next(w for w in client.get(SCREEN).json()["workers"] if w[0] == world.worker_a1.pk)
    assert row[3] == "off" and row[6] == patrolled["points"][-1]["t"]


def test_a_late_upload_of_an_older_patrol_does_not_move_the_latest(
    client, world, patrolled, start_patrol
):
    newest = Patrol.objects.get(uuid=patrolled["key"])
    older = start_patrol(world.worker_a1, timezone.now() - dt.timedelta(hours=5))
    assert LatestPatrol.objects.get(worker=world.worker_a1).patrol_id == newest.pk
    assert Patrol.objects.get(uuid=older).started_at < newest.started_at
    assert latest.rebuild([world.worker_a1.pk]) == 1
    assert LatestPatrol.objects.get(worker=world.worker_a1).patrol_id == newest.pk


def test_screen_json_query_count_does_not_grow_with_workers(client, world, field, patrolled):
    from civicgrid.people.models import Role
    from civicgrid.people.tests.factories import UserFactory, add_member, assign

    client.force_login(world.operator_a)
    client.get(SCREEN)  # warm (overviews built, session)
    with CaptureQueriesContext(connection) as few:
        assert client.get(SCREEN).status_code == 200
    for i in range(6):
        u = UserFactory(username=f"extra_{i}")
        assign(u, Role.GRID_WORKER, world.comm_a)
        add_member(u, world.grid_a2)
        Patrol.objects.create(
            uuid=uuid.uuid4(), worker=u, scope_code=world.grid_a2.code, started_at=timezone.now()
        )
    with CaptureQueriesContext(connection) as many:
        body = client.get(SCREEN).json()
    assert len(body["workers"]) == 8 and body["totals"]["on_patrol"] == 7
    assert len(many.captured_queries) == len(few.captured_queries) <= 10


def test_overview_of_a_bulk_loaded_patrol_is_built_on_first_read(client, world, patrolled):
    patrol = Patrol.objects.get(uuid=patrolled["key"])
    Patrol.objects.filter(pk=patrol.pk).update(overview="")
    client.force_login(world.operator_a)
    body = client.get(SCREEN).json()
    assert body["tracks"] and body["tracks"][0][2]
    assert Patrol.objects.get(pk=patrol.pk).overview == body["tracks"][0][2]


def test_out_of_order_batch_rebuilds_the_overview(client, world, start_patrol):
    key = start_patrol(world.worker_a1, timezone.now() - dt.timedelta(hours=2))
    pts = walk(timezone.now() - dt.timedelta(minutes=100), A1, 120, step_m=20, east=True)
    assert upload(client, key, pts[60:]).json()["accepted"] == 60
    assert upload(client, key, pts[:60]).json()["accepted"] == 60
    line = overview.decode(Patrol.objects.get(uuid=key).overview)
    assert line[0] == pytest.approx((pts[0]["lat"], pts[0]["lng"]), abs=1e-5)
    assert line[-1] == pytest.approx((pts[-1]["lat"], pts[-1]["lng"]), abs=1e-5)


def test_overview_encoding_round_trips():
    pts = [(40.1, 113.3), (40.10012, 113.30001), (40.09, 113.31), (-33.8688, 151.20929)]
    assert overview.decode(overview.encode(pts)) == pytest.approx(pts, abs=1e-5)
    assert overview.extend("", pts) == overview.build(pts)


# --- replay ------------------------------------------------------------------------------------


def test_replay_returns_the_day_in_time_order_with_checkins(client, world, field, start_patrol):
    now = timezone.now()
    first = start_patrol(world.worker_a1, now - dt.timedelta(hours=3))
    a = walk(now - dt.timedelta(hours=3) + dt.timedelta(minutes=1), A1, 30)
    # Uploaded in two batches, the later half first.
    assert upload(client, first, a[15:]).json()["accepted"] == 15
    assert upload(client, first, a[:15]).json()["accepted"] == 15
    post_json(client, f"/api/field/patrols/{first}/stop", {"ended_at": a[-1]["t"] + 1000})
    second = start_patrol(world.worker_a1, now - dt.timedelta(hours=1))
    b = walk(now - dt.timedelta(minutes=50), A2, 20)
    assert upload(client, second, b).json()["accepted"] == 20
    post_json(
        client,
        "/api/field/checkins",
        {
            "client_id": str(uuid.uuid4()),
            "place": field.place.pk,
            "lat": A1[0],
            "lng": A1[1],
            "checked_at": a[10]["t"],
        },
    )
    # Yesterday's patrol is not part of today's replay.
    yesterday = Patrol.objects.create(
        uuid=uuid.uuid4(),
        worker=world.worker_a1,
        scope_code=world.grid_a1.code,
        state=PatrolState.ENDED,
        started_at=now - dt.timedelta(days=1),
        ended_at=now - dt.timedelta(days=1) + dt.timedelta(hours=1),
    )
    TrackPoint.objects.create(
        patrol=yesterday, recorded_at=now - dt.timedelta(days=1), lat=A1[0], lng=A1[1]
    )
    client.force_login(world.chief_a)
    body = client.get(
        f"{SCREEN}/workers/{world.worker_a1.pk}/day", {"date": timezone.localdate().isoformat()}
    ).json()
    p1, p2 = Patrol.objects.get(uuid=first), Patrol.objects.get(uuid=second)
    assert [p["id"] for p in body["patrols"]] == [p1.pk, p2.pk]
    assert [p[0] for p in body["points"]] == [p["t"] for p in a + b]
    assert [p[3] for p in body["points"]] == [p1.pk] * 30 + [p2.pk] * 20
    assert body["points"][0][1:3] == pytest.approx([a[0]["lat"], a[0]["lng"]])
    assert body["checkins"] == [[a[10]["t"], A1[0], A1[1], field.place.name, True, 0]]
    assert body["worker"]["name"] == "甲一网格员"
    # Another day: nothing, but still an answer.
    other = client.get(
        f"{SCREEN}/workers/{world.worker_a1.pk}/day",
        {"date": (timezone.localdate() - dt.timedelta(days=3)).isoformat()},
    ).json()
    assert other["points"] == [] and other["patrols"] == []


def test_replay_with_a_bad_date_names_the_field(client, world, patrolled):
    client.force_login(world.operator_a)
    r = client.get(f"{SCREEN}/workers/{world.worker_a1.pk}/day", {"date": "yesterday"})
    assert r.status_code in (400, 422)
    assert "date" in r.content.decode()


# --- dashboard panel and per-grid figures -------------------------------------------------------


def test_grid_figures_count_km_and_checkins_per_grid(client, world, patrolled):
    client.force_login(world.operator_a)
    body = client.get(f"{SCREEN}/grids", {"area": DIST_A}).json()
    rows = {g["code"]: g for g in body["grids"]}
    patrol = Patrol.objects.get(uuid=patrolled["key"])
    in_a1 = patrol.grid_stats[world.grid_a1.code][1] / 1000
    assert in_a1 > 1 and rows[world.grid_a1.code]["km"] == pytest.approx(in_a1, abs=0.05)
    assert "" not in rows  # time outside every grid belongs to no grid of the area
    assert rows[world.grid_a1.code]["checkins"] == 1 and rows[world.grid_a1.code]["patrols"] == 1
    client.force_login(world.outsider_b)
    assert client.get(f"{SCREEN}/grids", {"area": DIST_A}).status_code == 404
    assert client.get(f"{SCREEN}/grids", {"area": DIST_B}).json()["grids"] == []


def test_grid_figures_refuse_a_reversed_period(client, world, patrolled):
    client.force_login(world.operator_a)
    r = client.get(f"{SCREEN}/grids", {"date_from": "2025-06-11", "date_to": "2025-06-01"})
    assert r.status_code == 400 and r.json()["details"]["field"] == "date_from"


def test_dashboard_has_the_patrol_panel_and_it_is_scoped(client, world, patrolled):
    client.force_login(world.operator_a)
    page = client.get("/analytics/")
    assert page.status_code == 200 and b'id="patrol-panel"' in page.content
    r = client.get("/console/patrols/dashboard/", {"area": DIST_A, "days": "1"})
    assert r.status_code == 200
    assert world.grid_a1.name in r.content.decode()
    client.force_login(world.outsider_b)
    r = client.get("/console/patrols/dashboard/", {"area": DIST_A})
    assert r.status_code == 204
    client.force_login(world.handler_a)
    assert client.get("/console/patrols/dashboard/").status_code == 204


# --- track uploads: batch ids and bad input -----------------------------------------------------


def test_a_retried_batch_with_its_batch_id_is_answered_from_the_receipt(
    client, world, start_patrol
):
    key = start_patrol(world.worker_a1)
    pts = walk(timezone.now() - dt.timedelta(minutes=50), A1, 10)
    pts.append({"t": pts[-1]["t"] + 1000, "lat": 10.0, "lng": 10.0})  # outside China
    batch = str(uuid.uuid4())
    first = upload(client, key, pts, batch_id=batch).json()
    assert first["accepted"] == 10 and len(first["rejected"]) == 1 and not first["replayed"]
    again = upload(client, key, pts, batch_id=batch).json()
    assert again["replayed"] is True
    assert (again["accepted"], again["duplicates"], again["rejected"]) == (
        first["accepted"],
        first["duplicates"],
        first["rejected"],
    )
    patrol = Patrol.objects.get(uuid=key)
    assert patrol.point_count == 10 and patrol.rejected_count == 1
    assert TrackPoint.objects.filter(patrol=patrol).count() == 10


def test_a_batch_id_used_for_another_patrol_is_a_conflict(client, world, start_patrol):
    key = start_patrol(world.worker_a1)
    batch = str(uuid.uuid4())
    pts = walk(timezone.now() - dt.timedelta(minutes=50), A1, 3)
    assert upload(client, key, pts, batch_id=batch).status_code == 200
    other = start_patrol(world.worker_a1)
    r = upload(client, other, pts, batch_id=batch)
    assert r.status_code == 409 and r.json()["details"]["field"] == "batch_id"
    assert TrackPoint.objects.count() == 3


def test_a_malformed_batch_id_names_the_field_and_stores_nothing(client, world, start_patrol):
    key = start_patrol(world.worker_a1)
    pts = walk(timezone.now() - dt.timedelta(minutes=50), A1, 3)
    r = upload(client, key, pts, batch_id="not-a-uuid")
    assert r.status_code == 400 and "batch_id" in r.content.decode()
    assert TrackPoint.objects.count() == 0


def test_implausible_points_are_rejected_naming_the_field_and_not_stored(
    client, world, start_patrol
):
    key = start_patrol(world.worker_a1)
    now = timezone.now()
    good = walk(now - dt.timedelta(minutes=30), A1, 2)
    bad = [
        {"t": good[-1]["t"] + 30_000, "lat": 95.0, "lng": 113.3},  # beyond the pole
        {"t": good[-1]["t"] + 60_000, "lat": 48.85, "lng": 2.35},  # Paris
        {"t": ms(now + dt.timedelta(minutes=10)), "lat": A1[0], "lng": A1[1]},  # future
        {"t": "soon", "lat": A1[0], "lng": A1[1]},
        {"t": good[-1]["t"] + 90_000, "lat": A1[0], "lng": A1[1], "acc": -3},
    ]
    body = upload(client, key, good + bad).json()
    assert body["accepted"] == 2
    got = [(r["index"], r["reason"], r["field"]) for r in body["rejected"]]
    assert got == [
        (2, "malformed", "lat"),
        (3, "outside_china", "lat"),
        (4, "future", "t"),
        (5, "malformed", "t"),
        (6, "malformed", "acc"),
    ]
    for r in body["rejected"]:
        assert r["field"] in r["message"]
    assert TrackPoint.objects.count() == 2


def test_an_oversized_batch_is_refused_whole(client, world, start_patrol):
    key = start_patrol(world.worker_a1)
    pts = walk(timezone.now() - dt.timedelta(minutes=50), A1, MAX_BATCH + 1, step_m=1, every_s=1)
    r = upload(client, key, pts)
    assert r.status_code == 400
    assert r.json()["details"]["field"] == "points"
    assert TrackPoint.objects.count() == 0 and Patrol.objects.get(uuid=key).point_count == 0
