"""Track points: ingest through the field API next to raw bulk loading, and worker-day replay.

Everything happens on the configured database, in a territory of its own (code range 1496…,
no real prefecture) with bench users ``bench_fw_*``; all of it is deleted afterwards.

- **ingest** (after the replay set is loaded, so into a table of 1 M / 10 M points): phones
  (one bench worker each, with its own API token, one active patrol) upload batches of 100
  points, each with a batch id, through ``POST /api/field/patrols/<uuid>/points`` in process
  (Django's test client: URL routing, middleware, token auth, JSON parsing, the per-point checks,
  the row lock, the insert, the patrol totals, the batch receipt), shared among as many forked
  upload processes as the machine has cores (``BENCH_FIELD_WORKERS``), as a production server's
  sync workers would; the rate of one such worker is reported with it. A tenth of the batches
  are then delivered again and must be answered ``replayed`` with nothing stored. Baseline:
  loading the same number of points into the same table raw on one connection — ``COPY … FROM
  STDIN`` on PostgreSQL, ``executemany`` of one ``INSERT`` on SQLite (labelled as such). Target
  ≥ 10,000 points/s.
- **replay**: one worker-day among 10,000,000 stored points (small: 1,000,000) generated with
  COPY/executemany — ``selectors.worker_day_track`` (scope check, the day's patrols, their
  points from the (patrol, recorded_at) index) — next to the same query with the index switched
  off (PostgreSQL planner settings; SQLite ``NOT INDEXED``), which is what the index buys.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import statistics
import time
import uuid

import numpy as np
from django.db import connection, transaction

from bench._util import measure, percentile

PREFIX = "1496"
CITY, COUNTY, TOWN, COMMUNITY = "149600000000", "149601000000", "149601001000", "149601001001"
GRID = "149601001001001"
BOX = (112.50, 38.00, 112.54, 38.03)  # lng0, lat0, lng1, lat1: ~3.5 km × 3.3 km
SIZES = {
    # phones, points per phone (ingest); workers, days (replay set, 960 points a day)
    "small": {"phones": 20, "per_phone": 1000, "workers": 105, "days": 10},
    "full": {"phones": 50, "per_phone": 2000, "workers": 1042, "days": 10},
}
PER_DAY = 960  # a point every 30 s for 8 hours
INGEST_TARGET = 10_000  # points/s through the API (issue: track ingest at city scale)
# Upload processes, as many as a production web server has workers: one per core.
WORKERS = max(1, min(4, os.cpu_count() or 1))
BATCH = 100
REPLAY_SAMPLES = 30


def _pg() -> bool:
    return connection.vendor == "postgresql"


# --- set-up and clean-up ---------------------------------------------------------------------


def setup(n_users: int):
    from shapely.geometry import box

    from civicgrid.people.models import GridMember, Role, RoleAssignment, User
    from civicgrid.territory.models import Area, Grid
    from civicgrid.territory.spatial import bump_territory_version

    with transaction.atomic():
        parent = None
        for code, level, name in (
            (CITY, 1, "基准市"),
            (COUNTY, 2, "基准区"),
            (TOWN, 3, "基准街道"),
            (COMMUNITY, 4, "基准社区"),
        ):
            parent = Area.objects.create(code=code, level=level, name=name, parent=parent)
        grid = Grid(code=GRID, name="基准网格", area=parent, households=400)
        grid.set_geometry(box(*BOX))
        grid.save()
        bump_territory_version()
        User.objects.bulk_create(
            [
                User(username=f"bench_fw_{i:05d}", full_name=f"基准网格员{i}", password="!")
                for i in range(n_users)
            ],
            batch_size=2000,
        )
        users = list(User.objects.filter(username__startswith="bench_fw_").order_by("username"))
        GridMember.objects.bulk_create(
            [GridMember(grid=grid, user=u, worker_type="full_time") for u in users],
            batch_size=2000,
        )
        RoleAssignment.objects.bulk_create(
            [RoleAssignment(user=u, role=Role.GRID_WORKER, area=parent) for u in users],
            batch_size=2000,
        )
    return grid, users


def cleanup(track_rows_before: int) -> None:
    from civicgrid.api.models import ApiToken
    from civicgrid.field.models import CheckIn, Patrol, TrackPoint
    from civicgrid.people.models import GridMember, RoleAssignment, User
    from civicgrid.territory.models import Area, Grid
    from civicgrid.territory.spatial import bump_territory_version

    bench_users = User.objects.filter(username__startswith="bench_fw_")
    with transaction.atomic():
        if track_rows_before == 0:
            # Nothing else was in the table: TRUNCATE instead of deleting millions of rows.
            with connection.cursor() as cur:
                if _pg():
                    cur.execute(f'TRUNCATE "{TrackPoint._meta.db_table}"')
                else:
                    cur.execute(f'DELETE FROM "{TrackPoint._meta.db_table}"')
        else:
            pids = list(Patrol.objects.filter(worker__in=bench_users).values_list("pk", flat=True))
            with connection.cursor() as cur:
                for i in range(0, len(pids), 500):
                    chunk = pids[i : i + 500]
                    cur.execute(
                        f'DELETE FROM "{TrackPoint._meta.db_table}" WHERE patrol_id IN '
                        f"({','.join(str(p) for p in chunk)})"
                    )
        CheckIn.objects.filter(worker__in=bench_users).delete()
        Patrol.objects.filter(worker__in=bench_users).delete()
        ApiToken.objects.filter(user__in=bench_users).delete()
        GridMember.objects.filter(user__in=bench_users).delete()
        RoleAssignment.objects.filter(user__in=bench_users).delete()
        bench_users.delete()
        if Grid.objects.filter(code__startswith=PREFIX).delete()[0]:
            bump_territory_version()
        for level in (4, 3, 2, 1):
            Area.objects.filter(code__startswith=PREFIX, level=level).delete()


# --- point generation ------------------------------------------------------------------------


def walk(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """A walk of ~1 m/s with a fix every 30 s, kept inside the bench box."""
    x0, y0, x1, y1 = BOX
    steps = rng.normal(0, 30 / 111_000, size=(n, 2))
    lat = np.clip(rng.uniform(y0 + 0.005, y1 - 0.005) + np.cumsum(steps[:, 0]), y0, y1)
    lng = np.clip(rng.uniform(x0 + 0.005, x1 - 0.005) + np.cumsum(steps[:, 1]), x0, x1)
    return lat, lng


def _stamp_text(start: dt.datetime, n: int, step_s: int = 30) -> list[str]:
    fmt = "%Y-%m-%d %H:%M:%S+00" if _pg() else "%Y-%m-%d %H:%M:%S"
    return [(start + dt.timedelta(seconds=i * step_s)).strftime(fmt) for i in range(n)]


def bulk_load(rows_by_patrol: list[tuple[int, dt.datetime, np.ndarray, np.ndarray]]) -> int:
    """Load points raw: COPY on PostgreSQL, executemany on SQLite. Returns the row count."""
    from civicgrid.field.models import TrackPoint

    table = TrackPoint._meta.db_table
    total = 0
    with connection.cursor() as cur:
        if _pg():
            raw = cur.cursor
            with raw.copy(
                f'COPY "{table}" (patrol_id, recorded_at, lat, lng, accuracy) '
                "FROM STDIN WITH (FORMAT binary)"
            ) as copy:
                copy.set_types(["int8", "timestamptz", "float8", "float8", "int2"])
                for pid, start, lats, lngs in rows_by_patrol:
                    step = dt.timedelta(seconds=30)
                    for i, (la, ln) in enumerate(zip(lats.tolist(), lngs.tolist(), strict=True)):
                        copy.write_row((pid, start + i * step, la, ln, 10))
                    total += len(lats)
        else:
            sql = (
                f'INSERT INTO "{table}" (patrol_id, recorded_at, lat, lng, accuracy) '
                "VALUES (%s, %s, %s, %s, %s)"
            )
            batch: list[tuple] = []
            for pid, start, lats, lngs in rows_by_patrol:
                stamps = _stamp_text(start, len(lats))
                batch.extend(
                    (pid, s, la, ln, 10)
                    for s, la, ln in zip(stamps, lats.tolist(), lngs.tolist(), strict=True)
                )
                total += len(lats)
                if len(batch) >= 200_000:
                    cur.executemany(sql, batch)
                    batch = []
            if batch:
                cur.executemany(sql, batch)
    return total


def make_patrols(users, starts: list[dt.datetime], ended: bool = True) -> list:
    from civicgrid.field.models import Patrol, PatrolState

    objs = [
        Patrol(
            uuid=uuid.uuid4(),
            worker=u,
            scope_code=GRID,
            state=PatrolState.ENDED if ended else PatrolState.ACTIVE,
            started_at=s - dt.timedelta(minutes=1),
            ended_at=s + dt.timedelta(hours=8, minutes=1) if ended else None,
        )
        for u, s in zip(users, starts, strict=True)
    ]
    from civicgrid.field.models import Patrol as P

    P.objects.bulk_create(objs, batch_size=5000)
    return objs


# --- measures --------------------------------------------------------------------------------


def _start_phones(users, per: int, rng: np.random.Generator, start: dt.datetime, client):
    """One running patrol per phone (through the API) and its points, a fix every 30 s."""
    from civicgrid.api.models import ApiToken

    sessions = []
    for u in users:
        _t, token = ApiToken.issue(user=u, name="bench")
        auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
        key = str(uuid.uuid4())
        r = client.post(
            "/api/field/patrols",
            {"uuid": key, "started_at": int(start.timestamp() * 1000)},
            content_type="application/json",
            **auth,
        )
        assert r.status_code == 201, r.content
        lat, lng = walk(rng, per)
        t0 = int(start.timestamp() * 1000) + 30_000
        pts = [
            {"t": t0 + i * 30_000, "lat": round(la, 7), "lng": round(ln, 7), "acc": 8}
            for i, (la, ln) in enumerate(zip(lat.tolist(), lng.tolist(), strict=True))
        ]
        sessions.append((key, auth, pts))
    return sessions


def _bodies(sessions, per: int) -> list[list[tuple[str, dict, str]]]:
    """Per phone, its batches of ``BATCH`` points in order, each with a batch id."""
    out = []
    for key, auth, pts in sessions:
        out.append(
            [
                (
                    f"/api/field/patrols/{key}/points",
                    auth,
                    json.dumps({"batch_id": str(uuid.uuid4()), "points": pts[b : b + BATCH]}),
                )
                for b in range(0, per, BATCH)
            ]
        )
    return out


def _post_all(phones: list[list[tuple[str, dict, str]]]) -> tuple[int, int, float, float]:
    """Upload the phones' batches round-robin through the whole Django stack in this process:
    (accepted points, batches, first start, last end) on the monotonic clock."""
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    accepted = batches = 0
    t0 = time.monotonic()
    for row in zip(*phones, strict=True):
        for url, auth, body in row:
            r = client.post(url, body, content_type="application/json", **auth)
            assert r.status_code == 200, r.content[:300]
            accepted += r.json()["accepted"]
            batches += 1
    return accepted, batches, t0, time.monotonic()


def _child(phones, go, results) -> None:
    from django.db import connections

    try:
        go.wait()
        results.put(_post_all(phones))
    except BaseException as exc:  # report, do not hang the parent
        results.put(("error", repr(exc)))
    finally:
        connections.close_all()


def upload_parallel(phones: list, workers: int) -> tuple[int, int, float]:
    """``workers`` processes (forked, each with its own database connection, as gunicorn's sync
    workers are) share the phones and upload at once: (accepted, batches, wall seconds)."""
    import multiprocessing

    from django.db import connections

    if workers <= 1:
        accepted, batches, t0, t1 = _post_all(phones)
        return accepted, batches, t1 - t0
    connections.close_all()  # never share a connection with a child
    ctx = multiprocessing.get_context("fork")
    go, results = ctx.Event(), ctx.Queue()
    shares = [phones[i::workers] for i in range(workers)]
    procs = [ctx.Process(target=_child, args=(share, go, results)) for share in shares]
    for proc in procs:
        proc.start()
    time.sleep(0.2)
    go.set()
    answers = [results.get(timeout=600) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
    errors = [a for a in answers if a[0] == "error"]
    if errors:
        raise RuntimeError(f"upload worker failed: {errors[0][1]}")
    accepted = sum(a[0] for a in answers)
    batches = sum(a[1] for a in answers)
    return accepted, batches, max(a[3] for a in answers) - min(a[2] for a in answers)


def bench_ingest(users, size: dict, rng: np.random.Generator) -> list[dict]:
    from django.conf import settings
    from django.test import Client
    from django.utils import timezone

    from civicgrid.field.models import Patrol, TrackPoint

    phones, per = size["phones"], size["per_phone"]
    workers = int(os.environ.get("BENCH_FIELD_WORKERS", "0")) or WORKERS
    now = timezone.now().replace(microsecond=0)
    start = now - dt.timedelta(seconds=per * 30 + 600)
    client = Client(HTTP_HOST="127.0.0.1")
    stored = TrackPoint.objects.count()
    total = phones * per

    # One web worker: the latency of a batch.
    single = _start_phones(users[:phones], per, rng, start, client)
    single_bodies = _bodies(single, per)
    accepted, batches, single_s = upload_parallel(single_bodies, 1)
    assert accepted == total, (accepted, total)
    # Several web workers (as many as the machine has cores) sharing the phones: throughput.
    # The phones start new patrols, which ends the first ones; the points are stored again.
    parallel = _start_phones(users[:phones], per, rng, start, client)
    bodies = _bodies(parallel, per)
    accepted, batches, api_s = upload_parallel(bodies, workers)
    assert accepted == total, (accepted, total)

    # Idempotency on the way: a tenth of the batches delivered again (lost answers) are
    # answered from their receipts and store nothing.
    before = TrackPoint.objects.count()
    replayed = 0
    for phone in bodies:
        for url, auth, body in phone[:: max(1, len(phone) // 10 or 1)][:1]:
            r = client.post(url, body, content_type="application/json", **auth)
            assert r.status_code == 200 and r.json()["replayed"], r.content[:200]
            replayed += 1
    assert TrackPoint.objects.count() == before
    counts = dict(
        Patrol.objects.filter(uuid__in=[k for k, _a, _p in parallel]).values_list(
            "uuid", "point_count"
        )
    )
    assert all(n == per for n in counts.values()), counts

    # Raw load of the same number of points into the same table, for other patrols.
    patrols = make_patrols(users[:phones], [start] * phones)
    rows = []
    for p in patrols:
        lat, lng = walk(rng, per)
        rows.append((p.pk, start, lat, lng))
    t = time.perf_counter()
    with transaction.atomic():
        loaded = bulk_load(rows)
    raw_s = time.perf_counter() - t
    assert loaded == total
    api_rate, raw_rate = total / api_s, total / raw_s
    extra = []
    if _pg():
        # What the WAL flush of each commit costs: the same upload with the opt-in setting.
        conf = dict(settings.CIVICGRID)
        settings.CIVICGRID = {**conf, "TRACK_ASYNC_COMMIT": True}
        try:
            again = _bodies(_start_phones(users[:phones], per, rng, start, client), per)
            _a, _b, async_s = upload_parallel(again, workers)
        finally:
            settings.CIVICGRID = conf
        extra.append(
            measure(
                "field.ingest_api_async_commit_points_per_s",
                total / async_s,
                "points/s",
                baseline="the same upload with synchronous commits",
                baseline_value=api_rate,
                # The opt-in setting (CIVICGRID['TRACK_ASYNC_COMMIT']) is worth offering only if
                # it is faster than the default it trades durability for.
                target=">= the synchronous upload's rate",
                ok=total / async_s >= api_rate,
                web_workers=workers,
            )
        )
    baseline = (
        "COPY FROM STDIN (binary)" if _pg() else "sqlite executemany INSERT (no COPY on SQLite)"
    )
    return [
        measure(
            "field.ingest_api_points_per_s",
            api_rate,
            "points/s",
            baseline=f"raw {baseline} into the same table, one connection",
            baseline_value=raw_rate,
            target=f">= {INGEST_TARGET} points/s",
            ok=api_rate >= INGEST_TARGET,
            points=total,
            batch=BATCH,
            phones=phones,
            web_workers=workers,
            stored_points_before=stored,
            single_worker_points_per_s=round(total / single_s, 1),
            ms_per_batch_single_worker=round(single_s / batches * 1000, 2),
            replayed_batches=replayed,
            loadavg=round(os.getloadavg()[0], 2),
        ),
        *extra,
    ]


def bench_replay(users, size: dict, rng: np.random.Generator) -> list[dict]:
    from django.test import Client
    from django.utils import timezone

    from civicgrid.api.models import ApiToken
    from civicgrid.field import selectors
    from civicgrid.field.models import TrackPoint

    workers, days = size["workers"], size["days"]
    users = users[:workers]
    today = timezone.localdate()
    first_day = today - dt.timedelta(days=days + 1)
    day_starts = [
        timezone.make_aware(dt.datetime.combine(first_day + dt.timedelta(days=d), dt.time(8, 0)))
        for d in range(days)
    ]
    t = time.perf_counter()
    n_points = 0
    for d_start in day_starts:
        with transaction.atomic():
            patrols = make_patrols(users, [d_start] * len(users))
            rows = []
            for p in patrols:
                lat, lng = walk(rng, PER_DAY)
                rows.append((p.pk, d_start.astimezone(dt.UTC), lat, lng))
            n_points += bulk_load(rows)
    gen_s = time.perf_counter() - t
    if _pg():
        with connection.cursor() as cur:
            cur.execute(f'ANALYZE "{TrackPoint._meta.db_table}"')
            cur.execute('ANALYZE "field_patrol"')
    stored = TrackPoint.objects.count()

    picks = [
        (random.Random(i).choice(users), first_day + dt.timedelta(days=i % days))
        for i in range(REPLAY_SAMPLES)
    ]
    times, counts = [], []
    for user, day in picks:
        t = time.perf_counter()
        pts = selectors.worker_day_track(user, user.pk, day)
        times.append((time.perf_counter() - t) * 1000)
        counts.append(len(pts))
    assert all(c == PER_DAY for c in counts), counts[:5]

    client = Client(HTTP_HOST="127.0.0.1")
    api_times = []
    warm_user, warm_day = picks[-1]
    _t, warm_token = ApiToken.issue(user=warm_user, name="bench-replay")
    client.get(  # the first request of a process pays for lazy imports and URL resolving
        f"/api/field/workers/{warm_user.pk}/track?date={warm_day.isoformat()}",
        HTTP_AUTHORIZATION=f"Bearer {warm_token}",
    )
    for user, day in picks[:10]:
        _t, token = ApiToken.issue(user=user, name="bench-replay")
        t = time.perf_counter()
        r = client.get(
            f"/api/field/workers/{user.pk}/track?date={day.isoformat()}",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        api_times.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200 and len(r.json()["points"]) == PER_DAY

    # Baseline: the same point query with the (patrol, recorded_at) index unusable.
    base_times = []
    table = TrackPoint._meta.db_table
    for user, day in picks[:3]:
        start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
        end = start + dt.timedelta(days=1)
        pids = list(
            user.patrols.filter(started_at__lt=end, ended_at__gte=start).values_list(
                "pk", flat=True
            )
        )
        ids = ",".join(str(p) for p in pids)
        t = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cur:
            if _pg():
                cur.execute("SET LOCAL enable_indexscan = off")
                cur.execute("SET LOCAL enable_bitmapscan = off")
                cur.execute("SET LOCAL enable_indexonlyscan = off")
                cur.execute(
                    f'SELECT patrol_id, recorded_at, lat, lng FROM "{table}" '
                    f"WHERE patrol_id IN ({ids}) AND recorded_at >= %s AND recorded_at < %s "
                    "ORDER BY recorded_at",
                    [start, end],
                )
            else:
                cur.execute(
                    f'SELECT patrol_id, recorded_at, lat, lng FROM "{table}" NOT INDEXED '
                    f"WHERE patrol_id IN ({ids}) AND recorded_at >= %s AND recorded_at < %s "
                    "ORDER BY recorded_at",
                    [
                        start.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S"),
                        end.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S"),
                    ],
                )
            n = len(cur.fetchall())
        base_times.append((time.perf_counter() - t) * 1000)
        assert n == PER_DAY, n
    p50, p95 = statistics.median(times), percentile(times, 95)
    return [
        measure(
            "field.replay_worker_day_ms",
            p50,
            "ms",
            baseline="same query without the (patrol, recorded_at) index (forced scan)",
            baseline_value=statistics.median(base_times),
            target="< 100 ms",
            ok=p95 < 100,
            p95_ms=round(p95, 2),
            stored_points=stored,
            points_per_day=PER_DAY,
            samples=len(times),
        ),
        measure(
            "field.replay_worker_day_api_ms",
            statistics.median(api_times),
            "ms",
            baseline="the selector alone",
            baseline_value=p50,
            target="< 100 ms",
            ok=percentile(api_times, 95) < 100,
            p95_ms=round(percentile(api_times, 95), 2),
        ),
        measure(
            "field.generate_points_per_s",
            n_points / gen_s,
            "points/s",
            note="COPY (PostgreSQL) / executemany (SQLite) of the replay set, with patrols",
            # a day of 3,000 phones (one point per 30 s for 8 h: 2.9 M points) in under 5 minutes
            target=">= 10,000 points/s",
            ok=n_points / gen_s >= 10_000,
            points=n_points,
            seconds=round(gen_s, 1),
        ),
    ]


def run(scale: str) -> list[dict]:
    from civicgrid.field.models import TrackPoint

    size = SIZES.get(scale, SIZES["full"])
    rng = np.random.default_rng(20260)
    before = TrackPoint.objects.count()
    cleanup(before)  # leftovers of an interrupted run
    before = TrackPoint.objects.count()
    try:
        _grid, users = setup(max(size["phones"], size["workers"]))
        # The replay set first, so that uploads land in a table of its size (1 M / 10 M points).
        out = bench_replay(users, size, rng)
        out = bench_ingest(users, size, rng) + out
    finally:
        cleanup(before)
    return out
