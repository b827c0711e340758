"""Tasks a killed worker left RUNNING run again; a live worker's running task is left alone."""

import datetime as dt

import pytest
import time_machine
from django.test import override_settings

from civicgrid.ops.heartbeat import Heartbeat
from civicgrid.ops.reclaim import reclaim_orphans

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def export(world):
    from civicgrid.analytics.models import Export, ExportState

    return Export.objects.create(
        user=world.operator_a, kind="cases", fmt="csv", params={}, state=ExportState.QUEUED
    )


def _claimed(task, args, worker_id):
    from django_tasks_db.models import DBTaskResult

    result = task.enqueue(*args)
    row = DBTaskResult.objects.get(pk=result.id)
    row.claim(worker_id)
    return row


@override_settings(TASKS=DB_TASKS)
def test_a_dead_workers_task_runs_again_and_its_export_restarts(world, export):
    from civicgrid.analytics.models import Export, ExportState
    from civicgrid.analytics.tasks import export_run_task

    with time_machine.travel(NOW, tick=False):
        Heartbeat("dead").beat()
        Heartbeat("alive").beat()
        dead = _claimed(export_run_task, [export.pk], "dead")
        Export.objects.filter(pk=export.pk).update(state=ExportState.RUNNING, done=7)
        live = _claimed(export_run_task, [export.pk + 1000], "alive")
    with time_machine.travel(NOW + dt.timedelta(seconds=200), tick=False):
        Heartbeat("alive").beat()  # "dead" stopped beating 200 s ago
        assert reclaim_orphans("new-worker") == 1
    dead.refresh_from_db()
    live.refresh_from_db()
    assert dead.status == "READY" and dead.started_at is None
    assert live.status == "RUNNING"
    export.refresh_from_db()
    assert export.state == ExportState.QUEUED and export.done == 0


@override_settings(TASKS=DB_TASKS)
def test_a_restarted_worker_reclaims_what_it_was_running_itself(world, export):
    from civicgrid.analytics.tasks import export_run_task

    with time_machine.travel(NOW, tick=False):
        Heartbeat("host-1").beat()
        row = _claimed(export_run_task, [export.pk], "host-1")
        # systemd restarts civicgrid-worker@1 with the same id: its fresh heartbeat proves nothing.
        assert reclaim_orphans("host-1") == 1
    row.refresh_from_db()
    assert row.status == "READY"
