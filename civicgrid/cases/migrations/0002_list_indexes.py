"""Indexes for the case list at a million cases (measured by bench/cases.py, docs/benchmarks.md).

- ``case_queue_recent``: the operator's default queue (own center, waiting states) newest first.
  Without it PostgreSQL joins every queued case of the center before sorting them.
- ``case_running_due``: the cases whose SLA clock runs, by deadline, covering the columns the
  overdue/due-soon filters and the visibility rule read, so that finding the overdue cases of a
  scope can be an index-only scan (PostgreSQL ``INCLUDE``; a plain multi-column index on SQLite).
- ``case_description_trgm``/``case_address_trgm`` (PostgreSQL with pg_trgm only): the text
  filter's ``UPPER(...) LIKE '%…%'`` (Django's icontains) and a tracking-code search, which
  otherwise read the whole table. Skipped with a warning when the extension cannot be created.

Raw SQL instead of ``Meta.indexes``: covering and trigram indexes are PostgreSQL-only, and the
model state stays unchanged, so ``makemigrations`` sees nothing to do. On PostgreSQL the indexes
are built CONCURRENTLY (hence ``atomic = False``) so a live cases table keeps taking reports.

The state lists must stay equal to ``models.OPEN_STATES`` and ``selectors.QUEUE_STATES`` or the
planner can no longer prove that a query matches the partial index (tests/test_list_indexes.py).
"""

import sys

from django.db import DatabaseError, migrations

QUEUE_STATES = ("reported", "filed", "handled")
OPEN_STATES = ("reported", "filed", "assigned", "in_progress", "handled", "suspended")
COVERED = ("reported_at", "sla_warn_at", "scope_code", "owner_code", "department_id",
           "worker_id", "reporter_id")  # fmt: skip
TRIGRAM = {"case_description_trgm": "description", "case_address_trgm": "address"}
NAMES = ("case_queue_recent", "case_running_due", *TRIGRAM)


def _in(states) -> str:
    return ", ".join(f"'{s}'" for s in states)


def _statements(pg: bool) -> dict[str, str]:
    queue = (
        f"ON cases_case (owner_id, reported_at DESC, id DESC) WHERE state IN ({_in(QUEUE_STATES)})"
    )
    if pg:
        running = (
            f"ON cases_case (sla_due_at) INCLUDE (id, {', '.join(COVERED)}) "
            f"WHERE state IN ({_in(OPEN_STATES)})"
        )
    else:
        running = (
            f"ON cases_case (sla_due_at, {', '.join(COVERED)}) WHERE state IN ({_in(OPEN_STATES)})"
        )
    return {"case_queue_recent": queue, "case_running_due": running}


def _drop_invalid(cursor, name: str) -> None:
    # A failed CONCURRENTLY build leaves an INVALID index that IF NOT EXISTS would keep forever.
    cursor.execute(
        "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE c.relname = %s",
        [name],
    )
    row = cursor.fetchone()
    if row is not None and not row[0]:
        cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


def _trigram_available(cursor) -> bool:
    cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
    if cursor.fetchone():
        return True
    try:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError as exc:
        sys.stderr.write(
            f"\ncases 0002: pg_trgm unavailable ({exc}); text search stays a table scan.\n"
        )
        return False
    return True


def forwards(apps, schema_editor) -> None:
    connection = schema_editor.connection
    pg = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        for name, body in _statements(pg).items():
            if pg:
                _drop_invalid(cursor, name)
                cursor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} {body}")
            else:
                cursor.execute(f"CREATE INDEX IF NOT EXISTS {name} {body}")
        if pg and _trigram_available(cursor):
            for name, column in TRIGRAM.items():
                _drop_invalid(cursor, name)
                cursor.execute(
                    f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON cases_case "
                    f"USING gin ((UPPER({column}::text)) gin_trgm_ops)"
                )


def backwards(apps, schema_editor) -> None:
    connection = schema_editor.connection
    concurrently = "CONCURRENTLY " if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        for name in NAMES:
            cursor.execute(f"DROP INDEX {concurrently}IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("cases", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
