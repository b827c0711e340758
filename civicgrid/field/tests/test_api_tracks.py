"""Track point upload through /api/field/: bad batches, retries, late and out-of-order points,
distance and time per patrol and per grid."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from civicgrid.field.models import Patrol, TrackPoint
from civicgrid.field.tracks import MAX_BATCH, MAX_SPEED
from civicgrid.territory.crs import wgs84_to_gcj02

from .conftest import A1, A2, geodesic, ms, offset, post_json

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]


def walk(start_at: dt.datetime, origin, n: int, *, step_m=30.0, every_s=30, east=False):
    """n points, ``step_m`` apart (north, or east), every ``every_s`` seconds."""
    pts, here = [], origin
    for i in range(n):
        pts.append(
            {
                "t": ms(start_at + dt.timedelta(seconds=i * every_s)),
                "lat": here[0],
                "lng": here[1],
                "acc": 8,
            }
        )
        here = offset(*here, east_m=step_m) if east else offset(*here, north_m=step_m)
    return pts


def upload(client, key, points, **extra):
    return post_json(client, f"/api/field/patrols/{key}/points", {"points": points, **extra})


def path_length(points) -> float:
    coords = [(p["lat"], p["lng"]) for p in points]
    return sum(geodesic(a, b) for a, b in zip(coords, coords[1:], strict=False))


def test_batch_is_stored_and_distance_is_the_geodesic_length(client, world, start_patrol):
    key = start_patrol(world.worker_a1)
    pts = walk(timezone.now() - dt.timedelta(minutes=50), A1, 40)
    r = upload(client, key, pts)
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["accepted"] == 40 and body["duplicates"] == 0 and body["rejected"] == []
    patrol = Patrol.objects.get(uuid=key)
    assert TrackPoint.objects.filter(patrol=patrol).count() == 40
    assert patrol.distance_m == pytest.approx(path_length(pts), rel=1e-4)
    assert patrol.tracked_s == 39 * 30
    assert body["patrol"]["distance_km"] == pytest.approx(path_length(pts) / 1000, abs=0.01)


def test_same_batch_twice_stores_nothing_twice(client, world, start_patrol):
    key = start_patrol(world.worker_a1)
    pts = walk(timezone.now() - dt.timedelta(minutes=30), A1, 25)
    first = upload(client, key, pts).json()
    again = upload(client, key, pts).json()
    assert first["accepted"] == 25
    assert again["accepted"] == 0 and again["duplicates"] == 25 and again["rejected"] == []
    patrol = Patrol.objects.get(uuid=key)
    assert TrackPoint.objects.filter(patrol=patrol).count() == 25
    assert patrol.point_count == 25
    assert patrol.distance_m == pytest.approx(path_length(pts), rel=1e-4)


def test_duplicates_inside_one_batch_are_stored_once(client, world, start_patrol):
    key = start_patrol(world.worker_a1)
    pts = walk(timezone.now() - dt.timedelta(minutes=30), A1, 5)
    body = upload(client, key, pts + pts[:2]).json()
    assert body["accepted"] == 5 and body["duplicates"] == 2
    assert TrackPoint.objects.filter(patrol__uuid=key).count() == 5


@pytest.mark.parametrize(
    "point, field",
    [
        ({"lat": A1[0], "lng": A1[1]}, "t"),
        ({"t": "yesterday", "lat": A1[0], "lng": A1[1]}, "t"),
        ({"t": "2026-01-01T10:00:00", "lat": A1[0], "lng": A1[1]}, "t"),  # no zone
        ({"t": 0, "lat": "north", "lng": A1[1]}, "lat"),
        ({"t": 0, "lat": A1[0]}, "lng"),
        ({"t": 0, "lat": 95, "lng": A1[1]}, "lat"),
        ({"t": 0, "lat": A1[0], "lng": A1[1], "acc": -3}, "acc"),
        ({"t": 0, "lat": A1[0], "lng": float("nan")}, "lng"),
        ("40.1,113.3", None),
        (None, None),
    ],
)
def test_malformed_points_are_rejected_naming_the_field(client, world, start_patrol, point, field):
    key = start_patrol(world.worker_a1)
    good = walk(timezone.now() - dt.timedelta(minutes=20), A1, 3)
    if isinstance(point, dict) and point.get("t") == 0:
        point = {**point, "t": good[0]["t"] + 5000}
    # json.dumps writes NaN as the bare token NaN, as some phone JSON encoders do.
    body = post_json(client, f"/api/field/patrols/{key}/points", {"points": [*good, point]})
    assert body.status_code == 200, body.content
    data = body.json()
    assert data["accepted"] == 3
    assert [r["index"] for r in data["rejected"]] == [3]
    rejected = data["rejected"][0]
    assert rejected["reason"] == "malformed"
    if field:
        assert field in rejected["message"]
    assert TrackPoint.objects.filter(patrol__uuid=key).count() == 3


def test_future_points_beyond_the_skew_are_rejected(client, world, start_patrol):
    key = start_patrol(world.worker_a1)
    now = timezone.now()
    pts = [
        {"t": ms(now - dt.timedelta(seconds=60)), "lat": A1[0], "lng": A1[1]},
        # Within two minutes of the server clock: a phone's clock is often a little ahead.
        {"t": ms(now + dt.timedelta(seconds=60)), "lat": A1[0], "lng": A1[1] + 0.0002},
        {"t": ms(now + dt.timedelta(hours=3)), "lat": A1[0], "lng": A1[1] + 0.0004},
    ]
    body = upload(client, key, pts).json()
    assert body["accepted"] == 2
    assert [(r["index"], r["reason"]) for r in body["rejected"]] == [(2, "future")]


def test_points_before_the_start_or_after_the_end_are_rejected(client, world, start_patrol):
    started = timezone.now() - dt.timedelta(hours=2)
    key = start_patrol(world.worker_a1, started_at=started)
    ended = started + dt.timedelta(hours=1)
    r = post_json(client, f"/api/field/patrols/{key}/stop", {"ended_at": ms(ended)})
    assert r.status_code == 200
    pts = [
        {"t": ms(started - dt.timedelta(minutes=30)), "lat": A1[0], "lng": A1[1]},
        {"t": ms(started + dt.timedelta(minutes=10)), "lat": A1[0], "lng": A1[1]},
        {"t": ms(ended + dt.timedelta(minutes=30)), "lat": A1[0], "lng": A1[1]},
    ]
    body = upload(client, key, pts).json()
    assert body["accepted"] == 1
    assert [(r["index"], r["reason"]) for r in body["rejected"]] == [
        (0, "before_start"),
        (2, "after_end"),
    ]


def test_impossible_speed_is_rejected_and_the_track_continues(client, world, start_patrol):
    key = start_patrol(world.worker_a1)
    t0 = timezone.now() - dt.timedelta(minutes=30)
    a = A1
    jump = offset(*a, north_m=5000)  # 5 km in 30 s = 167 m/s
    b = offset(*a, north_m=40)
    pts = [
        {"t": ms(t0), "lat": a[0], "lng": a[1]},
        {"t": ms(t0 + dt.timedelta(seconds=30)), "lat": jump[0], "lng": jump[1]},
        {"t": ms(t0 + dt.timedelta(seconds=60)), "lat": b[0], "lng": b[1]},
    ]
    body = upload(client, key, pts).json()
    assert body["accepted"] == 2
    (rej,) = body["rejected"]
    assert rej["index"] == 1 and rej["reason"] == "impossible_speed"
    assert str(int(MAX_SPEED)) in rej["message"]
    patrol = Patrol.objects.get(uuid=key)
    # The distance skips the bad fix: a → b only.
    assert patrol.distance_m == pytest.approx(geodesic(a, b), rel=1e-4)
    assert patrol.rejected_count == 1


def test_a_late_point_is_checked_against_the_next_stored_point(client, world, start_patrol):
    key = start_patrol(world.worker_a1)
    t0 = timezone.now() - dt.timedelta(minutes=30)
    a, c = A1, offset(*A1, north_m=60)
    upload(
        client,
        key,
        [
            {"t": ms(t0), "lat": a[0], "lng": a[1]},
            {"t": ms(t0 + dt.timedelta(seconds=60)), "lat": c[0], "lng": c[1]},
        ],
    )
    far = offset(*a, east_m=2500)  # 2.5 km away, 30 s after a and 30 s before c
    near = offset(*a, north_m=30)
    body = upload(
        client,
        key,
        [
            {"t": ms(t0 + dt.timedelta(seconds=30)), "lat": far[0], "lng": far[1]},
            {"t": ms(t0 + dt.timedelta(seconds=31)), "lat": near[0], "lng": near[1]},
        ],
    ).json()
    assert [(r["index"], r["reason"]) for r in body["rejected"]] == [(0, "impossible_speed")]
    assert body["accepted"] == 1


def test_late_out_of_order_batches_give_the_same_totals_as_in_order(client, world, start_patrol):
    t0 = timezone.now() - dt.timedelta(hours=1)
    pts = walk(t0, A1, 60, step_m=35)
    in_order = start_patrol(world.worker_a1, started_at=t0 - dt.timedelta(minutes=1))
    for i in range(0, 60, 20):
        upload(client, in_order, pts[i : i + 20])
    post_json(client, f"/api/field/patrols/{in_order}/stop", {})
    shuffled = start_patrol(world.worker_a1, started_at=t0 - dt.timedelta(minutes=1))
    for i in (40, 0, 20):  # the phone sent its oldest points last
        body = upload(client, shuffled, pts[i : i + 20]).json()
        assert body["accepted"] == 20, body
    one, two = Patrol.objects.get(uuid=in_order), Patrol.objects.get(uuid=shuffled)
    assert two.point_count == one.point_count == 60
    assert two.distance_m == pytest.approx(one.distance_m, rel=1e-9)
    assert two.tracked_s == one.tracked_s == 59 * 30
    assert two.grid_stats == one.grid_stats
    assert two.first_point_at == one.first_point_at and two.last_point_at == one.last_point_at


def test_points_outside_china_are_rejected(client, world, start_patrol):
    key = start_patrol(world.worker_a1)
    t = timezone.now() - dt.timedelta(minutes=5)
    body = upload(client, key, [{"t": ms(t), "lat": 48.85, "lng": 2.35}]).json()
    assert body["accepted"] == 0
    assert body["rejected"][0]["reason"] == "outside_china"


def test_gcj02_points_are_stored_in_wgs84(client, world, start_patrol):
    key = start_patrol(world.worker_a1)
    t = timezone.now() - dt.timedelta(minutes=5)
    glat, glng = wgs84_to_gcj02(*A1)
    body = upload(client, key, [{"t": ms(t), "lat": glat, "lng": glng}], crs="gcj02").json()
    assert body["accepted"] == 1
    p = TrackPoint.objects.get(patrol__uuid=key)
    assert geodesic((p.lat, p.lng), A1) < 0.05


def test_bad_crs_and_oversized_batches_refuse_the_whole_batch(client, world, start_patrol):
    key = start_patrol(world.worker_a1)
    pts = walk(timezone.now() - dt.timedelta(minutes=30), A1, 3)
    r = upload(client, key, pts, crs="mars")
    assert r.status_code == 400 and r.json()["code"] == "invalid_crs"
    many = [dict(pts[0], t=pts[0]["t"] + i) for i in range(MAX_BATCH + 1)]
    r = upload(client, key, many)
    assert r.status_code == 400 and r.json()["code"] == "too_many_points"
    r = post_json(client, f"/api/field/patrols/{key}/points", {"points": "many"})
    assert r.status_code == 422
    assert TrackPoint.objects.filter(patrol__uuid=key).count() == 0


def test_time_and_distance_per_grid_and_in_own_grid(client, world, start_patrol):
    """Walk east from grid A1 into grid A2: the worker of A1 gets the A1 part as own time."""
    key = start_patrol(world.worker_a1)
    t0 = timezone.now() - dt.timedelta(minutes=40)
    start = offset(*A1, east_m=0)
    pts = walk(t0, start, 40, step_m=30, east=True)  # 1.17 km east, across x = X0 + 0.01
    body = upload(client, key, pts).json()
    assert body["accepted"] == 40
    patrol = Patrol.objects.get(uuid=key)
    stats = patrol.grid_stats
    assert set(stats) == {world.grid_a1.code, world.grid_a2.code}
    secs_a1, metres_a1 = stats[world.grid_a1.code]
    secs_a2, metres_a2 = stats[world.grid_a2.code]
    assert secs_a1 + secs_a2 == pytest.approx(patrol.tracked_s, abs=1)
    assert metres_a1 + metres_a2 == pytest.approx(patrol.distance_m, rel=1e-6)
    # Points in A1 are those west of the border; the crossing segment is split half and half.
    border = world.grid_a1.geometry.bounds[2]
    n_a1 = sum(1 for p in pts if p["lng"] < border)
    assert secs_a1 == pytest.approx((n_a1 - 1) * 30 + 15, abs=0.5)
    assert patrol.own_grid_s == round(secs_a1)
    assert {g["code"] for g in body["patrol"]["grids"]} == set(stats)
    detail = client.get(f"/api/field/patrols/{key}").json()
    grids = {g["code"]: g for g in detail["grids"]}
    assert grids[world.grid_a2.code]["name"] == world.grid_a2.name
    assert grids[world.grid_a1.code]["minutes"] == pytest.approx(secs_a1 / 60, abs=0.1)


def test_gaps_longer_than_ten_minutes_count_neither_time_nor_distance(client, world, start_patrol):
    key = start_patrol(world.worker_a1, started_at=timezone.now() - dt.timedelta(hours=2))
    t0 = timezone.now() - dt.timedelta(minutes=90)
    first = walk(t0, A1, 10)
    resume_at = offset(first[-1]["lat"], first[-1]["lng"], north_m=800)
    second = walk(t0 + dt.timedelta(minutes=40), resume_at, 10)
    upload(client, key, first + second)
    patrol = Patrol.objects.get(uuid=key)
    assert patrol.tracked_s == 2 * 9 * 30
    assert patrol.distance_m == pytest.approx(path_length(first) + path_length(second), rel=1e-4)


def test_only_the_patrols_worker_may_upload(client, world, field, start_patrol):
    key = start_patrol(world.worker_a1)
    pts = walk(timezone.now() - dt.timedelta(minutes=30), A1, 3)
    for user in (world.operator_a, field.worker_a2, world.outsider_b):
        client.force_login(user)
        r = upload(client, key, pts)
        assert r.status_code == 404, user
    client.logout()
    assert upload(client, key, pts).status_code == 401
    assert TrackPoint.objects.filter(patrol__uuid=key).count() == 0


def test_an_upload_costs_a_bounded_number_of_queries(
    client, world, start_patrol, django_assert_max_num_queries
):
    key = start_patrol(world.worker_a1)
    t0 = timezone.now() - dt.timedelta(minutes=55)
    upload(client, key, walk(t0, A1, 5))
    pts = walk(t0 + dt.timedelta(minutes=5), offset(*A1, north_m=200), 100, step_m=10)
    with django_assert_max_num_queries(10):
        body = upload(client, key, pts).json()
    assert body["accepted"] == 100


def test_a_point_far_away_from_the_previous_patrol_end_is_judged_on_time(
    client, world, start_patrol
):
    """Speed uses the time between fixes: 2 km in 10 minutes (3.3 m/s) is a bicycle, fine."""
    key = start_patrol(world.worker_a1)
    t0 = timezone.now() - dt.timedelta(minutes=30)
    far = offset(*A1, east_m=2000)
    body = upload(
        client,
        key,
        [
            {"t": ms(t0), "lat": A1[0], "lng": A1[1]},
            {"t": ms(t0 + dt.timedelta(minutes=10)), "lat": far[0], "lng": far[1]},
        ],
    ).json()
    assert body["accepted"] == 2
    assert A2  # the far point lies in grid A2
