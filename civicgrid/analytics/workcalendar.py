"""Working hours inside the database.

``civicgrid.cases.calendar`` answers "how many working hours between a and b" for one pair in
Python. To average and rank tens of thousands of durations in one query, this module keeps the
same calendar as a table with one row per UTC day (``WorkDay``: the working hours accumulated up
to that UTC midnight and the office periods falling on that day) and offers SQL fragments:

- ``Epoch(expr)``: a datetime column as epoch seconds (SQLite ``julianday``, PostgreSQL
  ``EXTRACT(EPOCH …)``), so durations are plain arithmetic on both back ends;
- ``day_key_sql(epoch)`` and ``working_hours_sql(epoch, alias)``: join ``WorkDay`` on the
  integer day of a timestamp (an equality join, not a per-row range search) and compute W(t),
  the working hours from the table's start to t; W(b) − W(a) is the working time between them.

Splitting by UTC day keeps the table correct for any time zone, daylight saving included: the
local office periods are turned into UTC instants when the table is built.

The table is (re)built by ``ensure`` whenever the holiday table, the office periods or the time
zone change, or when the days needed are not covered yet; it is a derived cache of
``cases.calendar`` and never edited by hand.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import FloatField, Func
from django.utils import timezone

from civicgrid.cases import calendar

from .models import WorkCalendarState, WorkDay

DAY_S = 86400
PIECES = 4  # office-period pieces a UTC day can hold (s1/e1 … s4/e4)
LAYOUT = "workday-v1"  # bump when the table's meaning changes, so existing tables rebuild
MARGIN_DAYS = 366  # built ahead of today and behind the oldest need, so rebuilds are rare


class Epoch(Func):
    """Seconds since 1970-01-01 UTC of a datetime expression, as a float."""

    arity = 1
    output_field = FloatField()

    def as_sqlite(self, compiler, connection, **extra):
        # Django stores aware datetimes on SQLite as UTC text that julianday() parses.
        return self.as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)",
            **extra,
        )

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            # date_part gives a double directly; EXTRACT computes a numeric (slower since PG 14).
            template="date_part('epoch', %(expressions)s)",
            **extra,
        )


def day_key_sql(epoch: str) -> str:
    """SQL for ⌊epoch / 86400⌋ as an integer (epochs after 1970 are positive)."""
    if connection.vendor == "postgresql":
        return f"CAST(FLOOR(({epoch}) / {DAY_S}) AS integer)"
    return f"CAST(({epoch}) / {DAY_S} AS INTEGER)"


def working_hours_sql(epoch: str, alias: str) -> str:
    """SQL for W(t) where ``alias`` is the ``WorkDay`` row joined on ``day_key_sql(epoch)``."""
    lo, hi = ("GREATEST", "LEAST") if connection.vendor == "postgresql" else ("MAX", "MIN")
    sec = f"(({epoch}) - {alias}.day * {DAY_S})"
    terms = " + ".join(
        f"{hi}({lo}({sec} - {alias}.s{i}, 0), {alias}.e{i} - {alias}.s{i})"
        for i in range(1, PIECES + 1)
    )
    return f"({alias}.hours_before + ({terms}) / 3600.0)"


def _zone():
    return ZoneInfo(settings.TIME_ZONE) if settings.USE_TZ else timezone.get_current_timezone()


def fingerprint() -> str:
    """What the table depends on: holidays and make-up workdays, office periods, time zone."""
    from civicgrid.cases.models import Holiday

    h = hashlib.sha256()
    h.update(LAYOUT.encode())
    h.update(settings.TIME_ZONE.encode())
    h.update(repr([(a.isoformat(), b.isoformat()) for a, b in calendar.work_periods()]).encode())
    for day, workday in Holiday.objects.order_by("date").values_list("date", "is_workday"):
        h.update(f"{day.isoformat()}{int(workday)}".encode())
    return h.hexdigest()


def ensure(first: dt.date, last: dt.date) -> bool:
    """Make the table cover local days [first, last] for the current calendar; True if rebuilt."""
    fp = fingerprint()
    state = WorkCalendarState.objects.filter(pk=1).first()
    same = state is not None and state.fingerprint == fp and state.first_day and state.last_day
    if same and state.first_day <= first and state.last_day >= last:
        return False
    if same:
        first, last = min(first, state.first_day), max(last, state.last_day)
    first -= dt.timedelta(days=7)
    last += dt.timedelta(days=MARGIN_DAYS)
    rows = _days(first, last)
    with transaction.atomic():
        # Serialise concurrent rebuilders on the state row (SQLite serialises writers anyway).
        WorkCalendarState.objects.get_or_create(pk=1)
        WorkCalendarState.objects.select_for_update().get(pk=1)
        WorkDay.objects.all().delete()
        WorkDay.objects.bulk_create(rows, batch_size=2000)
        WorkCalendarState.objects.filter(pk=1).update(
            fingerprint=fp, first_day=first, last_day=last, built_at=timezone.now()
        )
    return True


def ensure_for_cases() -> None:
    """Cover every case's filing and closing dates (the oldest need is the oldest filing)."""
    from django.db.models import Min

    from civicgrid.cases.models import Case

    oldest = Case.objects.aggregate(m=Min("filed_at"))["m"]
    today = timezone.localdate()
    first = timezone.localdate(oldest) if oldest else today
    ensure(min(first, today - dt.timedelta(days=MARGIN_DAYS)), today + dt.timedelta(days=1))


