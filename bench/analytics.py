"""Analytics: the dashboard's KPI tiles for the whole city over one month, and big exports.

Data: the demo city generator (``seed_demo --grids 10000 --cases 1000000``; small: 1,500 grids,
100,000 cases), which simulates every case's life with the engine's rules over the last 120
days, so the last complete month holds about a quarter of the cases (~250,000 at full scale).
It runs in a database created for the run (a temporary SQLite file, or a new PostgreSQL
database on the configured server, dropped afterwards), then ``ANALYZE``.

Measured, in the same run:

- ``kpi_tiles_month``: the nine tile values (受理数, 立案数, 处办率, 结案率, 按期结案率, 超期数,
  返工率, 满意率, 平均处置时长) for the whole city over the last complete month, computed by
  ``indicators.values`` exactly as the dashboard does; best of 3 after one warm-up. Also
  reported: the same with 环比 and 同比 (three periods, as the tiles show them), every indicator,
  and the tiles for the running month to date (the dashboard's default view).
  Baseline: DuckDB computing the same figures from a Parquet export of the same rows (cases,
  the action-log rows the month-end state needs, the working-hours table), with SQL written
  independently of the Django code; every figure must agree (counts exactly, hours to 1e-6).
- ``export_100k_rows``: the background cases export (CSV, then Excel) of about 100,000 rows,
  peak Python memory by tracemalloc. Baseline: the peak of holding the same rows in a list.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 1.0
SIZES = {"full": (1_000_000, 10_000), "small": (100_000, 1_500)}
EXPORT_ROWS = 100_000


def run(scale: str) -> list[dict]:
    from bench._util import measure

    cases, grids = SIZES.get(scale, SIZES["full"])
    with _FreshDatabase() as url:
        env = {**os.environ, "DATABASE_URL": url}
        env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
        proc = subprocess.run(
            [sys.executable, "-m", "bench.analytics", "--child", str(cases), str(grids)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    if proc.returncode != 0:
        raise RuntimeError(f"analytics bench child failed:\n{proc.stdout}\n{proc.stderr}")
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    return [
        measure(
            f"analytics.kpi_tiles_month_{cases}_cases",
            r["tiles_s"],
            "s",
            baseline="DuckDB, same figures from a Parquet export of the same rows",
            baseline_value=r["duckdb_s"],
            target=f"< {TARGET_S:.0f} s",
            ok=r["tiles_s"] < TARGET_S and r["agree"],
            database=r["database"],
            month=r["month"],
            cases_in_month=r["cases_in_month"],
            action_rows=r["action_rows"],
            with_comparisons_s=r["report_s"],
            all_indicators_s=r["all_s"],
            month_to_date_s=r.get("month_to_date_s"),
            figures_agree=r["agree"],
            differences=r["differences"],
            seed_s=r["seed_s"],
        ),
        measure(
            "analytics.export_100k_rows_peak_memory",
            r["csv_peak_mib"],
            "MiB",
            baseline="the same rows held in a Python list",
            baseline_value=r["list_peak_mib"],
            target="< 25 % of baseline (flat)",
            ok=r["csv_peak_mib"] < 0.25 * r["list_peak_mib"]
            and r["xlsx_peak_mib"] < 0.25 * r["list_peak_mib"],
            rows=r["export_rows"],
            csv_s=r["csv_s"],
            xlsx_s=r["xlsx_s"],
            xlsx_peak_mib=r["xlsx_peak_mib"],
        ),
    ]


class _FreshDatabase:
    """A URL for a new, empty database of the configured kind; removed on exit."""

    def __enter__(self) -> str:
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
        django.setup()
        from django.db import connection

        self.vendor = connection.vendor
        if self.vendor == "sqlite":
            self.tmp = tempfile.TemporaryDirectory(prefix="civicgrid-bench-analytics-")
            return f"sqlite:///{self.tmp.name}/bench.sqlite3"
        if self.vendor != "postgresql":
            raise RuntimeError(f"unsupported database {self.vendor}")
        s = connection.settings_dict
        self.name = f"bench_analytics_{uuid.uuid4().hex[:8]}"
        self._admin(f'CREATE DATABASE "{self.name}"')
        auth = quote(s["USER"] or "", safe="")
        if s.get("PASSWORD"):
            auth += ":" + quote(s["PASSWORD"], safe="")
        host = s.get("HOST") or "localhost"
        port = s.get("PORT") or 5432
        return f"postgres://{auth}@{host}:{port}/{self.name}"

    def _admin(self, sql: str) -> None:
        from django.db import connection

        with connection._nodb_cursor() as cursor:
            cursor.execute(sql)

    def __exit__(self, *exc) -> None:
        if self.vendor == "sqlite":
            self.tmp.cleanup()
        else:
            from django.db import connection

            connection.close()
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


# --- the child process ----------------------------------------------------------------------


def _child(cases: int, grids: int) -> None:
    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    call_command("seed_demo", grids=grids, cases=cases, verbosity=0)
    seed_s = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    result = {"database": connection.vendor, "seed_s": round(seed_s, 1)}
    with tempfile.TemporaryDirectory(prefix="civicgrid-bench-parquet-") as tmp:
        result.update(measure_tiles(Path(tmp)))
    result.update(measure_exports())
    print(json.dumps(result, ensure_ascii=False, default=str))


def _setup():
    import datetime as dt

    from django.utils import timezone

    from civicgrid.analytics.periods import period_from
    from civicgrid.people.models import User

    user = User.objects.filter(is_superuser=True).order_by("pk").first()
    today = timezone.localdate()
    month = period_from("month", (today.replace(day=1) - dt.timedelta(days=1)).isoformat())
    return user, month


def _best(fn, n: int = 3) -> tuple[float, object]:
    fn()  # warm-up: caches, the working-hours table
    best, out = math.inf, None
    for _ in range(n):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def measure_tiles(tmp: Path) -> dict:
    from django.utils import timezone

    from civicgrid.analytics import indicators
    from civicgrid.analytics.periods import period_from
    from civicgrid.analytics.selectors import Filters
    from civicgrid.cases.models import Case

    user, month = _setup()
    now = timezone.now()
    tiles_s, values = _best(
        lambda: indicators.values(user, month, Filters(), now=now, keys=indicators.TILES)
    )
    report_s, _rep = _best(
        lambda: indicators.report(user, month, Filters(), now=now, keys=indicators.TILES)
    )
    all_s, everything = _best(lambda: indicators.values(user, month, Filters(), now=now))
    this_month = period_from("month", timezone.localdate(now).isoformat())
    mtd_s, _v = _best(
        lambda: indicators.values(user, this_month, Filters(), now=now, keys=indicators.TILES)
    )
    in_month = Case.objects.filter(reported_at__gte=month.start, reported_at__lt=month.end).count()
    action_rows = _export_parquet(tmp, month.until(now))
    duck_s, duck = _best(lambda: duckdb_figures(tmp, month.start, month.until(now)))
    differences = compare(everything, duck)
    return {
        "month": month.label,
        "cases_in_month": in_month,
        "tiles_s": round(tiles_s, 4),
        "report_s": round(report_s, 4),
        "all_s": round(all_s, 4),
        "month_to_date_s": round(mtd_s, 4),
        "duckdb_s": round(duck_s, 4),
        "action_rows": action_rows,
        "agree": not differences,
        "differences": differences,
        "tiles": {k: values[k] for k in indicators.TILES},
    }


FIGURES = (
    "received",
    "filed",
    "filed_on_time_rate",
    "handled_rate",
    "due",
    "closed",
    "close_rate",
    "on_time_close_rate",
    "overdue",
    "rework_rate",
    "extension_rate",
    "self_handled_rate",
    "satisfaction_rate",
    "duration_mean_hours",
    "duration_p90_hours",
    "duration_mean_work_hours",
    "duration_p90_work_hours",
)


def compare(django_values: dict, duck_values: dict) -> dict:
    out = {}
    for k in FIGURES:
        a, b = django_values.get(k), duck_values.get(k)
        if a is None or b is None:
            if a is not b:
                out[k] = [a, b]
        elif isinstance(a, int) and not isinstance(a, bool):
            if a != b:
                out[k] = [a, b]
        elif not math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6):
            out[k] = [a, b]
    return out


def _cell(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return int(v)
    if hasattr(v, "timestamp"):
        return repr(v.timestamp())
    return v


def _export_parquet(tmp: Path, until) -> int:
    """Cases, the action rows that reconstruct states at ``until`` and the working-hours table,
    as Parquet files (CSV from the database cursor, converted by DuckDB)."""
    import csv

    import duckdb

    from civicgrid.analytics.models import WorkDay
    from civicgrid.cases.models import Case, CaseAction

    # Timestamps leave as exact epoch seconds (datetime.timestamp()), so the bounds compare
    # exactly as in the database, not through a floating-point date function.
    cases = Case.objects.values_list(
        "id",
        "state",
        "reported_at",
        "filed_at",
        "closed_at",
        "updated_at",
        "response_due",
        "final_due",
        "rework_count",
        "extension_count",
        "self_closed",
        "satisfaction",
    )
    actions = CaseAction.objects.filter(case__updated_at__gte=until).values_list(
        "id", "case_id", "to_state", "created_at"
    )
    days = WorkDay.objects.values_list(
        "day", "hours_before", "s1", "e1", "s2", "e2", "s3", "e3", "s4", "e4"
    )
    n_actions = 0
    for name, qs, header in (
        ("cases", cases, "id,state,rep,fil,clo,upd,rdue,fdue,rework,ext,self_closed,sat"),
        ("actions", actions, "id,case_id,to_state,t"),
        ("workday", days, "day,hb,s1,e1,s2,e2,s3,e3,s4,e4"),
    ):
        path = tmp / f"{name}.csv"
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(header.split(","))
            n = 0
            for row in qs.iterator(chunk_size=5000):
                w.writerow([_cell(v) for v in row])
                n += 1
        if name == "actions":
            n_actions = n
        duckdb.sql(
            f"COPY (SELECT * FROM read_csv('{path}', header = true, auto_detect = true)) "
            f"TO '{tmp / name}.parquet' (FORMAT parquet)"
        )
    return n_actions


DUCK_SQL = """
WITH c AS (SELECT * FROM read_parquet('{d}/cases.parquet')),
m AS (
    SELECT *, (rep >= {s} AND rep < {t}) AS r, (fil >= {s} AND fil < {t}) AS f,
              (clo >= {s} AND clo < {t}) AS k
    FROM c
    WHERE (rep >= {s} AND rep < {t}) OR (fil >= {s} AND fil < {t}) OR (clo >= {s} AND clo < {t})
),
last_before AS (
    SELECT case_id, to_state FROM read_parquet('{d}/actions.parquet') WHERE t < {t}
    QUALIFY ROW_NUMBER() OVER (PARTITION BY case_id ORDER BY t DESC, id DESC) = 1
),
at_end AS (
    SELECT c.*, CASE WHEN c.upd < {t} THEN c.state ELSE lb.to_state END AS st
    FROM c LEFT JOIN last_before lb ON lb.case_id = c.id
    WHERE c.rep < {t} AND (c.clo IS NULL OR c.clo >= {t})
),
w AS (SELECT * FROM read_parquet('{d}/workday.parquet')),
d AS (
    SELECT (m.clo - m.fil) / 3600.0 AS nat,
           (wc.hb + (least(greatest(m.clo - wc.day * 86400 - wc.s1, 0), wc.e1 - wc.s1)
                   + least(greatest(m.clo - wc.day * 86400 - wc.s2, 0), wc.e2 - wc.s2)
                   + least(greatest(m.clo - wc.day * 86400 - wc.s3, 0), wc.e3 - wc.s3)
                   + least(greatest(m.clo - wc.day * 86400 - wc.s4, 0), wc.e4 - wc.s4)) / 3600.0)
         - (wf.hb + (least(greatest(m.fil - wf.day * 86400 - wf.s1, 0), wf.e1 - wf.s1)
                   + least(greatest(m.fil - wf.day * 86400 - wf.s2, 0), wf.e2 - wf.s2)
                   + least(greatest(m.fil - wf.day * 86400 - wf.s3, 0), wf.e3 - wf.s3)
                   + least(greatest(m.fil - wf.day * 86400 - wf.s4, 0), wf.e4 - wf.s4)) / 3600.0)
           AS wrk
    FROM m
    JOIN w AS wc ON wc.day = CAST(floor(m.clo / 86400) AS INTEGER)
    JOIN w AS wf ON wf.day = CAST(floor(m.fil / 86400) AS INTEGER)
    WHERE m.k AND m.fil IS NOT NULL
),
dn AS (SELECT count(*) AS n FROM d)
SELECT
    (SELECT count(*) FILTER (WHERE r) FROM m) AS received,
    (SELECT count(*) FILTER (WHERE r AND state = 'rejected') FROM m) AS rejected,
    (SELECT count(*) FILTER (WHERE r AND state = 'merged') FROM m) AS merged,
    (SELECT count(*) FILTER (WHERE r AND state IN ('handled', 'closed')) FROM m) AS handled,
    (SELECT count(*) FILTER (WHERE r AND self_closed = 1) FROM m) AS self_closed,
    (SELECT count(*) FILTER (WHERE f) FROM m) AS filed,
    (SELECT count(*) FILTER (WHERE f AND fil <= rdue) FROM m) AS filed_on_time,
    (SELECT count(*) FILTER (WHERE f AND rework >= 1) FROM m) AS reworked,
    (SELECT count(*) FILTER (WHERE f AND ext >= 1) FROM m) AS extended,
    (SELECT count(*) FILTER (WHERE k) FROM m) AS closed,
    (SELECT count(*) FILTER (WHERE k AND clo <= coalesce(fdue, rdue)) FROM m) AS closed_on_time,
    (SELECT count(*) FILTER (WHERE k AND sat IS NOT NULL) FROM m) AS ratings,
    (SELECT count(*) FILTER (WHERE k AND sat >= 4) FROM m) AS satisfied,
    (SELECT count(*) FILTER (WHERE st IN ('filed', 'assigned', 'in_progress', 'handled')
                             AND fdue < {t}) FROM at_end) AS due_open,
    (SELECT count(*) FILTER (WHERE (st = 'reported' AND rdue < {t})
                             OR (st IN ('filed', 'assigned', 'in_progress', 'handled')
                                 AND fdue < {t})) FROM at_end) AS overdue,
    (SELECT n FROM dn) AS durations,
    (SELECT avg(nat) FROM d) AS mean_nat,
    (SELECT avg(wrk) FROM d) AS mean_wrk,
    (SELECT nat FROM (SELECT nat, row_number() OVER (ORDER BY nat) AS rn FROM d)
      WHERE rn = (9 * (SELECT n FROM dn) + 9) // 10) AS p90_nat,
    (SELECT wrk FROM (SELECT wrk, row_number() OVER (ORDER BY wrk) AS rn FROM d)
      WHERE rn = (9 * (SELECT n FROM dn) + 9) // 10) AS p90_wrk
"""


def duckdb_figures(tmp: Path, start, until) -> dict:
    """The month's figures by DuckDB from the Parquet files (definitions: docs/analytics.md)."""
    import duckdb

    sql = DUCK_SQL.format(d=tmp, s=start.timestamp(), t=until.timestamp())
    con = duckdb.connect()
    try:
        cur = con.execute(sql)
        names = [d[0] for d in cur.description]
        row = dict(zip(names, cur.fetchall()[0], strict=True))
    finally:
        con.close()

    def ratio(a, b):
        return a / b if b else None

    due = row["closed"] + row["due_open"]
    return {
        "received": row["received"],
        "filed": row["filed"],
        "filed_on_time_rate": ratio(row["filed_on_time"], row["filed"]),
        "handled_rate": ratio(row["handled"], row["received"] - row["rejected"] - row["merged"]),
        "due": due,
        "closed": row["closed"],
        "close_rate": ratio(row["closed"], due),
        "on_time_close_rate": ratio(row["closed_on_time"], due),
        "overdue": row["overdue"],
        "rework_rate": ratio(row["reworked"], row["filed"]),
        "extension_rate": ratio(row["extended"], row["filed"]),
        "self_handled_rate": ratio(row["self_closed"], row["received"]),
        "satisfaction_rate": ratio(row["satisfied"], row["ratings"]),
        "duration_mean_hours": row["mean_nat"],
        "duration_p90_hours": row["p90_nat"],
        "duration_mean_work_hours": row["mean_wrk"],
        "duration_p90_work_hours": row["p90_wrk"],
    }


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def measure_exports() -> dict:
    """Cases exports of ~100,000 rows: peak Python memory against holding the rows in a list."""
    import datetime as dt
    import tracemalloc

    from django.utils import timezone

    from civicgrid.analytics import exports
    from civicgrid.analytics.models import Export
    from civicgrid.cases.models import Case

    user, _month = _setup()
    today = timezone.localdate()
    newest = Case.objects.order_by("-reported_at").values_list("reported_at", flat=True)[
        EXPORT_ROWS - 1 : EXPORT_ROWS
    ]
    first = timezone.localdate(newest[0]) if newest else today - dt.timedelta(days=365)
    params = {"period": "custom", "start": first.isoformat(), "end": today.isoformat()}

    def peak(fn) -> tuple[float, float, object]:
        tracemalloc.start()
        t = time.perf_counter()
        out = fn()
        elapsed = time.perf_counter() - t
        peak_b = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak_b / 2**20, elapsed, out

    def run_export(fmt):
        e = Export.objects.create(user=user, kind="cases", fmt=fmt, params=params)
        return exports.run(e.pk)

    # Timed without tracemalloc (it slows every allocation several times), then measured with.
    csv_s = _timed(lambda: run_export("csv"))
    xlsx_s = _timed(lambda: run_export("xlsx"))
    csv_peak, _s, e_csv = peak(lambda: run_export("csv"))
    xlsx_peak, _s, e_xlsx = peak(lambda: run_export("xlsx"))
    header, _total, rows = exports.case_rows(user, params)
    list_peak, _s, held = peak(lambda: list(rows))
    return {
        "export_rows": e_csv.done,
        "csv_state": e_csv.state,
        "xlsx_state": e_xlsx.state,
        "csv_peak_mib": round(csv_peak, 2),
        "xlsx_peak_mib": round(xlsx_peak, 2),
        "list_peak_mib": round(list_peak, 2),
        "list_rows": len(held),
        "csv_s": round(csv_s, 2),
        "xlsx_s": round(xlsx_s, 2),
    }


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _child(int(sys.argv[2]), int(sys.argv[3]))
    else:
        print(json.dumps(run(os.environ.get("BENCH_SCALE", "small")), indent=1))
