"""Monthly range partitions of the track point table on PostgreSQL (docs/field.md, "Storage").

``convert()`` turns the plain ``field_trackpoint`` table Django created into a table partitioned
by ``recorded_at`` (one partition per calendar month, UTC), copying the rows over in one
transaction. ``ensure()`` creates the partitions of the coming months, ``expire()`` detaches the
partitions older than the retention, optionally writes each to a gzipped CSV file first, and
drops them: dropping a month is instant, where ``DELETE`` of 400 million rows is not.

The partitioned table keeps the columns, the unique (patrol_id, recorded_at) constraint — the
idempotency key and the replay index — and the foreign key to the patrol. Its primary key
becomes (id, recorded_at), since a unique index on a partitioned table must contain the
partition key; ids still come from one sequence and stay unique.
"""

from __future__ import annotations

import datetime as dt
import gzip
from dataclasses import dataclass
from pathlib import Path

from django.db import connection, transaction

from civicgrid.core.errors import DomainError

TABLE = "field_trackpoint"


@dataclass
class Partition:
    name: str
    start: dt.date  # first day of the month

    @property
    def end(self) -> dt.date:
        return add_months(self.start, 1)


def add_months(day: dt.date, n: int) -> dt.date:
    months = day.year * 12 + day.month - 1 + n
    return dt.date(months // 12, months % 12 + 1, 1)


def month_start(day: dt.date) -> dt.date:
    return dt.date(day.year, day.month, 1)


def partition_name(start: dt.date) -> str:
    return f"{TABLE}_{start:%Y%m}"


def _require_postgres() -> None:
    if connection.vendor != "postgresql":
        raise DomainError(
            "postgresql_only",
            "Partitioning needs PostgreSQL; on SQLite the table stays a plain table.",
        )


def is_partitioned() -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cur:
        cur.execute(
            "SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = %s AND n.nspname = current_schema()",
            [TABLE],
        )
        row = cur.fetchone()
    return bool(row) and row[0] == "p"


def partitions() -> list[Partition]:
    """The monthly partitions attached to the table, oldest first."""
    if not is_partitioned():
        return []
    with connection.cursor() as cur:
        cur.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s ORDER BY c.relname",
            [TABLE],
        )
        names = [r[0] for r in cur.fetchall()]
    out = []
    for name in names:
        suffix = name.rsplit("_", 1)[-1]
        if suffix.isdigit() and len(suffix) == 6:
            out.append(Partition(name, dt.date(int(suffix[:4]), int(suffix[4:]), 1)))
    return out


def _create(cur, start: dt.date) -> str:
    name = partition_name(start)
    cur.execute(
        f'CREATE TABLE IF NOT EXISTS "{name}" PARTITION OF "{TABLE}" '
        f"FOR VALUES FROM ('{start.isoformat()} 00:00:00+00') "
        f"TO ('{add_months(start, 1).isoformat()} 00:00:00+00')"
    )
    return name