def _days(first: dt.date, last: dt.date) -> list[WorkDay]:
    """UTC-day rows covering the local days [first, last] (plus the UTC days they touch)."""
    calendar.clear_cache()  # the same workday rule as the SLA clock, read fresh
    tz = _zone()
    periods = calendar.work_periods()
    pieces: dict[int, list[tuple[int, int]]] = {}
    day = first
    while day <= last:
        if calendar.is_workday(day):
            for a, b in periods:
                start = int(dt.datetime.combine(day, a, tzinfo=tz).timestamp())
                end = int(dt.datetime.combine(day, b, tzinfo=tz).timestamp())
                while start < end:  # split at UTC midnights
                    key = start // DAY_S
                    cut = min(end, (key + 1) * DAY_S)
                    pieces.setdefault(key, []).append((start - key * DAY_S, cut - key * DAY_S))
                    start = cut
        day += dt.timedelta(days=1)
    lo = int(dt.datetime.combine(first, dt.time.min, tzinfo=tz).timestamp()) // DAY_S
    hi = int(dt.datetime.combine(last, dt.time.max, tzinfo=tz).timestamp()) // DAY_S
    rows: list[WorkDay] = []
    hours = 0.0
    for key in range(lo, hi + 1):
        parts = sorted(pieces.get(key, []))
        if len(parts) > PIECES:
            raise ValueError(
                f"{len(parts)} office periods fall on one UTC day; at most {PIECES} are supported"
            )
        row = WorkDay(day=key, hours_before=hours)
        for i, (s, e) in enumerate(parts, start=1):
            setattr(row, f"s{i}", s)
            setattr(row, f"e{i}", e)
            hours += (e - s) / 3600
        rows.append(row)
    return rows


def working_hours_between(a: dt.datetime, b: dt.datetime) -> float:
    """Working hours between two moments, read from the table (checks against cases.calendar)."""
    days = WorkDay.objects.in_bulk([int(a.timestamp()) // DAY_S, int(b.timestamp()) // DAY_S])

    def w(t: dt.datetime) -> float:
        epoch = t.timestamp()
        row = days.get(int(epoch) // DAY_S)
        if row is None:
            raise ValueError(f"the working-hours table does not cover {t}")
        sec = epoch - row.day * DAY_S
        return row.hours_before + sum(min(max(sec - s, 0), e - s) for s, e in row.pieces()) / 3600

    return w(b) - w(a)
