"""Small helpers shared by benchmarks."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(p / 100 * (len(s) - 1))))
    return s[k]


def time_calls(fn: Callable[[], object], n: int) -> list[float]:
    """Wall time of n calls, in microseconds each."""
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1e6)
    return out


def measure(
    name, value, unit, *, baseline=None, baseline_value=None, target=None, ok=None, **extra
):
    ratio = None
    if baseline_value:
        ratio = round(value / baseline_value, 3)
    return {
        "name": name,
        "value": round(value, 3) if isinstance(value, float) else value,
        "unit": unit,
        "baseline": baseline,
        "baseline_value": round(baseline_value, 3)
        if isinstance(baseline_value, float)
        else baseline_value,
        "ratio": ratio,
        "target": target,
        "ok": ok,
        **extra,
    }


mean = statistics.fmean


class BenchDatabase:
    """A database URL of the configured kind, for a bench's child process.

    Given a size ``n`` the database is named after the bench and the size and kept when ``keep`` is
    true, so a later run can reuse its (slow to generate) data; otherwise a fresh one is created and
    always removed on exit.
    """

    def __init__(self, label: str, *, n: int | None = None, keep: bool = False) -> None:
        self.label, self.n, self.keep = label, n, keep
        self.tmp = None

    def __enter__(self) -> str:
        import os
        import tempfile
        import uuid
        from pathlib import Path
        from urllib.parse import quote

        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
        django.setup()
        from django.db import connection

        self.vendor = connection.vendor
        if self.vendor == "sqlite":
            if self.n is not None:
                tag = os.environ.get("BENCH_DB_TAG", "")
                name = f"civicgrid-bench-{self.label}-{self.n}{'-' + tag if tag else ''}.sqlite3"
                self.path = Path(tempfile.gettempdir()) / name
            else:
                self.tmp = tempfile.TemporaryDirectory(prefix=f"civicgrid-bench-{self.label}-")
                self.path = Path(self.tmp.name) / "bench.sqlite3"
            return f"sqlite:///{self.path}"
        if self.vendor != "postgresql":
            raise RuntimeError(f"unsupported database {self.vendor}")
        suffix = self.n if self.n is not None else uuid.uuid4().hex[:8]
        self.name = f"bench_{self.label}_{suffix}"
        # BENCH_DB_TAG keeps the kept databases of people sharing one server apart.
        tag = "".join(
            c for c in os.environ.get("BENCH_DB_TAG", "").lower() if c.isalnum() or c == "_"
        )
        if tag:
            self.name += f"_{tag}"
        with connection._nodb_cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [self.name])
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{self.name}"')
        s = connection.settings_dict
        auth = quote(s["USER"] or "", safe="")
        if s.get("PASSWORD"):
            auth += ":" + quote(s["PASSWORD"], safe="")
        return (
            f"postgres://{auth}@{s.get('HOST') or 'localhost'}:{s.get('PORT') or 5432}/{self.name}"
        )

    def __exit__(self, *exc) -> None:
        from pathlib import Path

        if self.n is not None and self.keep:
            return
        if self.vendor == "sqlite":
            if self.tmp is not None:
                self.tmp.cleanup()
            else:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            return
        from django.db import connection

        connection.close()
        with connection._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
