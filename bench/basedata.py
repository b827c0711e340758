"""Base data at Datong's size: generation through COPY, look-ups, lists, Excel import, rotation.

On PostgreSQL it runs in a database whose name contains ``basedata``: the configured one if its
name does, else ``bench_basedata_<persons>`` on the same server (both kept for the next run, the
rows under city code 1499). Sizes (BENCH_SCALE):
small 100 k persons, medium 1 M, full 9 M persons + 2.5 M houses + 0.18 M tags + 0.32 M
organisations, places and things (12.0 M records). Every ciphertext is real SM4-GCM under a bench keyring.
"""

from __future__ import annotations

import datetime as dt
import io
import multiprocessing
import os
import random
import resource
import threading
import time

from ._util import measure, percentile, time_calls

SIZES = {
    "small": {"persons": 100_000, "houses": 28_000, "import": 20_000, "rotate": 20_000},
    "medium": {"persons": 1_000_000, "houses": 280_000, "import": 100_000, "rotate": 100_000},
    "full": {"persons": 9_000_000, "houses": 2_500_000, "import": 100_000, "rotate": 200_000},
}
PERSONS_PER_GRID = 1_500
# Targets of the measures that have no published figure to meet: the 12 M records generated in
# under an hour (3,400 rows/s; 5,000 leaves room), and a key rotation that ends within a night.
GENERATE_TARGET = 5_000
ROTATION_TARGET = 500
CITY = "1499"
REGION = "149901"
BENCH_KEYRING = {
    "keys": {"b1": "YmVuY2gta2V5LW9uZS0xNg==", "b2": "YmVuY2gta2V5LXR3by0xNg=="},
    "active": "b1",
    "index_key": "YmVuY2gtYmxpbmQtaW5kZXgta2V5LTMyLWJ5dGVzISE=",
}


def _pg() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


def _keys(active="b1"):
    from django.test import override_settings

    return override_settings(PII_KEYRING={**BENCH_KEYRING, "active": active})


# --- territory and users ---------------------------------------------------------------------