def convert(*, months_ahead: int = 2, today: dt.date | None = None) -> list[str]:
    """Turn the plain table into a monthly partitioned one, rows included. Idempotent."""
    _require_postgres()
    if is_partitioned():
        return ensure(months_ahead=months_ahead, today=today)
    today = today or dt.date.today()
    created = []
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(f'LOCK TABLE "{TABLE}" IN ACCESS EXCLUSIVE MODE')
        cur.execute(f'SELECT min(recorded_at), max(recorded_at), max(id) FROM "{TABLE}"')
        lo, hi, max_id = cur.fetchone()
        old = f"{TABLE}_unpartitioned"
        cur.execute(f'ALTER TABLE "{TABLE}" RENAME TO "{old}"')
        # Free the constraint names for the new table.
        cur.execute(f'ALTER TABLE "{old}" RENAME CONSTRAINT trackpoint_patrol_time TO "{old}_pt"')
        cur.execute(f'ALTER INDEX "{TABLE}_pkey" RENAME TO "{old}_pkey"')
        seq = f"{TABLE}_id_seq2"
        cur.execute(f'CREATE SEQUENCE IF NOT EXISTS "{seq}"')
        cur.execute("SELECT setval(%s, %s)", [seq, (max_id or 0) + 1])
        cur.execute(
            f'CREATE TABLE "{TABLE}" ('
            f"  id bigint NOT NULL DEFAULT nextval('{seq}'),"
            "  recorded_at timestamptz NOT NULL,"
            "  lat double precision NOT NULL,"
            "  lng double precision NOT NULL,"
            "  accuracy smallint NULL CHECK (accuracy >= 0),"
            "  patrol_id bigint NOT NULL REFERENCES field_patrol(id) "
            "    DEFERRABLE INITIALLY DEFERRED,"
            f'  CONSTRAINT "{TABLE}_pkey" PRIMARY KEY (id, recorded_at),'
            "  CONSTRAINT trackpoint_patrol_time UNIQUE (patrol_id, recorded_at)"
            ") PARTITION BY RANGE (recorded_at)"
        )
        cur.execute(f'ALTER SEQUENCE "{seq}" OWNED BY "{TABLE}".id')
        first = month_start(lo.date()) if lo else month_start(today)
        last = add_months(month_start(max(hi.date(), today) if hi else today), months_ahead)
        month = first
        while month <= last:
            created.append(_create(cur, month))
            month = add_months(month, 1)
        # Rows outside every month (clock errors the ingest let through) would fail the copy.
        cur.execute(f'CREATE TABLE "{TABLE}_default" PARTITION OF "{TABLE}" DEFAULT')
        cur.execute(
            f'INSERT INTO "{TABLE}" (id, recorded_at, lat, lng, accuracy, patrol_id) '
            f'SELECT id, recorded_at, lat, lng, accuracy, patrol_id FROM "{old}"'
        )
        cur.execute(f'DROP TABLE "{old}"')
    return created


def ensure(*, months_ahead: int = 2, today: dt.date | None = None) -> list[str]:
    """Create the partitions of this month and the next ``months_ahead`` (run monthly)."""
    _require_postgres()
    if not is_partitioned():
        raise DomainError("not_partitioned", f"{TABLE} is not partitioned; run --convert first.")
    today = today or dt.date.today()
    have = {p.start for p in partitions()}
    made = []
    with transaction.atomic(), connection.cursor() as cur:
        for n in range(0, months_ahead + 1):
            start = add_months(month_start(today), n)
            if start not in have:
                made.append(_create(cur, start))
    return made


def expire(
    *, keep_months: int, archive_dir: Path | None = None, today: dt.date | None = None
) -> list[str]:
    """Drop the partitions that ended more than ``keep_months`` months ago, archived first.

    Patrol totals (distance, time per grid) stay on the patrols, so reports over old periods
    keep working; only replaying an expired patrol's track is no longer possible.
    """
    _require_postgres()
    if keep_months < 1:
        raise DomainError("invalid", "keep_months must be at least 1.", field="keep_months")
    today = today or dt.date.today()
    cutoff = add_months(month_start(today), -keep_months)
    dropped = []
    for part in partitions():
        if part.end > cutoff:
            continue
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(f'ALTER TABLE "{TABLE}" DETACH PARTITION "{part.name}"')
            if archive_dir is not None:
                archive_dir.mkdir(parents=True, exist_ok=True)
                path = archive_dir / f"{part.name}.csv.gz"
                with gzip.open(path, "wb") as out:
                    with cur.cursor.copy(
                        f'COPY "{part.name}" (id, patrol_id, recorded_at, lat, lng, accuracy) '
                        "TO STDOUT WITH (FORMAT csv, HEADER true)"
                    ) as copy:
                        for block in copy:
                            out.write(block)
            cur.execute(f'DROP TABLE "{part.name}"')
        dropped.append(part.name)
    return dropped
