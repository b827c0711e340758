"""/healthz, /readyz and /metrics answer JSON / exposition text, and fail for the right reason."""

import datetime as dt
import logging

import pytest
import time_machine
from django.db import connection
from django.test import override_settings

from civicgrid.cases.tests.conftest import cats, report  # noqa: F401  (fixture)
from civicgrid.ops import health
from civicgrid.ops.context import RequestIdFilter, new_request_id, request_id_var
from civicgrid.ops.heartbeat import Heartbeat
from civicgrid.ops.models import TaskOrigin, WorkerHeartbeat

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


@pytest.mark.django_db
def test_healthz_answers_without_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert len(r["X-Request-ID"]) == 32


@pytest.mark.django_db
def test_readyz_fails_without_a_worker_heartbeat(client):
    r = client.get("/readyz")
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "fail"
    assert body["checks"]["database"]["ok"] and body["checks"]["cache"]["ok"]
    assert body["checks"]["migrations"]["ok"]
    assert body["checks"]["task_workers"] == {
        "ok": False,
        "alive": 0,
        "max_age_seconds": 120,
        "error": "no task worker heartbeat",
        "ms": body["checks"]["task_workers"]["ms"],
    }
    assert body["checks"]["replica"]["configured"] is False


@pytest.mark.django_db
def test_readyz_ok_with_a_fresh_heartbeat_and_fails_once_it_is_stale(client):
    with time_machine.travel(NOW, tick=False):
        Heartbeat("w-1").beat()
        r = client.get("/readyz")
        assert r.status_code == 200, r.json()
        assert r.json()["checks"]["task_workers"]["alive"] == 1
    with time_machine.travel(NOW + dt.timedelta(seconds=121), tick=False):
        assert client.get("/readyz").status_code == 503
    with (
        time_machine.travel(NOW + dt.timedelta(seconds=121), tick=False),
        override_settings(CIVICGRID={"WORKER_HEARTBEAT_MAX_AGE": 300}),
    ):
        assert client.get("/readyz").status_code == 200


@pytest.mark.django_db(transaction=True)  # the beat thread commits on its own connection
def test_heartbeat_stop_removes_the_row():
    hb = Heartbeat("w-2", interval=0.05).start()
    assert WorkerHeartbeat.objects.filter(worker_id="w-2").exists()
    hb.stop()
    assert not WorkerHeartbeat.objects.filter(worker_id="w-2").exists()


@pytest.mark.django_db
def test_readyz_reports_unapplied_migrations(client, monkeypatch):
    health._migrated.clear()

    class Plan:
        def __init__(self, conn):
            self.loader = type("L", (), {"graph": type("G", (), {"leaf_nodes": lambda s: []})()})()

        def migration_plan(self, targets):
            return [(type("M", (), {"app_label": "cases", "name": "0099_x"})(), False)]

    monkeypatch.setattr("django.db.migrations.executor.MigrationExecutor", Plan)
    Heartbeat("w-3").beat()
    body = client.get("/readyz").json()
    assert body["checks"]["migrations"] == {
        "ok": False,
        "unapplied": ["cases.0099_x"],
        "ms": body["checks"]["migrations"]["ms"],
    }
    health._migrated.clear()


@pytest.mark.django_db
def test_readyz_reports_a_database_failure_as_503_not_500(client, monkeypatch):
    def down():
        raise connection.Database.OperationalError("connection refused")

    monkeypatch.setitem(health.CHECKS, "database", down)
    r = client.get("/readyz")
    assert r.status_code == 503
    assert "connection refused" in r.json()["checks"]["database"]["error"]


@pytest.mark.django_db
def test_metrics_exposes_route_latency_and_database_gauges(client):
    client.get("/healthz")
    client.get("/no/such/page/")
    text = client.get("/metrics").content.decode()
    assert 'civicgrid_http_request_duration_seconds_count{method="GET",route="/healthz"}' in text
    assert 'civicgrid_http_requests_total{method="GET",route="unmatched",status="404"}' in text
    assert 'civicgrid_task_queue_depth{queue="default"} 0.0' in text
    assert "civicgrid_sla_sweep_lag_seconds 0.0" in text
    assert "civicgrid_task_workers 0.0" in text
    assert "civicgrid_task_failures_last_hour 0.0" in text


def test_request_id_from_the_proxy_is_kept_only_when_well_formed():
    assert new_request_id("0123456789abcdef") == "0123456789abcdef"
    assert new_request_id("bad id; DROP") != "bad id; DROP"
    assert len(new_request_id(None)) == 32


def test_log_records_carry_the_request_id():
    token = request_id_var.set("abc12345")
    try:
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", (), None)
        RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(token)
    assert record.request_id == "abc12345"


@pytest.mark.django_db
def test_a_task_enqueued_in_a_request_logs_with_that_request_id(settings, caplog):
    """The database backend records the origin; the worker adopts it when the task starts."""
    from django_tasks.signals import task_enqueued, task_finished, task_started
    from django_tasks_db.backend import DatabaseBackend

    class Result:
        id = "0b7f8c36-5b8e-4f2e-9c55-111111111111"
        status = "SUCCESSFUL"
        backend = "default"
        task = type("T", (), {"name": "demo", "module_path": "x.demo"})()

    token = request_id_var.set("req-0001abcd")
    try:
        task_enqueued.send(DatabaseBackend, task_result=Result())
    finally:
        request_id_var.reset(token)
    assert TaskOrigin.objects.get(task_id=Result.id).request_id == "req-0001abcd"
    assert request_id_var.get() == ""
    task_started.send(DatabaseBackend, task_result=Result())
    assert request_id_var.get() == "req-0001abcd"
    task_finished.send(DatabaseBackend, task_result=Result())
    assert request_id_var.get() == ""


def test_sla_sweep_lag_is_the_age_of_the_oldest_unflagged_deadline(world, cats):  # noqa: F811
    from civicgrid.cases import calendar
    from civicgrid.cases.tasks import sla_sweep

    calendar.seed_from_package([2025])
    tz = dt.timezone(dt.timedelta(hours=8))
    with time_machine.travel(dt.datetime(2025, 3, 4, 9, 0, tzinfo=tz), tick=False):
        case = report(world, cats)  # due 11:00 (2 working hours)
    due = case.sla_due_at
    assert health.sla_sweep_lag(now=due - dt.timedelta(seconds=1)) == 0.0
    assert health.sla_sweep_lag(now=due + dt.timedelta(seconds=90)) == 90.0
    sla_sweep(now=due + dt.timedelta(seconds=90))
    assert health.sla_sweep_lag(now=due + dt.timedelta(seconds=90)) == 0.0
