from django.core.management import call_command

from civicgrid.core.management.commands import worker


def test_worker_sweeps_before_processing_tasks(monkeypatch):
    calls = []
    monkeypatch.setattr(worker, "call_command", lambda name, *a, **kw: calls.append((name, a)))
    call_command("worker", "--batch", "--interval", "2")
    assert [c[0] for c in calls] == ["sla_sweep", "db_worker"]
    assert calls[1][1] == ("--interval", "2.0", "--queue-name", "default", "--no-reload", "--batch")
