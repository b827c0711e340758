"""Routing: reads inside replica_reads() go to the replica; writes, reads of a pinned request
(one that wrote, an unsafe method, the pin cookie) and reads in a transaction go to the primary."""

import threading

import pytest
from django.db import transaction
from django.http import HttpResponse
from django.test import RequestFactory

from civicgrid.analytics.models import Export
from civicgrid.ops.models import WorkerHeartbeat
from civicgrid.ops.replica import (
    REPLICA_PIN_COOKIE,
    ReplicaPinMiddleware,
    ReplicaRouter,
    pinned,
    replica_reads,
)

REPLICA_DB = {"replica": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
router = ReplicaRouter()


@pytest.fixture
def replica(settings):
    settings.DATABASES = {**settings.DATABASES, **REPLICA_DB}


def test_reads_go_to_the_replica_only_inside_the_block(replica):
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
        assert router.db_for_read(WorkerHeartbeat) == "default"


def test_a_task_reads_what_it_wrote_from_the_primary_and_the_rest_from_the_replica(replica):
    @replica_reads()
    def task():
        before = router.db_for_read(Export)
        router.db_for_write(Export)  # e.g. Export.objects.filter(pk=…).update(state=RUNNING)
        return before, router.db_for_read(Export), router.db_for_read(WorkerHeartbeat)

    assert task() == ("replica", "default", "replica")
    # The pin ends with the block: the next run starts on the replica again.
    assert task()[0] == "replica"


def test_the_database_cache_is_routed_too(replica):
    """django's database cache routes a stand-in model without ``label_lower``."""
    from django.core.cache.backends.db import DatabaseCache

    entry = DatabaseCache("civicgrid_cache", {}).cache_model_class

    @replica_reads()
    def task():
        before = router.db_for_read(entry)
        router.db_for_write(entry)
        return before, router.db_for_read(entry)

    assert task() == ("replica", "default")


@pytest.mark.django_db(transaction=True)
def test_reads_inside_a_transaction_stay_on_the_primary(replica):
    with replica_reads():
        with transaction.atomic():
            assert router.db_for_read(WorkerHeartbeat) == "default"
        assert router.db_for_read(WorkerHeartbeat) == "replica"


def test_the_decorator_is_safe_across_threads(replica):
    gate = threading.Barrier(2)
    seen = []

    @replica_reads()
    def view():
        gate.wait()  # both threads inside the same decorated function at once
        seen.append(router.db_for_read(WorkerHeartbeat))
        gate.wait()

    threads = [threading.Thread(target=view) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == ["replica", "replica"]
    assert router.db_for_read(WorkerHeartbeat) == "default"
    outside = []
    t = threading.Thread(target=lambda: outside.append(router.db_for_read(WorkerHeartbeat)))
    with replica_reads():
        t.start()
        t.join()
    assert outside == ["default"]  # another thread is not inside this block


def _middleware(view):
    return ReplicaPinMiddleware(view)


def _reading_view(request):
    with replica_reads():
        return HttpResponse(router.db_for_read(WorkerHeartbeat))


def _writing_view(request):
    with replica_reads():
        first = router.db_for_read(WorkerHeartbeat)
        router.db_for_write(WorkerHeartbeat)
        return HttpResponse(f"{first},{router.db_for_read(WorkerHeartbeat)},{pinned()}")


def test_a_plain_read_uses_the_replica_and_sets_no_cookie(replica):
    resp = _middleware(_reading_view)(RequestFactory().get("/analytics/"))
    assert resp.content == b"replica"
    assert REPLICA_PIN_COOKIE not in resp.cookies


def test_a_request_that_writes_reads_from_the_primary_after_the_write_and_pins_its_client(replica):
    resp = _middleware(_writing_view)(RequestFactory().get("/analytics/"))
    assert resp.content == b"replica,default,True"
    cookie = resp.cookies[REPLICA_PIN_COOKIE]
    assert cookie["max-age"] == 10 and cookie["httponly"]
    # The next request of that client reads from the primary, and does not renew the window.
    follow = RequestFactory().get("/analytics/")
    follow.COOKIES[REPLICA_PIN_COOKIE] = "1"
    resp = _middleware(_reading_view)(follow)
    assert resp.content == b"default"
    assert REPLICA_PIN_COOKIE not in resp.cookies
    assert not pinned()  # the pin belonged to that request


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_an_unsafe_method_reads_from_the_primary_and_pins(replica, method):
    resp = _middleware(_reading_view)(getattr(RequestFactory(), method)("/api/cases/"))
    assert resp.content == b"default"
    assert REPLICA_PIN_COOKIE in resp.cookies


def test_the_pin_window_is_the_option(replica, settings):
    settings.CIVICGRID = {"REPLICA_PIN_SECONDS": 3}
    resp = _middleware(_reading_view)(RequestFactory().post("/x/"))
    assert resp.cookies[REPLICA_PIN_COOKIE]["max-age"] == 3


def test_without_a_replica_the_middleware_sets_no_cookie():
    resp = _middleware(_writing_view)(RequestFactory().post("/api/cases/"))
    assert resp.content == b"default,default,False"
    assert REPLICA_PIN_COOKIE not in resp.cookies


def test_the_lag_tolerant_views_are_marked():
    """The dashboard, the analytics API, the export task and the marked console lists are in
    replica_reads(); the case list (people act from it) is not."""
    from civicgrid.analytics import api as analytics_api
    from civicgrid.analytics import tasks, views
    from civicgrid.console.views import directory, home, maps

    for fn in (
        views.dashboard,
        maps.map_cases,
        home.tiles,
        directory.grid_list,
        directory.worker_list,
        tasks.export_run_task.func,
    ):
        assert _wrapped_by_replica_reads(fn), fn
    assert any(isinstance(d, replica_reads) for d, _mode in analytics_api.router._decorators)
    from civicgrid.console.views import cases

    assert not _wrapped_by_replica_reads(cases.case_list)


def _wrapped_by_replica_reads(fn) -> bool:
    while fn is not None:
        for cell in getattr(fn, "__closure__", None) or ():
            if isinstance(cell.cell_contents, replica_reads):
                return True
        fn = getattr(fn, "__wrapped__", None)
    return False
