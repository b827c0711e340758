"""Report intake through the production stack: 8 clients -> nginx -> gunicorn -> Django.

The stack is the one `make prod` runs (deploy/gunicorn.conf.py, the nginx site rendered by
scripts/render_deploy.py, DEBUG off, database cache), on free loopback ports, against a database of
its own holding the demo city (`bench_prod_demo`, kept and reused; PostgreSQL or SQLite as
configured). Measure: reports/s and p95 latency of POST /api/cases/ by 8 concurrent grid-worker
clients, each report with its own client_id; baseline: single-row INSERTs of a case row by 8
threads on the same database for the same time (bench/cases.py's). Rows created are deleted again.
Then the load drill's mix (scripts/load_drill.py, bounded): case list and queue p95, errors.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RPS_TARGET = 100.0
P95_TARGET_MS = 200.0
CLIENTS = 8
LOAD_P95_TARGET_MS = 100.0


def _log(msg: str) -> None:
    print(f"# prod: {msg}", file=sys.stderr, flush=True)


def run(scale: str) -> list[dict]:
    from bench._util import BenchDatabase, measure

    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        subprocess.run(["bash", "scripts/ensure-nginx.sh"], cwd=ROOT, check=True)
    with BenchDatabase("prod", n=0, keep=True) as url:
        env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings.base"}
        proc = subprocess.run(
            [sys.executable, "-m", "bench.prod", "--child", scale],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
            check=False,
        )
    if proc.returncode != 0:
        raise RuntimeError(f"prod bench child failed:\n{proc.stdout}")
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    ok = r["api_errors"] == 0 and r["api_rps"] >= RPS_TARGET and r["api_p95_ms"] < P95_TARGET_MS
    common = {
        "database": r["database"],
        "clients": CLIENTS,
        "server": r["server"],
        "api_requests": r["api_created"],
        "api_errors": r["api_errors"],
        "api_seconds": r["api_s"],
        "api_p50_ms": r["api_p50_ms"],
        "loadavg": r["loadavg"],
    }
    return [
        measure(
            "prod.intake_rps",
            r["api_rps"],
            "req/s",
            baseline=f"single-row INSERTs of a case row, {CLIENTS} threads, own connections",
            baseline_value=r["insert_rps"],
            target=f">= {RPS_TARGET:.0f} reports/s with p95 < {P95_TARGET_MS:.0f} ms, 0 errors",
            ok=ok,
            api_p95_ms=r["api_p95_ms"],
            inserts=r["inserts"],
            **common,
        ),
        measure(
            "prod.intake_p95",
            r["api_p95_ms"],
            "ms",
            baseline="raw INSERT mean latency (8 threads)",
            baseline_value=round(1000 * CLIENTS / r["insert_rps"], 3) if r["insert_rps"] else None,
            target=f"< {P95_TARGET_MS:.0f} ms",
            ok=r["api_errors"] == 0 and r["api_p95_ms"] < P95_TARGET_MS,
            **common,
        ),
        *load_mix(scale),
    ]


def load_mix(scale: str) -> list[dict]:
    """The load drill's city-peak mix (scripts/load_drill.py: its own cluster with the demo city,
    the `make prod` stack, 46 locust users), bounded: the case list and queue p95 against the same
    pages on the idle stack, and the errors of the whole mix."""
    from bench._util import measure

    seconds = "45" if scale == "full" else "20"
    proc = subprocess.run(
        [sys.executable, "scripts/load_drill.py", "--seconds", seconds, "--max-requests", "4000"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise RuntimeError(f"load drill failed (exit {proc.returncode}):\n{proc.stdout}")
    r = json.loads(lines[-1])
    p95, errors = r["case_list_and_queue_p95_ms"], r["errors"]
    common = {"requests": r["requests"], "rps": r["rps"], "users": r["users"],
              "loadavg": r["loadavg_after"], "mix_p50_ms": r["p50_ms"], "mix_p95_ms": r["p95_ms"]}  # fmt: skip
    return [
        measure(
            "prod.load_mix_queue_p95",
            p95 if p95 is not None else float("nan"),
            "ms",
            baseline="the same case list and queue pages, one operator, idle stack, p95",
            baseline_value=r.get("idle_case_list_and_queue_p95_ms"),
            target=f"< {LOAD_P95_TARGET_MS:.0f} ms under the mix, 0 errors",
            ok=p95 is not None and p95 < LOAD_P95_TARGET_MS and errors == 0,
            errors=errors,
            **common,
        ),
        measure(
            "prod.load_mix_errors",
            errors,
            "requests",
            baseline="requests sent by the mix",
            baseline_value=r["requests"],
            target="0 errors",
            ok=errors == 0 and r["requests"] > 0,
            error_kinds=r.get("error_kinds"),
            **common,
        ),
    ]


def _child(scale: str) -> None:
    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from bench import cases as cases_bench
    from bench._stack import Stack
    from civicgrid.cases.models import Case

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    if not Case.objects.exists():
        _log("seeding the demo city")
        call_command("seed_demo", "--if-empty", verbosity=0)
    seconds = 20.0 if scale == "full" else 10.0
    first_new = (Case.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    reporters = cases_bench._reporters(CLIENTS)
    connection.close()
    with Stack() as stack:
        workers = int(stack.env.get("WEB_CONCURRENCY") or 0) or 2 * (os.cpu_count() or 1) + 1
        api = cases_bench.drive_reports(reporters, stack.port, seconds, 20_000, warm=4 * workers)
        loadavg = os.getloadavg()[0]
    try:
        inserts = cases_bench._drive_inserts(seconds, 20_000)
    finally:
        cases_bench._delete_cases_from(first_new)
    result = {
        "database": connection.vendor,
        **api,
        **inserts,
        "server": f"nginx -> gunicorn {workers} sync workers (deploy/gunicorn.conf.py)",
        "loadavg": round(loadavg, 2),
    }
    print(json.dumps(result, ensure_ascii=False, default=str))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        _child(sys.argv[2])
    else:
        print(json.dumps(run(os.environ.get("BENCH_SCALE", "small")), ensure_ascii=False, indent=1))
