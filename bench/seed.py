"""Seeding the demo city: `seed_demo --grids 10000` (small: 1,000) into a fresh database.

Baseline, in the same run and the same fresh database: bulk_create of the same number of empty Grid
rows (no geometry, no people). Target: under 120 s on the current database (SQLite or PostgreSQL).

The seeding runs in a child process against a database created for the run (a temporary SQLite
file, or a new PostgreSQL database on the configured server, dropped afterwards), so the bench
neither needs nor touches the data in the configured database.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 120.0


def run(scale: str) -> list[dict]:
    from bench._util import BenchDatabase, measure

    grids = 10_000 if scale == "full" else 1_000
    with BenchDatabase("seed") as url:
        env = {**os.environ, "DATABASE_URL": url}
        env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
        proc = subprocess.run(
            [sys.executable, "-m", "bench.seed", "--child", str(grids)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    if proc.returncode != 0:
        raise RuntimeError(f"seed bench child failed:\n{proc.stdout}\n{proc.stderr}")
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    return [
        measure(
            f"seed.demo_city_{grids}_grids",
            r["seed_s"],
            "s",
            baseline=f"bulk_create of {grids} empty Grid rows",
            baseline_value=r["baseline_s"],
            target=f"< {TARGET_S:.0f} s",
            ok=r["seed_s"] < TARGET_S,
            database=r["database"],
            geometry_s=round(r["plan_s"], 3),
            areas=r["areas"],
            users=r["users"],
            grid_members=r["members"],
        )
    ]


def _child(grids: int) -> None:
    """Runs in the fresh database: migrate, baseline, then the real thing."""
    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from civicgrid.core.demo.territory import plan_territory
    from civicgrid.people.models import GridMember, User
    from civicgrid.territory.models import Area, Grid

    call_command("migrate", verbosity=0)

    with transaction.atomic():
        city = Area.objects.create(code="149900000000", name="基线市", level=1)
        county = Area.objects.create(code="149901000000", name="基线区", level=2, parent=city)
        town = Area.objects.create(code="149901001000", name="基线街道", level=3, parent=county)
        comms = Area.objects.bulk_create(
            Area(code=f"149901001{i:03d}", name=f"基线社区{i}", level=4, parent=town)
            for i in range(1, grids // 999 + 2)
        )
        rows = [
            Grid(
                code=f"{comms[i // 999].code}{i % 999 + 1:03d}",
                name=f"网格{i}",
                area=comms[i // 999],
            )
            for i in range(grids)
        ]
        started = time.perf_counter()
        Grid.objects.bulk_create(rows, batch_size=500)
        baseline_s = time.perf_counter() - started
    Grid.objects.filter(area__in=comms).delete()
    for level in (4, 3, 2, 1):
        Area.objects.filter(code__startswith="1499", level=level).delete()

    started = time.perf_counter()
    plan_territory(grids, 20260101)
    plan_s = time.perf_counter() - started

    started = time.perf_counter()
    call_command("seed_demo", grids=grids, cases=0, verbosity=0)
    seed_s = time.perf_counter() - started
    print(
        json.dumps(
            {
                "seed_s": seed_s,
                "baseline_s": baseline_s,
                "plan_s": plan_s,
                "database": connection.vendor,
                "areas": Area.objects.count(),
                "users": User.objects.count(),
                "members": GridMember.objects.count(),
            }
        )
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        _child(int(sys.argv[2]))
    else:
        print(json.dumps(run(os.environ.get("BENCH_SCALE", "full")), ensure_ascii=False, indent=1))
