"""Routing: reads inside replica_reads() go to the replica, writes and other reads to the primary."""

from civicgrid.ops.models import WorkerHeartbeat
from civicgrid.ops.replica import ReplicaRouter, replica_reads

REPLICA_DB = {"replica": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}


def test_reads_go_to_the_replica_only_inside_the_block(settings):
    settings.DATABASES = {**settings.DATABASES, **REPLICA_DB}
    router = ReplicaRouter()
    assert router.db_for_read(WorkerHeartbeat) == "default"
    with replica_reads():
        assert router.db_for_read(WorkerHeartbeat) == "replica"
        assert router.db_for_write(WorkerHeartbeat) == "default"
    assert router.db_for_read(WorkerHeartbeat) == "default"

    @replica_reads()
    def view():
        return router.db_for_read(WorkerHeartbeat)

    assert view() == "replica"
    assert router.allow_migrate("replica", "ops") is False
    assert router.allow_migrate("default", "ops") is True


def test_without_a_replica_everything_stays_on_the_primary():
    with replica_reads():
        assert ReplicaRouter().db_for_read(WorkerHeartbeat) == "default"
