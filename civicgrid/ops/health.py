"""Liveness and readiness checks behind /healthz and /readyz."""

from __future__ import annotations

import time
import uuid

from django.core.cache import caches
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

from civicgrid.core.conf import options

REPLICA = "replica"
_migrated: dict[str, bool] = {}


def check_database() -> dict:
    with connections[DEFAULT_DB_ALIAS].cursor() as cur:
        cur.execute("SELECT 1")
        cur.fetchone()
    return {"ok": True}


def check_cache() -> dict:
    cache = caches["default"]
    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", 10)
    ok = cache.get(key) == "1"
    cache.delete(key)
    return {"ok": ok, "backend": type(cache).__name__} | ({} if ok else {"error": "read back"})


def check_migrations() -> dict:
    """No unapplied migration (cached once true: migrations are never unapplied in place)."""
    if _migrated.get(DEFAULT_DB_ALIAS):
        return {"ok": True}
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        return {"ok": False, "unapplied": [f"{m.app_label}.{m.name}" for m, _b in plan][:20]}
    _migrated[DEFAULT_DB_ALIAS] = True
    return {"ok": True}


def check_workers() -> dict:
    from .models import WorkerHeartbeat

    max_age = options().WORKER_HEARTBEAT_MAX_AGE
    now = timezone.now()
    alive = WorkerHeartbeat.objects.filter(seen_at__gte=now - timezone.timedelta(seconds=max_age))
    n = alive.count()
    out = {"ok": n > 0, "alive": n, "max_age_seconds": max_age}
    if not n:
        out["error"] = "no task worker heartbeat"
    return out


def replica_lag() -> float | None:
    """Seconds the replica's replay is behind (0 when caught up), None without a replica."""
    if REPLICA not in connections.databases:
        return None
    with connections[REPLICA].cursor() as cur:
        cur.execute(
            "SELECT CASE WHEN NOT pg_is_in_recovery() THEN NULL"
            " WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"
            " ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END,"
            " pg_is_in_recovery()"
        )
        lag, in_recovery = cur.fetchone()
    if not in_recovery:
        raise RuntimeError("the replica database is not in recovery (not a standby)")
    return float(lag or 0.0)


def check_replica() -> dict:
    if REPLICA not in connections.databases:
        return {"ok": True, "configured": False}
    lag = replica_lag()
    limit = options().REPLICA_MAX_LAG_SECONDS
    out = {"ok": lag <= limit, "configured": True, "lag_seconds": round(lag, 3)}
    if lag > limit:
        out["error"] = f"lag above {limit} s"
    return out


def sla_sweep_lag(now=None) -> float:
    """Age of the oldest open deadline that passed without the sweep flagging it."""
    from civicgrid.cases.models import OPEN_STATES, Case, SlaState

    now = now or timezone.now()
    oldest = (
        Case.objects.filter(
            state__in=OPEN_STATES,
            sla_state__in=[SlaState.NORMAL, SlaState.WARNING],
            sla_due_at__lte=now,
        )
        .order_by("sla_due_at")
        .values_list("sla_due_at", flat=True)
        .first()
    )
    return max(0.0, (now - oldest).total_seconds()) if oldest else 0.0


CHECKS = {
    "database": check_database,
    "cache": check_cache,
    "migrations": check_migrations,
    "task_workers": check_workers,
    "replica": check_replica,
}


def readiness() -> tuple[bool, dict]:
    results = {}
    for name, fn in CHECKS.items():
        start = time.perf_counter()
        try:
            res = fn()
        except Exception as exc:  # a failing dependency is the answer, not a 500
            res = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
        res["ms"] = round((time.perf_counter() - start) * 1000, 1)
        results[name] = res
    return all(r["ok"] for r in results.values()), results
