import pytest
from django.core.management import call_command
from django.db import OperationalError

from civicgrid.ops import heartbeat, reclaim, worker


class FakeHeartbeat:
    def __init__(self, worker_id, calls):
        self.worker_id, self.calls = worker_id, calls

    def start(self):
        self.calls.append(("heartbeat-start", (self.worker_id,)))
        return self

    def stop(self):
        self.calls.append(("heartbeat-stop", ()))


def test_worker_sweeps_before_processing_tasks_inside_its_heartbeat(monkeypatch):
    calls = []
    monkeypatch.setattr(worker, "call_command", lambda name, *a, **kw: calls.append((name, a)))
    monkeypatch.setattr(heartbeat, "Heartbeat", lambda wid: FakeHeartbeat(wid, calls))
    monkeypatch.setattr(reclaim, "reclaim_orphans", lambda wid: calls.append(("reclaim", (wid,))))
    call_command("worker", "--batch", "--interval", "2", "--worker-id", "w1")
    assert [c[0] for c in calls] == [
        "heartbeat-start",
        "reclaim",
        "sla_sweep",
        "visit_sweep",
        "liaison_remind",
        "db_worker",
        "heartbeat-stop",
    ]
    assert calls[0][1] == ("w1",)
    assert calls[5][1] == (
        "--interval",
        "2.0",
        "--queue-name",
        "default",
        "--worker-id",
        "w1",
        "--no-reload",
        "--batch",
    )


def test_worker_stops_its_heartbeat_when_the_worker_fails(monkeypatch):
    calls = []

    def boom(name, *a, **kw):
        calls.append((name, a))
        if name == "db_worker":
            raise RuntimeError("database went away")

    monkeypatch.setattr(worker, "call_command", boom)
    monkeypatch.setattr(heartbeat, "Heartbeat", lambda wid: FakeHeartbeat(wid, calls))
    monkeypatch.setattr(reclaim, "reclaim_orphans", lambda wid: None)
    try:
        call_command("worker", "--batch")
    except RuntimeError:
        pass
    assert calls[-1][0] == "heartbeat-stop"


def test_worker_rides_out_a_database_outage(monkeypatch):
    """db_worker gives up on a database error: the worker waits, re-queues, and starts it again
    in the same process (the catch-up sweeps ran once, at start)."""
    calls, pauses = [], []
    outages = iter([OperationalError("terminating connection"), OperationalError("refused")])

    def flaky(name, *a, **kw):
        calls.append(name)
        if name == "db_worker":
            exc = next(outages, None)
            if exc is not None:
                raise exc

    monkeypatch.setattr(worker, "call_command", flaky)
    monkeypatch.setattr(worker, "sleep", pauses.append)
    monkeypatch.setattr(heartbeat, "Heartbeat", lambda wid: FakeHeartbeat(wid, []))
    reclaims = iter([None, OperationalError("still down")])

    def reclaim_orphans(wid):
        calls.append("reclaim")
        exc = next(reclaims, None)
        if exc is not None:
            raise exc

    monkeypatch.setattr(reclaim, "reclaim_orphans", reclaim_orphans)
    call_command("worker", "--batch")
    assert calls == [
        "reclaim", "sla_sweep", "visit_sweep", "liaison_remind", "db_worker",  # the outage
        "reclaim",  # still down: the pause doubles
        "reclaim", "db_worker",  # back, and cut off once more
        "reclaim", "db_worker",
    ]  # fmt: skip
    assert pauses == [1.0, 2.0, 1.0]


def test_worker_does_not_swallow_other_errors(monkeypatch):
    def boom(name, *a, **kw):
        if name == "db_worker":
            raise RuntimeError("a bug")

    monkeypatch.setattr(worker, "call_command", boom)
    monkeypatch.setattr(heartbeat, "Heartbeat", lambda wid: FakeHeartbeat(wid, []))
    monkeypatch.setattr(reclaim, "reclaim_orphans", lambda wid: None)
    with pytest.raises(RuntimeError):
        call_command("worker", "--batch")
