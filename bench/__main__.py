"""`make bench`: run every bench/*.py module, print one JSON object per measure, save var/bench/latest.json.

Each module exposes ``run(scale: str) -> list[dict]``; a measure carries its baseline measured in the same
run. BENCH_SCALE=small gives a quick run; BENCH_ONLY=locate,coverage selects modules.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import platform
import sys
import time
import traceback
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")


def machine() -> dict:
    import multiprocessing

    mem = ""
    try:
        with open("/proc/meminfo") as f:
            mem = f"{int(f.readline().split()[1]) // 1024 // 1024} GiB"
    except OSError:
        pass
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "")
    except OSError:
        pass
    from django.db import connection

    return {
        "name": "machine",
        "python": platform.python_version(),
        "cpus": multiprocessing.cpu_count(),
        "cpu": cpu,
        "memory": mem,
        "database": connection.vendor,
        "scale": os.environ.get("BENCH_SCALE", "full"),
    }


def main() -> int:
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    scale = os.environ.get("BENCH_SCALE", "full")
    only = {x for x in os.environ.get("BENCH_ONLY", "").split(",") if x}
    results: list[dict] = [machine()]
    print(json.dumps(results[0], ensure_ascii=False), flush=True)
    failed = False
    for mod in sorted(pkgutil.iter_modules([str(ROOT / "bench")]), key=lambda m: m.name):
        if mod.name.startswith("_") or (only and mod.name not in only):
            continue
        module = importlib.import_module(f"bench.{mod.name}")
        if not hasattr(module, "run"):
            continue
        started = time.perf_counter()
        try:
            measures = module.run(scale)
        except Exception:  # one broken bench must not hide the others' figures
            traceback.print_exc()
            measures = [{"name": f"{mod.name}.error", "ok": False}]
            failed = True
        for m in measures:
            m.setdefault("module", mod.name)
            results.append(m)
            print(json.dumps(m, ensure_ascii=False), flush=True)
        print(
            f"# {mod.name}: {time.perf_counter() - started:.1f}s",
            file=sys.stderr,
            flush=True,
        )
    out = ROOT / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, ensure_ascii=False, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
