"""Reads that tolerate lag go to the read replica: ``with replica_reads(): ...`` or
``@replica_reads()`` on a view or task. Everything else (writes, and reads outside the block,
so read-your-writes) uses the primary. Without ``DATABASE_REPLICA_URL`` it changes nothing.

``ReplicaRouter`` is installed in DATABASE_ROUTERS; the block is a context variable, so it
covers exactly the request or task that entered it (threads and async tasks stay separate).
"""

from __future__ import annotations

import contextvars
from contextlib import ContextDecorator

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS

REPLICA = "replica"
_allowed: contextvars.ContextVar[bool] = contextvars.ContextVar("replica_reads", default=False)


class replica_reads(ContextDecorator):  # noqa: N801 - used like a function
    def __enter__(self):
        self._token = _allowed.set(True)
        return self

    def __exit__(self, *exc):
        _allowed.reset(self._token)
        return False


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        if _allowed.get() and REPLICA in settings.DATABASES:
            return REPLICA
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True  # one database, two copies of it

    def allow_migrate(self, db, app_label, **hints):
        return db == DEFAULT_DB_ALIAS
