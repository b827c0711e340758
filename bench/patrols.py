"""The patrol screen for a district of 2,000 grid workers, and the public square map's data for a
district view among 1,000,000 cases.

**Patrol screen** (configured database; a territory of its own, code range 1497…, users
``bench_ps_*``, all deleted afterwards): one district of 10 streets × 10 communities × 10 grids
(1,000 grids), two workers per grid (2,000), each with today's patrol (three in five still
running) of 240 points (full: 960, eight hours at one fix every 30 s), earlier days' patrols
(small: 3 days, full: 30) and two check-ins today. Points are loaded raw (COPY / executemany);
each patrol's simplified track is built with ``civicgrid.field.overview`` from the same points,
as ingest would have left it.

- ``patrols.screen_p95``: GET /api/field/screen?area=<district> as the district's operator
  (bearer token; the whole stack: middleware, auth, scope, four queries, JSON of every worker
  and every track), p50/p95 after a warm-up. Target p95 < 300 ms. Baseline: the same data read
  by hand-written SQL (members; latest patrols joined to their patrols; today's patrols with
  their overviews; today's check-ins per worker) through ``cursor.execute`` + ``fetchall``.
- ``patrols.replay_p95``: GET /api/field/screen/workers/<id>/day for random workers (every raw
  point of the day and the check-ins). Baseline: the points' SQL alone. Target p95 < 100 ms.

**Square map** (``civicgrid.public.selectors.square_map_list`` through GET /api/public/square)
on the database that bench/cases.py builds and keeps (``bench_cases_<n>``: the demo city with
3,000 grids and 1,000,000 cases; small: 100,000), for the bounding box of district 云中区 (the
default 90-day window, at most 1,000 newest). It runs in a child process on that database and
reuses it as bench/cases.py does (the marker table; it is built only if missing).

- ``patrols.square_district_p95``: p50/p95 after a warm-up. Target p95 < 100 ms. Baseline: the
  SQL the request issued (captured once), replayed alone through ``cursor.execute``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
from django.db import IntegrityError, connection, transaction

from bench._util import measure, percentile

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "1497"
CITY, DISTRICT = "149700000000", "149701000000"
WORKERS_PER_GRID = 2
STREETS = COMMUNITIES = GRIDS = 10  # per parent: 10 × 10 × 10 = 1,000 grids, 2,000 workers
ORIGIN = (112.0, 37.0)  # lng, lat of the district's south-west corner
GRID_DEG = 0.004  # a grid is ~350 m × 440 m
SIZES = {
    "small": {"points": 240, "days": 3, "samples": 30, "cases": 100_000},
    "full": {"points": 960, "days": 30, "samples": 50, "cases": 1_000_000},
}
SCREEN_TARGET_MS = 300.0
REPLAY_TARGET_MS = 100.0
SQUARE_TARGET_MS = 100.0
SQUARE_DISTRICT = "140202000000"  # 云中区 in the demo city
TOKEN_NAME = "bench-patrols"


def _pg() -> bool:
    return connection.vendor == "postgresql"


def _ms(values: list[float]) -> tuple[float, float]:
    return statistics.median(values), percentile(values, 95)


# --- the district ------------------------------------------------------------------------------


def _grid_box(s: int, c: int, g: int) -> tuple[float, float, float, float]:
    # Streets side by side east-west, communities north-south, grids east-west inside them.
    x = ORIGIN[0] + (s * GRIDS + g) * GRID_DEG
    y = ORIGIN[1] + c * GRID_DEG * 1.25
    return x, y, x + GRID_DEG, y + GRID_DEG * 1.25


def setup(size: dict, rng: np.random.Generator) -> dict:
    from shapely.geometry import box

    from civicgrid.field import latest, overview
    from civicgrid.field.models import CheckIn, KeyPlace, Patrol, PatrolState
    from civicgrid.people.models import GridMember, Role, RoleAssignment, User
    from civicgrid.territory.models import Area, Grid
    from civicgrid.territory.spatial import bump_territory_version

    t0 = time.perf_counter()
    with transaction.atomic():
        city = Area.objects.create(code=CITY, level=1, name="基准巡查市")
        width = STREETS * GRIDS * GRID_DEG
        height = COMMUNITIES * GRID_DEG * 1.25
        dist = Area(code=DISTRICT, level=2, name="基准巡查区", parent=city)
        dist.set_geometry(box(ORIGIN[0], ORIGIN[1], ORIGIN[0] + width, ORIGIN[1] + height))
        dist.save()
        grids = []
        for s in range(STREETS):
            street = Area.objects.create(
                code=f"149701{s + 1:03d}000", level=3, name=f"基准街道{s + 1}", parent=dist
            )
            for c in range(COMMUNITIES):
                comm = Area.objects.create(
                    code=f"149701{s + 1:03d}{c + 1:03d}",
                    level=4,
                    name=f"基准社区{s + 1}-{c + 1}",
                    parent=street,
                )
                for g in range(GRIDS):
                    grid = Grid(
                        code=f"{comm.code}{g + 1:03d}",
                        name=f"网格{s + 1}-{c + 1}-{g + 1}",
                        area=comm,
                        households=300,
                    )
                    grid.set_geometry(box(*_grid_box(s, c, g)))
                    grids.append(grid)
        Grid.objects.bulk_create(grids, batch_size=500)
        bump_territory_version()
        grids = list(Grid.objects.filter(code__startswith=PREFIX).order_by("code"))
        n = len(grids) * WORKERS_PER_GRID
        User.objects.bulk_create(
            [
                User(username=f"bench_ps_{i:05d}", full_name=f"巡查员{i}", password="!")
                for i in range(n)
            ],
            batch_size=2000,
        )
        users = list(User.objects.filter(username__startswith="bench_ps_").order_by("username"))
        home = {u.pk: grids[i // WORKERS_PER_GRID] for i, u in enumerate(users)}
        GridMember.objects.bulk_create(
            [GridMember(grid=home[u.pk], user=u, worker_type="full_time") for u in users],
            batch_size=2000,
        )
        RoleAssignment.objects.bulk_create(
            [RoleAssignment(user=u, role=Role.GRID_WORKER, area=home[u.pk].area) for u in users],
            batch_size=2000,
        )
        operator = User.objects.create(username="bench_ps_operator", full_name="基准坐席")
        RoleAssignment.objects.create(user=operator, role=Role.OPERATOR, area=dist)
        places = KeyPlace.objects.bulk_create(
            [
                KeyPlace(
                    name=f"点位{g.code[-6:]}",
                    grid=g,
                    scope_code=g.code,
                    lat=g.min_lat + GRID_DEG * 0.6,
                    lng=g.min_lng + GRID_DEG * 0.5,
                )
                for g in grids
            ],
            batch_size=2000,
        )
        place_of = {p.grid_id: p for p in places}

        from django.utils import timezone

        now = timezone.now().replace(microsecond=0)
        per = size["points"]
        today_start = now - dt.timedelta(seconds=per * 30 + 300)
        patrols, tracks = [], []
        for i, u in enumerate(users):
            g = home[u.pk]
            lat, lng = _walk(rng, g, per)
            running = i % 5 < 3
            started = today_start + dt.timedelta(seconds=int(rng.integers(0, 240)))
            last_at = started + dt.timedelta(seconds=30 * (per - 1) + 30)
            patrols.append(
                Patrol(
                    uuid=uuid.uuid4(),
                    worker=u,
                    scope_code=g.code,
                    state=PatrolState.ACTIVE if running else PatrolState.ENDED,
                    started_at=started,
                    ended_at=None if running else last_at + dt.timedelta(seconds=10),
                    point_count=per,
                    distance_m=float(per * 25),
                    tracked_s=30 * (per - 1),
                    grid_stats={g.code: [30.0 * (per - 1), per * 25.0]},
                    first_point_at=started + dt.timedelta(seconds=30),
                    last_point_at=last_at,
                    last_lat=float(lat[-1]),
                    last_lng=float(lng[-1]),
                    last_grid=g.code,
                    overview=overview.build(list(zip(lat.tolist(), lng.tolist(), strict=True))),
                )
            )
            tracks.append((started + dt.timedelta(seconds=30), lat, lng))
            for d in range(1, size["days"] + 1):
                day = started - dt.timedelta(days=d)
                patrols.append(
                    Patrol(
                        uuid=uuid.uuid4(),
                        worker=u,
                        scope_code=g.code,
                        state=PatrolState.ENDED,
                        started_at=day,
                        ended_at=day + dt.timedelta(hours=4),
                        point_count=per,
                        distance_m=float(per * 25),
                        grid_stats={g.code: [30.0 * (per - 1), per * 25.0]},
                        last_point_at=day + dt.timedelta(hours=4),
                        last_lat=float(lat[0]),
                        last_lng=float(lng[0]),
                        overview=overview.build([(lat[0], lng[0]), (lat[-1], lng[-1])]),
                    )
                )
        Patrol.objects.bulk_create(patrols, batch_size=2000)
        today = [p for p in patrols if p.started_at >= today_start]
        rows = [(p.pk, t[0], t[1], t[2]) for p, t in zip(today, tracks, strict=True)]
        from bench.field import bulk_load

        n_points = bulk_load(rows)
        latest.rebuild([u.pk for u in users])
        CheckIn.objects.bulk_create(
            [
                CheckIn(
                    client_id=uuid.uuid4(),
                    worker=u,
                    place=place_of[home[u.pk].pk],
                    patrol=p,
                    scope_code=home[u.pk].code,
                    checked_at=p.started_at + dt.timedelta(minutes=10 + 40 * k),
                    lat=place_of[home[u.pk].pk].lat,
                    lng=place_of[home[u.pk].pk].lng,
                    distance_m=3.0,
                    within=True,
                )
                for u, p in zip(users, today, strict=True)
                for k in range(2)
            ],
            batch_size=2000,
        )
    if _pg():
        with connection.cursor() as cur:
            for table in (
                "field_patrol",
                "field_trackpoint",
                "field_checkin",
                "field_latestpatrol",
            ):
                cur.execute(f'ANALYZE "{table}"')
    return {
        "operator": operator,
        "users": users,
        "grids": len(grids),
        "points": n_points,
        "patrols": len(patrols),
        "setup_s": time.perf_counter() - t0,
    }


def _walk(rng: np.random.Generator, grid, n: int) -> tuple[np.ndarray, np.ndarray]:
    """A patrol along streets: ~1 m/s with a fix every 30 s, going straight along a 70 m block
    grid and turning at a crossing now and then, plus GPS noise (σ 4 m); inside the grid.

    Real tracks follow streets, which is what simplification removes points from; a random walk
    would keep nearly every fix and overstate the overview's size.
    """
    m_lat, m_lng = 1 / 111_000, 1 / (111_000 * np.cos(np.radians(grid.min_lat)))
    y0, y1, x0, x1 = grid.min_lat, grid.max_lat, grid.min_lng, grid.max_lng
    lat = rng.uniform(y0, y1)
    lng = rng.uniform(x0, x1)
    heading = int(rng.integers(0, 4))
    lats, lngs = np.empty(n), np.empty(n)
    walked = 0.0
    for i in range(n):
        step = 30.0 * rng.uniform(0.7, 1.2)
        walked += step
        if walked >= 70 and rng.random() < 0.3:  # a crossing: turn left or right
            heading = (heading + (1 if rng.random() < 0.5 else 3)) % 4
            walked = 0.0
        dy, dx = ((1, 0), (0, 1), (-1, 0), (0, -1))[heading]
        nlat, nlng = lat + dy * step * m_lat, lng + dx * step * m_lng
        if not (y0 < nlat < y1 and x0 < nlng < x1):  # the grid's edge: turn back
            heading = (heading + 2) % 4
            dy, dx = ((1, 0), (0, 1), (-1, 0), (0, -1))[heading]
            nlat, nlng = lat + dy * step * m_lat, lng + dx * step * m_lng
        lat, lng = nlat, nlng
        lats[i] = lat + rng.normal(0, 4) * m_lat
        lngs[i] = lng + rng.normal(0, 4) * m_lng
    return np.clip(lats, y0, y1), np.clip(lngs, x0, x1)


def cleanup() -> None:
    from civicgrid.api.models import ApiToken
    from civicgrid.field.models import CheckIn, KeyPlace, LatestPatrol, Patrol, TrackPoint
    from civicgrid.people.models import GridMember, RoleAssignment, User
    from civicgrid.territory.models import Area, Grid
    from civicgrid.territory.spatial import bump_territory_version

    users = User.objects.filter(username__startswith="bench_ps_")
    with transaction.atomic():
        pids = list(Patrol.objects.filter(worker__in=users).values_list("pk", flat=True))
        with connection.cursor() as cur:
            for i in range(0, len(pids), 1000):
                chunk = ",".join(str(p) for p in pids[i : i + 1000])
                cur.execute(
                    f'DELETE FROM "{TrackPoint._meta.db_table}" WHERE patrol_id IN ({chunk})'
                )
        # Bulk-made rows go as they came, without per-row signals (the audit trail would log
        # thousands of deletes of bench rows, one by one: minutes for nothing).
        for qs in (
            CheckIn.objects.filter(worker__in=users),
            LatestPatrol.objects.filter(worker__in=users),
            Patrol.objects.filter(worker__in=users),
            ApiToken.objects.filter(user__in=users),
            GridMember.objects.filter(user__in=users),
            RoleAssignment.objects.filter(user__in=users),
            KeyPlace.objects.filter(scope_code__startswith=PREFIX),
        ):
            qs._raw_delete(qs.db)
        try:
            with transaction.atomic():
                users._raw_delete(users.db)
        except IntegrityError:  # something else refers to a bench user: the ORM's cascade
            users.delete()
        grids = Grid.objects.filter(code__startswith=PREFIX)
        if grids.exists():
            grids._raw_delete(grids.db)
            bump_territory_version()
        for level in (4, 3, 2, 1):
            Area.objects.filter(code__startswith=PREFIX, level=level).delete()


# --- patrol screen -----------------------------------------------------------------------------


def _raw_screen(prefix: str, start: dt.datetime, end: dt.datetime) -> int:
    """The screen's data by hand-written SQL: what the database must do at the least."""
    like = prefix + "%"
    members = (
        "SELECT m.user_id FROM people_gridmember m JOIN territory_grid g ON g.id = m.grid_id "
        "WHERE g.code LIKE %s"
    )
    n = 0
    with connection.cursor() as cur:
        cur.execute(
            "SELECT m.user_id, u.full_name, g.code, g.name FROM people_gridmember m "
            "JOIN territory_grid g ON g.id = m.grid_id JOIN people_user u ON u.id = m.user_id "
            "WHERE g.code LIKE %s",
            [like],
        )
        n += len(cur.fetchall())
        cur.execute(
            "SELECT l.worker_id, p.state, p.last_lat, p.last_lng, p.last_point_at "
            "FROM field_latestpatrol l JOIN field_patrol p ON p.id = l.patrol_id "
            f"WHERE l.worker_id IN ({members})",
            [like],
        )
        n += len(cur.fetchall())
        cur.execute(
            "SELECT p.id, p.worker_id, p.distance_m, p.point_count, p.overview FROM field_patrol p "
            f"WHERE p.worker_id IN ({members}) AND p.started_at < %s AND p.started_at >= %s "
            "AND (p.started_at >= %s OR p.last_point_at >= %s)",
            [like, end, start - dt.timedelta(days=2), start, start],
        )
        n += len(cur.fetchall())
        cur.execute(
            "SELECT c.worker_id, COUNT(*) FROM field_checkin c "
            f"WHERE c.worker_id IN ({members}) AND c.checked_at >= %s AND c.checked_at < %s "
            "GROUP BY c.worker_id",
            [like, start, end],
        )
        n += len(cur.fetchall())
    return n