def setup_territory(n_grids: int):
    """City 1499 → one district → townships of 10 communities × 10 grids, square grids."""
    from shapely.geometry import box

    from civicgrid.people.models import Center, GridMember, Role, RoleAssignment, User
    from civicgrid.territory.models import Area, Grid

    city, _ = Area.objects.get_or_create(
        code=f"{CITY}00000000", defaults={"name": "基准市", "level": 1}
    )
    dist, _ = Area.objects.get_or_create(
        code=f"{REGION}000000", defaults={"name": "基准区", "level": 2, "parent": city}
    )
    have = Grid.objects.filter(code__startswith=REGION).count()
    side = 0.005
    grids = []
    for i in range(have, n_grids):
        t, c, g = i // 100 + 1, i // 10 % 10 + 1, i % 10 + 1
        town, _ = Area.objects.get_or_create(
            code=f"{REGION}{t:03d}000", defaults={"name": f"基准镇{t}", "level": 3, "parent": dist}
        )
        comm, _ = Area.objects.get_or_create(
            code=f"{REGION}{t:03d}{c:03d}",
            defaults={"name": f"基准社区{t}-{c}", "level": 4, "parent": town},
        )
        x, y = 100.0 + (i % 200) * side, 30.0 + (i // 200) * side
        grid = Grid(code=f"{comm.code}{g:03d}", name=f"基准网格{i}", area=comm)
        grid.set_geometry(box(x, y, x + side, y + side))
        grids.append(grid)
    Grid.objects.bulk_create(grids, batch_size=1000)
    first = Grid.objects.filter(code__startswith=REGION).order_by("code").first()
    worker, _ = User.objects.get_or_create(username="bench_bd_worker")
    op, _ = User.objects.get_or_create(username="bench_bd_operator")
    town = first.area.parent
    RoleAssignment.objects.get_or_create(user=worker, role=Role.GRID_WORKER, area=first.area)
    GridMember.objects.get_or_create(user=worker, grid=first, defaults={"worker_type": "full_time"})
    center, _ = Center.objects.get_or_create(area=town, defaults={"name": "基准镇中心"})
    RoleAssignment.objects.get_or_create(user=op, role=Role.OPERATOR, area=town, center=center)
    return (
        list(
            Grid.objects.filter(code__startswith=REGION).order_by("code").values_list("pk", "code")
        ),
        worker,
        op,
        town,
    )


# --- generation through COPY -------------------------------------------------------------------

PERSON_COLS = ["address", "lat", "lng", "grid_id", "scope_code", "created_at", "updated_at",
               "confirmed_at", "name", "id_type", "id_number_enc", "id_number_bidx",
               "id_number_mask", "phone_enc", "phone_bidx", "phone_mask", "gender", "birth_date",
               "hukou_region", "house_id", "category", "political_status", "employer_id"]  # fmt: skip
HOUSE_COLS = ["address", "lat", "lng", "grid_id", "scope_code", "created_at", "updated_at",
              "confirmed_at", "building", "unit", "room", "use", "area_m2", "landlord_id"]  # fmt: skip


def _copy(table: str, cols: list[str], rows) -> int:
    """COPY on PostgreSQL, executemany on SQLite (no COPY there). Returns the row count."""
    from django.db import connection

    n = 0
    with connection.cursor() as cur:
        if _pg():
            with cur.cursor.copy(f'COPY "{table}" ({", ".join(cols)}) FROM STDIN') as cp:
                for r in rows:
                    cp.write_row(r)
                    n += 1
        else:
            sql = f'INSERT INTO "{table}" ({", ".join(cols)}) VALUES ({", ".join(["%s"] * len(cols))})'
            batch = []
            for r in rows:
                batch.append(r)
                if len(batch) == 5000:
                    cur.executemany(sql, batch)
                    n += len(batch)
                    batch = []
            if batch:
                cur.executemany(sql, batch)
                n += len(batch)
    return n


def _house_rows(grids, start, count, now):
    for i in range(start, start + count):
        pk, code = grids[i % len(grids)]
        yield (f"基准路{i // 40}号", 30.0, 100.0, pk, code, now, now, now, str(i % 7 + 1),
               str(i % 3 + 1), f"{i % 30 + 1:02d}{i % 4 + 1}", "own", None, None)  # fmt: skip


def _person_rows(grids, houses, start, count, now, plain: bool = False):
    from civicgrid.basedata import generate

    for i in range(start, start + count):
        number = generate.id_for(REGION, i)
        phone = generate.phone_for(i)
        h_pk, h_grid, h_code = houses[i % len(houses)]
        gender, birth = generate.gender_birth(number)
        if plain:  # the baseline: the same rows without cryptography
            pii = {"id_number_enc": number, "id_number_bidx": f"{i:032x}", "id_number_mask": number,
                   "phone_enc": phone, "phone_bidx": f"{i:032x}", "phone_mask": phone}  # fmt: skip
        else:
            pii = generate.pii_fields(number, phone)
        yield ("基准路", 30.0, 100.0, h_grid, h_code, now, now, now, f"人{i}", "resident",
               pii["id_number_enc"], pii["id_number_bidx"], pii["id_number_mask"], pii["phone_enc"],
               pii["phone_bidx"], pii["phone_mask"], gender, birth, REGION, h_pk, "registered",
               "masses", None)  # fmt: skip


def generate_all(size, grids, now) -> dict:
    from django.db import connection, transaction

    from civicgrid.basedata.models import House, Person, PersonTag, TagKind

    out = {"persons": 0, "houses": 0, "tags": 0, "others": 0, "seconds": 0.0}
    have_h = House.objects.filter(scope_code__startswith=REGION).count()
    t0 = time.perf_counter()
    if have_h < size["houses"]:
        with transaction.atomic():
            out["houses"] = _copy(
                "basedata_house",
                HOUSE_COLS,
                _house_rows(grids, have_h, size["houses"] - have_h, now),
            )
    houses = list(
        House.objects.filter(scope_code__startswith=REGION)
        .order_by("pk")
        .values_list("pk", "grid_id", "scope_code")
    )
    have_p = Person.objects.filter(scope_code__startswith=REGION).count()
    step = 200_000
    for start in range(have_p, size["persons"], step):
        with transaction.atomic():
            out["persons"] += _copy(
                "basedata_person",
                PERSON_COLS,
                _person_rows(grids, houses, start, min(step, size["persons"] - start), now),
            )
    # Tags: 2 % of persons, a quarter of them 严重精神障碍 (the township list measure).
    have_t = PersonTag.objects.filter(scope_code__startswith=REGION).count()
    want_t = size["persons"] // 50
    if have_t < want_t:
        kinds = list(TagKind.objects.values_list("pk", "code", "sensitive"))
        md = next(k for k in kinds if k[1] == "mental_disorder")
        with connection.cursor() as cur:
            cur.execute(
                "SELECT id, scope_code FROM basedata_person WHERE scope_code LIKE %s ORDER BY id",
                [REGION + "%"],
            )
            ids = cur.fetchall()[have_t * 50 :: 50][: want_t - have_t]

        def tag_rows():
            for j, (pid_, scope) in enumerate(ids):
                k = md if j % 4 == 0 else kinds[j % len(kinds)]
                if k[1] == "mental_disorder" and j % 4:
                    k = kinds[0]
                data = f'{{"risk_level": {j % 6}}}' if k is md else "{}"
                yield (
                    pid_,
                    k[0],
                    data,
                    now.date(),
                    None,
                    scope,
                    k[2],
                    None,
                    now.date() + dt.timedelta(days=j % 90 - 30),
                    now,
                )

        with transaction.atomic():
            out["tags"] = _copy("basedata_persontag",
                                ["person_id", "kind_id", "data", "since", "until", "scope_code",
                                 "sensitive", "last_visit_at", "next_visit_due", "created_at"], tag_rows())  # fmt: skip
    out["others"] = _generate_others(size, grids, now)
    if _pg():
        with connection.cursor() as cur:
            cur.execute(
                "ANALYZE basedata_person; ANALYZE basedata_house; ANALYZE basedata_persontag"
            )
    out["seconds"] = time.perf_counter() - t0
    # The rate of the run that made the data is kept beside it, so a reuse reports that run's.
    with connection.cursor() as cur:
        cur.execute(
            "CREATE TABLE IF NOT EXISTS bench_basedata_meta (k varchar(40) PRIMARY KEY, v text)"
        )
        made = out["persons"] + out["houses"] + out["tags"] + out["others"]
        if made:
            cur.execute("DELETE FROM bench_basedata_meta WHERE k = 'rate'")
            cur.execute("INSERT INTO bench_basedata_meta (k, v) VALUES ('rate', %s)",
                        [str(made / out["seconds"])])  # fmt: skip
        cur.execute("SELECT v FROM bench_basedata_meta WHERE k = 'rate'")
        row = cur.fetchone()
    out["rate"] = float(row[0]) if row else 0.0
    return out


# The rest of Datong's 12 M besides persons, houses and tags, per 9 M persons: organisations,
# places and things (城市部件), 0.32 M together.
OTHERS_PER_9M = {"organisation": 120_000, "place": 60_000, "thing": 140_000}


def _generate_others(size, grids, now) -> int:
    """Organisations, places and things in every grid, through ``core.bulk`` (COPY)."""
    from django.db import transaction

    from civicgrid.basedata import generate
    from civicgrid.basedata.models import Organisation, Place, Thing
    from civicgrid.core import bulk

    made = 0
    for model, key in ((Organisation, "organisation"), (Place, "place"), (Thing, "thing")):
        want = OTHERS_PER_9M[key] * size["persons"] // 9_000_000
        have = model.objects.filter(scope_code__startswith=REGION).count()
        for start in range(have, want, 50_000):
            rows = []
            for i in range(start, min(start + 50_000, want)):
                grid_pk, code = grids[i % len(grids)]
                row = {"address": f"基准路{i // 40}号", "lat": 30.0, "lng": 100.0,
                       "grid_id": grid_pk, "scope_code": code, "confirmed_at": now}  # fmt: skip
                if key == "organisation":
                    row.update(name=f"基准企业{i}", uscc=generate.uscc_for(REGION, i))
                elif key == "place":
                    row.update(name=f"基准场所{i}", kind="small")
                else:
                    row.update(code=f"BJ-{i:08d}", kind="manhole")
                rows.append(row)
            with transaction.atomic():
                bulk.insert_rows(model, rows)
            made += len(rows)
    return made


def baseline_copy_rate(grids, houses, now, n=20_000) -> float:
    """Rows/s of COPY of the same person rows without cryptography, into a scratch table."""
    from django.db import connection, transaction

    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute(
                "CREATE TEMP TABLE bench_person_plain AS SELECT * FROM basedata_person WHERE false"
            )
        rows = list(_person_rows(grids, houses, 50_000_000, n, now, plain=True))
        t = time.perf_counter()
        _copy("bench_person_plain", PERSON_COLS, rows)
        rate = n / (time.perf_counter() - t)
        with connection.cursor() as cur:
            cur.execute("DROP TABLE bench_person_plain")
    return rate


# --- measures ----------------------------------------------------------------------------------


def bench_lookups(size, worker, op, town, grids) -> list[dict]:
    from django.db import connection

    from civicgrid.basedata import generate, selectors, services

    rng = random.Random(7)
    numbers = [generate.id_for(REGION, rng.randrange(size["persons"])) for _ in range(400)]
    it = iter(numbers * 3)
    find = time_calls(lambda: services.person_find(next(it)), 400)
    idx = [services.id_index(n) for n in numbers]
    it2 = iter(idx * 3)

    def raw_find():
        with connection.cursor() as cur:
            cur.execute("SELECT * FROM basedata_person WHERE id_number_bidx = %s", [next(it2)])
            cur.fetchall()

    raw = time_calls(raw_find, 400)
    grid_code = grids[0][1]

    def roster():
        qs = selectors.person_list_for(worker, area=grid_code)
        rows = list(qs[:50])
        selectors.tags_for(worker, rows)
        [(p.id_number_mask, p.phone_mask) for p in rows]

    def raw_roster():
        with connection.cursor() as cur:
            cur.execute(
                "SELECT * FROM basedata_person WHERE scope_code = %s ORDER BY id DESC LIMIT 50",
                [grid_code],
            )
            ids = [r[0] for r in cur.fetchall()]
            cur.execute("SELECT * FROM basedata_persontag WHERE person_id = ANY(%s)" if _pg() else
                        f"SELECT * FROM basedata_persontag WHERE person_id IN ({','.join(map(str, ids)) or '0'})",
                        [ids] if _pg() else None)  # fmt: skip
            cur.fetchall()

    ros, ros_raw = time_calls(roster, 100), time_calls(raw_roster, 100)
    prefix = town.prefix

    def township():
        list(selectors.tag_list_for(op, kind="mental_disorder", area=prefix)[:50])

    def raw_township():
        with connection.cursor() as cur:
            cur.execute(
                "SELECT t.*, p.name, p.id_number_mask FROM basedata_persontag t JOIN basedata_person p ON p.id = t.person_id "
                "JOIN basedata_tagkind k ON k.id = t.kind_id WHERE k.code = %s AND t.scope_code LIKE %s "
                "ORDER BY t.next_visit_due, t.id LIMIT 50", ["mental_disorder", prefix + "%"])  # fmt: skip
            cur.fetchall()

    tw, tw_raw = time_calls(township, 100), time_calls(raw_township, 100)
    p95 = lambda xs: percentile(xs, 95) / 1000  # noqa: E731  (µs → ms)
    return [
        measure("basedata.person_lookup_p95", p95(find), "ms", baseline="raw SELECT by blind index",
                baseline_value=p95(raw), target="< 10 ms", ok=p95(find) < 10),
        measure("basedata.grid_roster_p95", p95(ros), "ms", baseline="raw SELECT 50 + tags",
                baseline_value=p95(ros_raw), target="< 50 ms", ok=p95(ros) < 50),
        measure("basedata.township_tag_list_p95", p95(tw), "ms", baseline="raw SELECT join",
                baseline_value=p95(tw_raw), target="< 100 ms", ok=p95(tw) < 100),
    ]  # fmt: skip


class _RSS:
    """Peak resident memory while a block runs (sampled every 20 ms), in MiB above the start."""

    def __enter__(self):
        self.start = self._now()
        self.peak = self.start
        self.stop = False
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()
        return self

    @staticmethod
    def _now() -> float:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize() / 2**20

    def _run(self):
        while not self.stop:
            self.peak = max(self.peak, self._now())
            time.sleep(0.02)

    def __exit__(self, *exc):
        self.stop = True
        self.t.join()
        self.growth = self.peak - self.start


def _import_file(n: int, offset: int, town) -> io.BytesIO:
    """``n`` person rows living in houses of ``town``: the importing operator's township (above
    100 grids the houses of the other townships lie outside their area and are refused)."""
    from openpyxl import Workbook

    from civicgrid.basedata import excel, generate
    from civicgrid.basedata.models import House

    prefix = town.code[:9]
    houses = list(House.objects.filter(scope_code__startswith=prefix).order_by("pk")
                  .values_list("address", "building", "unit", "room")[:5000])  # fmt: skip
    wb = Workbook(write_only=True)
    ws = wb.create_sheet()
    ws.append([h for h, *_ in excel.COLUMNS])
    for i in range(n):
        number = generate.id_for(REGION, 40_000_000 + offset + i)
        a, b, u, r = houses[i % len(houses)]
        ws.append(
            [
                f"导入{i}",
                "居民身份证",
                number,
                generate.phone_for(i),
                REGION,
                "流动人口",
                "群众",
                a,
                b,
                u,
                r,
            ]
        )
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    return buf


def _vacuum() -> None:
    """A previous run deleted its imported rows: vacuum, so this run meets the tables as
    autovacuum keeps them in service rather than strewn with dead rows."""
    from django.db import connection

    if _pg():
        with connection.cursor() as cur:
            cur.execute("VACUUM ANALYZE basedata_person")
            cur.execute("VACUUM ANALYZE basedata_changelog")


def bench_import(size, op, town, copy_rate: float) -> list[dict]:
    from civicgrid.basedata import excel
    from civicgrid.basedata.models import Person

    n = size["import"]
    small, big = _import_file(n // 4, 0, town), _import_file(n, n, town)
    _vacuum()
    with _RSS() as m_small:
        r1 = excel.import_persons(small, actor=op, commit=True)
    t = time.perf_counter()
    with _RSS() as m_big:
        r2 = excel.import_persons(big, actor=op, commit=True)
    secs = time.perf_counter() - t
    assert r1.ok and r2.ok, (r1.errors[:3], r2.errors[:3])
    rate = n / secs
    flat = m_big.growth <= max(2 * m_small.growth, m_small.growth + 64)
    Person.objects.filter(name__startswith="导入").delete()
    return [
        measure("basedata.excel_import_rows_per_s", rate, "rows/s", target=">= 5000 rows/s",
                baseline="COPY of the same person rows without cryptography or checks",
                baseline_value=copy_rate,
                ok=rate >= 5000 and flat, rows=n, seconds=round(secs, 1),
                peak_mem_growth_mib=round(m_big.growth, 1),
                peak_mem_growth_quarter_file_mib=round(m_small.growth, 1), memory_flat=flat,
                note="one streamed pass: validation, encryption, house linking, bulk writes in one transaction"),
    ]  # fmt: skip


def bench_rotation(size) -> list[dict]:
    from django.db import connection, connections

    from civicgrid.basedata import generate, rotation, services

    n = size["rotate"]
    rng = random.Random(9)
    numbers = [generate.id_for(REGION, rng.randrange(n)) for _ in range(200)]
    # The look-ups run in a process of their own, as a web worker's would: a thread beside the
    # rotation would wait for the interpreter lock the rotation holds, and time that instead.
    ctx = multiprocessing.get_context("fork")
    stop = ctx.Event()
    recv, send = ctx.Pipe(duplex=False)

    def looker():
        times = []
        try:
            with _keys("b2"):
                i = 0
                while not stop.is_set():
                    t = time.perf_counter()
                    p = services.person_find(numbers[i % len(numbers)])
                    assert p is not None and p.reveal_id_number()
                    times.append((time.perf_counter() - t) * 1000)
                    i += 1
                    time.sleep(0.002)
        finally:
            connections.close_all()
            send.send(times)

    # Baseline: the same look-ups with no rotation running.
    pending = iter(numbers * 2)
    with _keys("b2"):
        idle = time_calls(lambda: services.person_find(next(pending)).reveal_id_number(), 200)
    connections.close_all()  # the child opens its own connection
    child = ctx.Process(target=looker, daemon=True)
    with _keys("b2"):
        child.start()
        t = time.perf_counter()
        done = rotation.rotate(batch=2000, limit=n)
        secs = time.perf_counter() - t
        stop.set()
        times = recv.recv() if recv.poll(120) else []  # a crashed child: no samples, not ok
        child.join()
    with _keys("b1"):
        rotation.rotate(batch=5000)  # back under b1 for the next run
    with connection.cursor() as cur:
        t = time.perf_counter()
        cur.execute("UPDATE basedata_person SET phone_mask = phone_mask WHERE id IN "
                    "(SELECT id FROM basedata_person WHERE scope_code LIKE %s ORDER BY id LIMIT %s)",
                    [REGION + "%", n])  # fmt: skip
        raw_secs = time.perf_counter() - t
    p95 = percentile(times, 95) if times else float("nan")
    return [
        # 9 M persons re-encrypted within a night (8 h) needs 9e6 / 28,800 s = 313 rows/s.
        measure("basedata.key_rotation_rows_per_s", done / secs, "rows/s",
                baseline="raw UPDATE of the same rows", baseline_value=n / raw_secs, rows=done,
                target=f">= {ROTATION_TARGET:,} rows/s", ok=done / secs >= ROTATION_TARGET),
        measure("basedata.lookup_during_rotation_p95", p95, "ms", target="< 10 ms",
                baseline="the same look-ups with no rotation running, p95",
                baseline_value=percentile(idle, 95) / 1000, ok=bool(times) and p95 < 10,
                samples=len(times)),
    ]  # fmt: skip


def _run_in_own_database(scale: str) -> list[dict]:
    """On a PostgreSQL database not made for this bench, run it in ``bench_basedata_<persons>`` on
    the same server (created once and kept, like the cases bench's data), in a child process."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    from ._util import BenchDatabase

    persons = int(
        os.environ.get("BENCH_BASEDATA_PERSONS") or SIZES.get(scale, SIZES["full"])["persons"]
    )
    with BenchDatabase("basedata", n=persons, keep=True) as url:
        proc = subprocess.run(
            [sys.executable, "-m", "bench"],
            cwd=Path(__file__).resolve().parent.parent,
            env={**os.environ, "DATABASE_URL": url, "BENCH_ONLY": "basedata", "BENCH_SCALE": scale},
            stdout=subprocess.PIPE,
            text=True,
            check=False,
        )
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    out = [r for r in rows if r.get("name") != "machine"]
    if proc.returncode != 0 or not out:
        raise RuntimeError(f"basedata bench child failed (exit {proc.returncode}):\n{proc.stdout}")
    return out


def run(scale: str) -> list[dict]:
    from django.db import connection
    from django.utils import timezone

    if _pg() and "basedata" not in connection.settings_dict["NAME"]:
        return _run_in_own_database(scale)
    size = dict(SIZES.get(scale, SIZES["full"]))
    if os.environ.get("BENCH_BASEDATA_PERSONS"):
        size["persons"] = int(os.environ["BENCH_BASEDATA_PERSONS"])
        size["houses"] = size["persons"] * 5 // 18
    if not _pg():
        size = {k: min(v, SIZES["small"][k] // 5) for k, v in size.items()}
    now = timezone.now()
    with _keys("b1"):
        grids, worker, op, town = setup_territory(max(1, size["persons"] // PERSONS_PER_GRID))
        gen = generate_all(size, grids, now)
        from civicgrid.basedata.models import House

        houses = list(
            House.objects.filter(scope_code__startswith=REGION)
            .order_by("pk")
            .values_list("pk", "grid_id", "scope_code")[:10_000]
        )
        base_rate = baseline_copy_rate(grids, houses, now)
        made = gen["persons"] + gen["houses"] + gen["tags"] + gen["others"]
        rate = gen["rate"]
        out = [measure("basedata.generate_rows_per_s", rate, "rows/s",
                       baseline="COPY of the same person rows without cryptography",
                       baseline_value=base_rate, generated=gen, scale=size,
                       target=f">= {GENERATE_TARGET:,} rows/s", ok=rate >= GENERATE_TARGET,
                       note="encrypted (SM4-GCM ×2, SM3-HMAC ×2 per person) through COPY"
                       + ("" if made else "; data reused: the rate of the run that made it"))]  # fmt: skip
        out += bench_lookups(size, worker, op, town, grids)
        out += bench_import(size, op, town, base_rate)
    out += bench_rotation(size)
    return out
