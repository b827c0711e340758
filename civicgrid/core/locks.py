"""Serialize a check-then-write across processes: ``with serialized("name"): ...``.

On PostgreSQL a transaction-scoped advisory lock (released at commit, so the write is visible
before the next holder checks); on SQLite the IMMEDIATE transaction already takes the write lock.
Used where several task workers could each decide "nothing queued yet" and both enqueue.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def serialized(name: str) -> Iterator[None]:
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", [zlib.crc32(name.encode())])
        yield