def bench_screen(size: dict, data: dict) -> list[dict]:
    from django.test import Client
    from django.utils import timezone

    from civicgrid.api.models import ApiToken
    from civicgrid.field.models import Patrol

    _row, token = ApiToken.issue(user=data["operator"], name=TOKEN_NAME)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    client = Client(HTTP_HOST="127.0.0.1")
    url = f"/api/field/screen?area={DISTRICT}"
    for _ in range(2):  # warm: imports, URL resolving, the spatial index
        r = client.get(url, **auth)
        assert r.status_code == 200, r.content[:300]
    body = r.json()
    assert body["totals"]["workers"] == len(data["users"]), body["totals"]
    # Today's patrols; near midnight yesterday's may overlap the day too.
    assert len(body["tracks"]) >= len(data["users"]), len(body["tracks"])
    size_kb = len(r.content) / 1024
    times = []
    for _ in range(size["samples"]):
        t = time.perf_counter()
        r = client.get(url, **auth)
        times.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200
    today = timezone.localdate()
    start = timezone.make_aware(dt.datetime.combine(today, dt.time.min))
    end = start + dt.timedelta(days=1)
    raw_times = []
    for _ in range(size["samples"]):
        t = time.perf_counter()
        rows = _raw_screen(PREFIX + "01", start, end)
        raw_times.append((time.perf_counter() - t) * 1000)
    p50, p95 = _ms(times)
    raw50, raw95 = _ms(raw_times)

    # Replay of random workers' days.
    rnd = random.Random(7)
    picks = rnd.sample(data["users"], k=min(size["samples"], len(data["users"])))
    replay, replay_raw, n_points = [], [], []
    client.get(f"/api/field/screen/workers/{picks[0].pk}/day", **auth)
    for u in picks:
        t = time.perf_counter()
        r = client.get(f"/api/field/screen/workers/{u.pk}/day", **auth)
        replay.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200
        n_points.append(len(r.json()["points"]))
        ids = list(
            Patrol.objects.filter(
                worker=u, started_at__lt=end, last_point_at__gte=start
            ).values_list("pk", flat=True)
        )
        t = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute(
                "SELECT patrol_id, recorded_at, lat, lng FROM field_trackpoint "
                f"WHERE patrol_id IN ({','.join(str(i) for i in ids)}) "
                "AND recorded_at >= %s AND recorded_at < %s ORDER BY recorded_at",
                [start, end],
            )
            cur.fetchall()
        replay_raw.append((time.perf_counter() - t) * 1000)
    assert all(n == size["points"] for n in n_points), n_points[:5]
    r50, r95 = _ms(replay)
    return [
        measure(
            "patrols.screen_p95",
            p95,
            "ms",
            baseline="the same data by hand-written SQL (4 statements, cursor.execute), p95",
            baseline_value=raw95,
            target=f"< {SCREEN_TARGET_MS:.0f} ms",
            ok=p95 < SCREEN_TARGET_MS,
            database=connection.vendor,
            workers=len(data["users"]),
            grids=data["grids"],
            tracks=len(body["tracks"]),
            on_patrol=body["totals"]["on_patrol"],
            response_kb=round(size_kb, 1),
            p50_ms=round(p50, 2),
            sql_p50_ms=round(raw50, 2),
            sql_rows=rows,
            stored_points=data["points"],
            stored_patrols=data["patrols"],
            samples=len(times),
            setup_s=round(data["setup_s"], 1),
            loadavg=round(os.getloadavg()[0], 2),
        ),
        measure(
            "patrols.replay_p95",
            r95,
            "ms",
            baseline="the day's points by hand-written SQL, p95",
            baseline_value=percentile(replay_raw, 95),
            target=f"< {REPLAY_TARGET_MS:.0f} ms",
            ok=r95 < REPLAY_TARGET_MS,
            p50_ms=round(r50, 2),
            points_per_day=size["points"],
            samples=len(replay),
        ),
    ]


