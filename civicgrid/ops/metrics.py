"""Prometheus metrics (prometheus-client).

Request metrics are counted in the process that served the request. Under gunicorn each worker is
its own process, so ``PROMETHEUS_MULTIPROC_DIR`` must be set (deploy/gunicorn.conf.py and
scripts/prod.sh do) and ``/metrics`` then merges every process's files with the library's
``MultiProcessCollector``; gunicorn's ``child_exit`` hook marks dead workers. Figures that live in
the database (queue depth, SLA sweep lag, task results and failures, heartbeats, connections,
replica lag) are read at scrape time by ``DatabaseCollector``, so they are right whichever process answers.
"""

from __future__ import annotations

import logging
import os

from django.db import connections
from django.db.models import Count
from django.utils import timezone
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

logger = logging.getLogger(__name__)

REQUEST_LATENCY = Histogram(
    "civicgrid_http_request_duration_seconds",
    "Time from the request entering Django to the response leaving it, by URL route.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0),
)
REQUESTS = Counter(
    "civicgrid_http_requests_total",
    "Responses by URL route, method and status code.",
    ["route", "method", "status"],
)
EXCEPTIONS = Counter(
    "civicgrid_http_exceptions_total",
    "Unhandled exceptions in views (answered 500), by route and exception class.",
    ["route", "exception"],
)
STORAGE_FULL = Counter(
    "civicgrid_storage_full_total",
    "Requests refused because the file storage was full (answered 507).",
)


def _gauge(name: str, doc: str, value: float | None, labels=None, rows=()):
    g = GaugeMetricFamily(name, doc, labels=labels)
    if labels:
        for label_values, v in rows:
            g.add_metric(label_values, v)
    elif value is not None:
        g.add_metric([], value)
    return g


class DatabaseCollector:
    """Gauges read from the database at scrape time; a failing query drops only its metric."""

    def collect(self):
        for fn in (
            self._queue,
            self._sla_lag,
            self._heartbeat,
            self._connections,
            self._replica_lag,
        ):
            try:
                yield from fn()
            except Exception:  # a scrape must still answer with what it has
                logger.exception("metrics: %s failed", fn.__name__)

    def _queue(self):
        from django_tasks_db.models import DBTaskResult

        counts = {
            (queue, status): n
            for queue, status, n in DBTaskResult.objects.values("queue_name", "status")
            .annotate(n=Count("id"))
            .values_list("queue_name", "status", "n")
            .order_by()
        }
        yield _gauge(
            "civicgrid_task_queue_depth",
            "Tasks waiting to run (status READY), by queue.",
            None,
            ["queue"],
            [([q], n) for (q, s), n in counts.items() if s == "READY"] or [(["default"], 0)],
        )
        yield _gauge(
            "civicgrid_task_results",
            "Stored task results by status (FAILED ones stay until pruned).",
            None,
            ["status"],
            [([s], n) for s, n in _sum_by_status(counts).items()],
        )
        hour_ago = timezone.now() - timezone.timedelta(hours=1)
        failed = DBTaskResult.objects.filter(status="FAILED", finished_at__gte=hour_ago).count()
        yield _gauge(
            "civicgrid_task_failures_last_hour",
            "Tasks that failed in the last hour (all workers).",
            failed,
        )

    def _sla_lag(self):
        from .health import sla_sweep_lag

        yield _gauge(
            "civicgrid_sla_sweep_lag_seconds",
            "Age of the oldest passed deadline the sweep has not flagged yet (0: none).",
            sla_sweep_lag(),
        )

    def _heartbeat(self):
        from .models import WorkerHeartbeat

        now = timezone.now()
        beats = list(WorkerHeartbeat.objects.values_list("seen_at", flat=True))
        yield _gauge(
            "civicgrid_task_workers",
            "Task workers whose heartbeat is younger than WORKER_HEARTBEAT_MAX_AGE.",
            sum(1 for b in beats if (now - b).total_seconds() <= _max_age()),
        )

    def _connections(self):
        conn = connections["default"]
        if conn.vendor != "postgresql":
            return
        with conn.cursor() as cur:
            cur.execute(
                "SELECT coalesce(state, 'unknown'), count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() GROUP BY 1"
            )
            rows = cur.fetchall()
            cur.execute("SHOW max_connections")
            max_conn = int(cur.fetchone()[0])
        yield _gauge(
            "civicgrid_db_connections",
            "Server connections to this database by state (pg_stat_activity).",
            None,
            ["state"],
            [([s], n) for s, n in rows],
        )
        yield _gauge("civicgrid_db_max_connections", "PostgreSQL max_connections.", max_conn)

    def _replica_lag(self):
        from .health import replica_lag

        lag = replica_lag()
        if lag is not None:
            yield _gauge("civicgrid_replica_lag_seconds", "Replay lag of the read replica.", lag)


def _sum_by_status(counts):
    out: dict[str, int] = {}
    for (_q, s), n in counts.items():
        out[s] = out.get(s, 0) + n
    return out


def _max_age() -> int:
    from civicgrid.core.conf import options

    return options().WORKER_HEARTBEAT_MAX_AGE


def render() -> bytes:
    """The exposition text: every process's counters plus the database gauges."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:  # one process (tests, a single runserver): this process's own counters
        for collector in (REQUEST_LATENCY, REQUESTS, EXCEPTIONS):
            registry.register(collector)
    registry.register(DatabaseCollector())
    return generate_latest(registry)
