"""The replica drill's checks (run by scripts/replica_drill.sh against its own primary + standby,
DATABASE_URL and DATABASE_REPLICA_URL set, demo city loaded). Goes through the application's own
request handling (middleware, router, views) with Django's test client:

1. a row written on the primary reaches the replica; a write on the replica is refused;
2. replay on the replica is paused (``pg_wal_replay_pause()``) so the two copies differ;
3. an operator reports a case (POST /api/cases/, on the primary): the response sets the pin
   cookie, and the same client's next read of a lag-tolerant view (today's indicators) counts the
   new case: it was read from the primary;
4. another operator's session (no pin cookie) reads the same view from the replica, which does
   not have the case yet, and its case-table queries all went to the replica;
5. replay resumes: the other session sees the case once the replica caught up; /readyz's replica
   check is printed (and the lag measured while replay was paused).

Prints one JSON line; exits non-zero when any check fails.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

import django  # noqa: E402

django.setup()

from django.db import connections  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from civicgrid.ops import health  # noqa: E402
from civicgrid.ops.models import WorkerHeartbeat  # noqa: E402
from civicgrid.ops.replica import REPLICA_PIN_COOKIE, replica_reads  # noqa: E402
from civicgrid.people.models import User  # noqa: E402

INDICATORS = "/api/analytics/indicators?period=day"
out: dict = {}


def fail(msg: str) -> None:
    out["failed"] = msg
    print(json.dumps(out, ensure_ascii=False, default=str))
    raise SystemExit(f"[replica] FAILED: {msg}")


def check(cond: bool, msg: str) -> None:
    if not cond:
        fail(msg)


class Queries:
    """Counts the case-table queries each database alias runs."""

    def __init__(self):
        self.n = {"default": 0, "replica": 0}

    def __enter__(self):
        self._cms = []
        for alias in self.n:
            cm = connections[alias].execute_wrapper(self._wrap(alias))
            cm.__enter__()
            self._cms.append(cm)
        return self

    def _wrap(self, alias):
        def wrapper(execute, sql, params, many, context):
            if "cases_case" in sql:
                self.n[alias] += 1
            return execute(sql, params, many, context)

        return wrapper

    def __exit__(self, *exc):
        for cm in self._cms:
            cm.__exit__(*exc)


def received(client: Client) -> tuple[int, dict]:
    with Queries() as q:
        resp = client.get(INDICATORS)
    check(
        resp.status_code == 200, f"{INDICATORS} answered {resp.status_code}: {resp.content[:200]}"
    )
    return resp.json()["values"]["received"], q.n


def replica_sql(sql: str):
    with connections["replica"].cursor() as cur:
        cur.execute(sql)
        return cur.fetchone()


# 1. streaming works; the replica refuses writes.
now = timezone.now()
WorkerHeartbeat.objects.using("default").create(
    worker_id="replica-drill", hostname="drill", pid=os.getpid(), started_at=now, seen_at=now
)
start = time.perf_counter()
while not WorkerHeartbeat.objects.using("replica").filter(worker_id="replica-drill").exists():
    check(time.perf_counter() - start < 30, "the row never reached the replica")
    time.sleep(0.05)
out["row_on_replica_after_s"] = round(time.perf_counter() - start, 3)
check(replica_sql("SELECT pg_is_in_recovery()")[0] is True, "the replica is not a standby")
try:
    WorkerHeartbeat.objects.using("replica").filter(worker_id="replica-drill").delete()
    fail("a write on the replica succeeded")
except django.db.Error as exc:
    out["write_on_replica"] = f"refused ({type(exc).__name__})"
with replica_reads():
    check(WorkerHeartbeat.objects.all().db == "replica", "replica_reads() did not route")
check(WorkerHeartbeat.objects.all().db == "default", "reads outside replica_reads() moved")

# Two operator sessions with city scope (sessions are written on the primary).
writer, reader = Client(), Client()
user = User.objects.get(username="city_operator")
writer.force_login(user)
reader.force_login(user)
# The first indicator read builds the working-hours calendar (a write: that client is pinned for
# REPLICA_PIN_SECONDS); drop the reader's pin and let the replica replay the calendar first.
received(reader)
reader.cookies.pop(REPLICA_PIN_COOKIE, None)
with connections["default"].cursor() as cur:
    cur.execute("SELECT pg_current_wal_lsn()::text")
    lsn = cur.fetchone()[0]
start = time.perf_counter()
while not replica_sql(f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn")[0]:
    check(time.perf_counter() - start < 30, "the replica never replayed the calendar")
    time.sleep(0.05)
before, q_before = received(reader)
check(q_before["replica"] > 0 and q_before["default"] == 0, f"reads not on the replica: {q_before}")

# 2. pause replay: from now on the replica misses what the primary writes.
replica_sql("SELECT pg_wal_replay_pause()")
from bench import cases as cb  # noqa: E402

point = cb._reporters(1)[0]
resp = writer.post(
    "/api/cases/",
    data={
        "category": "0101",
        "description": "只读副本演练：路面塌陷",
        "lat": point["lat"],
        "lng": point["lng"],
        "client_id": f"replica-drill-{int(time.time())}",
    },
    content_type="application/json",
)
check(resp.status_code == 201, f"the report answered {resp.status_code}: {resp.content[:300]}")
out["pin_cookie_after_write"] = REPLICA_PIN_COOKIE in resp.cookies
check(out["pin_cookie_after_write"], "the write did not set the pin cookie")
out["pin_seconds"] = int(resp.cookies[REPLICA_PIN_COOKIE]["max-age"])

# 3. the writer reads its write (primary) ...
mine, q_writer = received(writer)
out["writer_reads"] = {"received": mine, "case_queries": q_writer}
check(mine == before + 1 and q_writer["replica"] == 0, "the writer did not read from the primary")
# 4. ... everyone else reads the replica, which has not replayed the case yet.
other, q_reader = received(reader)
out["other_reads"] = {"received": other, "case_queries": q_reader}
check(other == before and q_reader["default"] == 0 and q_reader["replica"] > 0,
      "the lag-tolerant read did not come from the replica")  # fmt: skip
time.sleep(1.0)
out["lag_while_paused_s"] = health.replica_lag()

# 5. replay resumes; the replica catches up.
replica_sql("SELECT pg_wal_replay_resume()")
start = time.perf_counter()
while received(reader)[0] != before + 1:
    check(time.perf_counter() - start < 30, "the replica never caught up")
    time.sleep(0.1)
out["caught_up_after_resume_s"] = round(time.perf_counter() - start, 3)
ok, checks = health.readiness()
out["readyz_replica"] = checks["replica"]
print(json.dumps(out, ensure_ascii=False, default=str))
check(checks["replica"]["ok"] and checks["replica"]["configured"], "readyz replica check failed")
