"""Disputes at Yuncheng's size: the workspace list page and a register export.

Runs in the configured database (city code 1498, kept for the next run). Sizes (BENCH_SCALE):
small 10 k disputes, medium 30 k, full 100 k.

- ``mediation.list_p95_ms``: GET /api/mediation/?limit=50 as a district operator (the principal,
  the scope filter, the keyset page and the allowed actions of each row), next to the raw SQL of
  the same page. Target: p95 < 50 ms at 100 k on PostgreSQL.
- ``mediation.export_peak_memory``: the 调处化解登记簿 written to .xlsx for every row and for a
  quarter of them; peak Python memory (tracemalloc) must stay flat (ratio < 1.5), i.e. the export
  streams instead of holding the rows.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import tempfile
import time
import tracemalloc

from ._util import measure, percentile, time_calls

SIZES = {"small": 10_000, "medium": 30_000, "full": 100_000}
CITY = "1498"
DISTRICT = "149801"
TOWNS = 10
COMMS = 10  # per town
GRIDS = 10  # per community


def _setup():
    from civicgrid.people.models import Center, Role, RoleAssignment, User
    from civicgrid.territory.models import Area, Grid

    city, _ = Area.objects.get_or_create(
        code=f"{CITY}00000000", defaults={"name": "基准调解市", "level": 1}
    )
    dist, _ = Area.objects.get_or_create(
        code=f"{DISTRICT}000000", defaults={"name": "基准调解区", "level": 2, "parent": city}
    )
    dcenter, _ = Center.objects.get_or_create(area=dist, defaults={"name": "基准区矛调中心"})
    centers, grids = [], []
    for t in range(1, TOWNS + 1):
        town, _ = Area.objects.get_or_create(
            code=f"{DISTRICT}{t:03d}000",
            defaults={"name": f"基准镇{t}", "level": 3, "parent": dist},
        )
        c, _ = Center.objects.get_or_create(area=town, defaults={"name": f"基准镇{t}矛调中心"})
        centers.append(c)
        for k in range(1, COMMS + 1):
            comm, _ = Area.objects.get_or_create(
                code=f"{DISTRICT}{t:03d}{k:03d}",
                defaults={"name": f"基准村{t}-{k}", "level": 4, "parent": town},
            )
            for g in range(1, GRIDS + 1):
                grid, _ = Grid.objects.get_or_create(
                    code=f"{comm.code}{g:03d}", defaults={"name": f"网格{t}-{k}-{g}", "area": comm}
                )
                grids.append(grid)
    op, _ = User.objects.get_or_create(username="bench_med_operator")
    RoleAssignment.objects.get_or_create(user=op, role=Role.OPERATOR, area=dist, center=dcenter)
    return op, centers, grids


def _generate(n: int, centers, grids) -> int:
    """Disputes with a register step each (through ``bulk_commit``) and two parties."""
    from civicgrid.mediation.models import Dispute, Party
    from civicgrid.mediation.workflow import DISPUTES

    have = Dispute.objects.filter(scope_code__startswith=DISTRICT).count()
    if have >= n:
        return 0
    rng = random.Random(1498)
    now = dt.datetime.now(dt.UTC)
    made = 0
    for start in range(have, n, 5000):
        plans, parties = [], []
        for i in range(start, min(n, start + 5000)):
            grid = grids[rng.randrange(len(grids))]
            center = centers[int(grid.code[6:9]) - 1]
            t = now - dt.timedelta(minutes=rng.randrange(60 * 24 * 365))
            d = Dispute(
                number=f"BM{i:010d}",
                source="visit",
                kind="neighbour",
                title=f"基准纠纷{i}",
                facts="基准数据：邻里纠纷，请求调解。" * 3,
                grid=grid,
                scope_code=grid.code,
                center=center,
                owner_code=center.area.code,
                level=3,
                first_level=3,
                registered_at=t,
                updated_at=t,
                due_at=t + dt.timedelta(days=1),
            )
            plans.append((d, [{"action": "register", "role": "center", "created_at": t}]))
        DISPUTES.bulk_commit(plans, batch_size=2000)
        for d, _s in plans:
            parties += [
                Party(
                    dispute=d,
                    role="applicant",
                    name="申请人",
                    id_number_mask="140213********1234",
                    phone_mask="139****0012",
                ),
                Party(dispute=d, role="respondent", name="被申请人"),
            ]
        Party.objects.bulk_create(parties, batch_size=5000)
        made += len(plans)
    return made


def _raw_page_sql(op_prefix: str):
    from django.db import connection

    sql = (
        "SELECT d.id, d.number, d.state, d.version, d.title, d.registered_at, c.name "
        "FROM mediation_dispute d JOIN people_center c ON c.id = d.center_id "
        "WHERE d.scope_code LIKE %s OR d.owner_code LIKE %s "
        "ORDER BY d.registered_at DESC, d.id DESC LIMIT 50"
    )

    def run():
        with connection.cursor() as cur:
            cur.execute(sql, [op_prefix + "%", op_prefix + "%"])
            return cur.fetchall()

    return run


def bench_list(op, n: int) -> list[dict]:
    from django.test import Client, override_settings

    with override_settings(ALLOWED_HOSTS=["localhost"]):
        return _bench_list(Client(HTTP_HOST="localhost"), op, n)


def _bench_list(c, op, n: int) -> list[dict]:
    c.force_login(op)
    url = "/api/mediation/?limit=50"
    first = c.get(url)
    assert first.status_code == 200 and len(first.json()["items"]) == 50, first.content[:300]
    nxt = first.json()["next_cursor"]
    api = time_calls(lambda: c.get(url), 60)
    deep = time_calls(lambda: c.get(f"{url}&cursor={nxt}"), 30)
    raw = time_calls(_raw_page_sql(DISTRICT), 60)
    p95, raw95 = percentile(api, 95) / 1000, percentile(raw, 95) / 1000
    return [
        measure("mediation.list_p95_ms", p95, "ms", baseline="raw SQL of the same page",
                baseline_value=raw95, target="< 50 ms at 100 k disputes (PostgreSQL)",
                ok=p95 < 50, disputes=n, next_page_p95_ms=round(percentile(deep, 95) / 1000, 3)),
    ]  # fmt: skip


def bench_export(op, n: int) -> list[dict]:
    from civicgrid.mediation import registers
    from civicgrid.people.access import Principal

    p = Principal.of(op)
    start, end = dt.date(2000, 1, 1), dt.date(2100, 1, 1)
    reg = registers.MEDIATION

    def peak(limit_rows: int | None, trace: bool = True) -> tuple[float, int, float]:
        original = reg.queryset

        def limited(principal, s, e):
            qs = original(principal, s, e)
            return qs[:limit_rows] if limit_rows else qs

        reg.queryset = limited  # type: ignore[method-assign]
        try:
            with tempfile.NamedTemporaryFile(suffix=".xlsx") as tmp:
                if trace:
                    tracemalloc.start()
                t = time.perf_counter()
                rows = registers.write_xlsx(reg, p, start, end, tmp.name)
                took = time.perf_counter() - t
                top = tracemalloc.get_traced_memory()[1] if trace else 0
                if trace:
                    tracemalloc.stop()
        finally:
            reg.queryset = original  # type: ignore[method-assign]
        return top / 2**20, rows, took

    small_mb, small_rows, _t = peak(max(1, n // 4))
    big_mb, big_rows, _t = peak(None)
    # The rate from a run of its own: tracemalloc slows every allocation several times over.
    _mb, _rows, took = peak(None, trace=False)
    ratio = big_mb / small_mb if small_mb else None
    return [
        measure("mediation.export_peak_memory", big_mb, "MiB",
                baseline=f"peak exporting {small_rows} rows", baseline_value=small_mb,
                target="flat: peak(all) / peak(a quarter) < 1.5", ok=bool(ratio and ratio < 1.5),
                rows=big_rows),
        # a year's register of a county (~20,000 disputes) in under 10 s
        measure("mediation.export_rows_per_s", big_rows / took if took else 0.0, "rows/s",
                rows=big_rows, target=">= 2,000 rows/s", ok=bool(took) and big_rows / took >= 2000),
    ]  # fmt: skip


def run(scale: str) -> list[dict]:
    n = SIZES.get(scale, SIZES["full"])
    if os.environ.get("BENCH_MEDIATION_DISPUTES"):
        n = int(os.environ["BENCH_MEDIATION_DISPUTES"])
    op, centers, grids = _setup()
    t = time.perf_counter()
    made = _generate(n, centers, grids)
    gen_s = time.perf_counter() - t
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("ANALYZE mediation_dispute; ANALYZE mediation_party")
    # like the cases bench: a developer rerunning it after a change gets the data within minutes
    out = [measure("mediation.generate_s", gen_s, "s", generated=made, disputes=n,
                   target="< 600 s", ok=gen_s < 600)]  # fmt: skip
    out += bench_list(op, n)
    out += bench_export(op, n)
    return out
