"""Concurrent appends queue on the chain head: no two rows share a predecessor (PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from civicgrid.audit import services
from civicgrid.audit.context import Actor
from civicgrid.audit.models import AuditEvent

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]


def test_parallel_appends_do_not_fork_the_chain():
    services.record("login", actor=Actor(None, "seed", ""))  # creates the head row
    threads, per_thread, n = [], 10, 6
    barrier = threading.Barrier(n)
    errors: list[Exception] = []

    def work(k):
        try:
            barrier.wait()
            for i in range(per_thread):
                services.record("update", object_id=f"{k}-{i}", actor=Actor(None, f"t{k}", ""))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    for k in range(n):
        threads.append(threading.Thread(target=work, args=(k,)))
        threads[-1].start()
    for t in threads:
        t.join(60)
    assert not errors
    assert AuditEvent.objects.count() == 1 + n * per_thread
    prevs = list(AuditEvent.objects.values_list("prev_hash", flat=True))
    assert len(prevs) == len(set(prevs))  # a fork would give two rows the same predecessor
    assert services.verify() == (1 + n * per_thread, None)