# --- square map, in the cases bench's database -------------------------------------------------


def bench_square(scale: str) -> list[dict]:
    from bench._util import BenchDatabase

    n = SIZES.get(scale, SIZES["full"])["cases"]
    keep = os.environ.get("BENCH_CASES_KEEP", "1") != "0"
    with BenchDatabase("cases", n=n, keep=keep) as url:
        env = {**os.environ, "DATABASE_URL": url}
        env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
        proc = subprocess.run(
            [sys.executable, "-m", "bench.patrols", "--square", str(n), scale],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
            check=False,
        )
    if proc.returncode != 0:
        raise RuntimeError(f"square bench child failed:\n{proc.stdout}")
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    return [
        measure(
            "patrols.square_district_p95",
            r["p95_ms"],
            "ms",
            baseline="the SQL that request issued, replayed alone (cursor.execute), p95",
            baseline_value=r["sql_p95_ms"],
            target=f"< {SQUARE_TARGET_MS:.0f} ms",
            ok=r["p95_ms"] < SQUARE_TARGET_MS,
            **{k: v for k, v in r.items() if k not in ("p95_ms", "sql_p95_ms")},
        )
    ]


def _square_child(n: int, scale: str) -> None:
    import django

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench.cases import _tidy, ensure_data
    from civicgrid.territory.models import Area

    call_command("migrate", verbosity=0)
    data = ensure_data(n)
    _tidy()
    area = Area.objects.get(code=SQUARE_DISTRICT)
    bbox = f"{area.min_lng:.5f},{area.min_lat:.5f},{area.max_lng:.5f},{area.max_lat:.5f}"
    url = f"/api/public/square?bbox={bbox}"
    client = Client(HTTP_HOST="127.0.0.1")
    samples = SIZES.get(scale, SIZES["full"])["samples"] * 2
    for _ in range(3):
        r = client.get(url)
        assert r.status_code == 200, r.content[:300]
    features = len(r.json()["features"])
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    statements = [q["sql"] for q in captured.captured_queries]
    times, sql_times = [], []
    for _ in range(samples):
        t = time.perf_counter()
        r = client.get(url)
        times.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200
    for _ in range(samples):
        t = time.perf_counter()
        with connection.cursor() as cur:
            for sql in statements:
                cur.execute(sql)
                if cur.description:
                    cur.fetchall()
        sql_times.append((time.perf_counter() - t) * 1000)
    p50, p95 = _ms(times)
    s50, s95 = _ms(sql_times)
    print(
        json.dumps(
            {
                "p95_ms": round(p95, 2),
                "sql_p95_ms": round(s95, 2),
                "p50_ms": round(p50, 2),
                "sql_p50_ms": round(s50, 2),
                "database": connection.vendor,
                "cases": data["cases"],
                "reused": data["reused"],
                "data_age_h": data["data_age_h"],
                "district": SQUARE_DISTRICT,
                "bbox": bbox,
                "features": features,
                "statements": len(statements),
                "samples": samples,
                "loadavg": round(os.getloadavg()[0], 2),
            },
            ensure_ascii=False,
        )
    )


def run(scale: str) -> list[dict]:
    size = SIZES.get(scale, SIZES["full"])
    parts = os.environ.get("BENCH_PATROLS_PARTS", "screen,square").split(",")
    out: list[dict] = []
    if "screen" in parts:
        rng = np.random.default_rng(20261)
        cleanup()  # leftovers of an interrupted run
        try:
            data = setup(size, rng)
            out += bench_screen(size, data)
        finally:
            cleanup()
    if "square" in parts:
        out += bench_square(scale)
    return out


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "--square":
        _square_child(int(sys.argv[2]), sys.argv[3])
