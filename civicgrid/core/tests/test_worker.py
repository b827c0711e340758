from django.core.management import call_command

from civicgrid.core.management.commands import worker
from civicgrid.ops import heartbeat, reclaim


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
    assert calls[4][1] == (
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
