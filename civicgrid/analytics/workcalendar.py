"""Working hours inside the database.

``civicgrid.cases.calendar`` answers "how many working hours between a and b" for one pair in
Python. To average and rank thousands of durations in one query, this module keeps the same
calendar as a table of office periods (``WorkPeriod``) with the working hours accumulated before
each, and offers SQL expressions:

- ``Epoch(expr)``: a datetime column as epoch seconds (SQLite ``julianday``, PostgreSQL
  ``EXTRACT(EPOCH …)``), so durations are plain arithmetic on both back ends;
- ``working_hours_at(field)``: W(t), the working hours from the table's start to ``t``; the
  working hours between a and b are W(b) − W(a).

The table is (re)built by ``ensure`` whenever the holiday table, the office periods or the time
zone change, or when the days needed are not covered yet; it is a derived cache of
``cases.calendar`` and never edited by hand.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import F, FloatField, Func, OuterRef, Subquery, Value
from django.db.models.functions import Least
from django.utils import timezone

from civicgrid.cases import calendar

from .models import WorkCalendarState, WorkPeriod

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
            template="CAST(EXTRACT(EPOCH FROM %(expressions)s) AS double precision)",
            **extra,
        )


def working_hours_at(field: str) -> Subquery:
    """W(t) for the datetime column ``field`` of the outer query (NULL when ``field`` is)."""
    t = Epoch(OuterRef(field))
    inner = (
        WorkPeriod.objects.filter(start__lte=t)
        .order_by("-start")
        .annotate(
            w=F("hours_before")
            + Least(t - F("start"), F("end") - F("start"), output_field=FloatField())
            / Value(3600.0)
        )
        .values("w")[:1]
    )
    return Subquery(inner, output_field=FloatField())


def _zone():
    return ZoneInfo(settings.TIME_ZONE) if settings.USE_TZ else timezone.get_current_timezone()


def fingerprint() -> str:
    """What the table depends on: holidays and make-up workdays, office periods, time zone."""
    from civicgrid.cases.models import Holiday

    h = hashlib.sha256()
    h.update(settings.TIME_ZONE.encode())
    h.update(repr([(a.isoformat(), b.isoformat()) for a, b in calendar.work_periods()]).encode())
    for day, workday in Holiday.objects.order_by("date").values_list("date", "is_workday"):
        h.update(f"{day.isoformat()}{int(workday)}".encode())
    return h.hexdigest()


def ensure(first: dt.date, last: dt.date) -> bool:
    """Make the table cover [first, last] for the current calendar; True when it was rebuilt."""
    fp = fingerprint()
    state = WorkCalendarState.objects.filter(pk=1).first()
    if (
        state is not None
        and state.fingerprint == fp
        and state.first_day
        and state.last_day
        and state.first_day <= first
        and state.last_day >= last
    ):
        return False
    if state is not None and state.fingerprint == fp and state.first_day and state.last_day:
        first, last = min(first, state.first_day), max(last, state.last_day)
    first -= dt.timedelta(days=7)
    last += dt.timedelta(days=MARGIN_DAYS)
    with transaction.atomic():
        # Serialise concurrent rebuilders on the state row (SQLite serialises writers anyway).
        WorkCalendarState.objects.get_or_create(pk=1)
        WorkCalendarState.objects.select_for_update().get(pk=1)
        WorkPeriod.objects.all().delete()
        WorkPeriod.objects.bulk_create(_periods(first, last), batch_size=2000)
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


def _periods(first: dt.date, last: dt.date) -> list[WorkPeriod]:
    calendar.clear_cache()  # the same workday rule as the SLA clock, read fresh
    tz = _zone()
    periods = calendar.work_periods()
    rows: list[WorkPeriod] = []
    hours = 0.0
    day = first
    while day <= last:
        if calendar.is_workday(day):
            for a, b in periods:
                start = int(dt.datetime.combine(day, a, tzinfo=tz).timestamp())
                end = int(dt.datetime.combine(day, b, tzinfo=tz).timestamp())
                rows.append(WorkPeriod(start=start, end=end, hours_before=hours))
                hours += (end - start) / 3600
        day += dt.timedelta(days=1)
    return rows


def working_hours_between(a: dt.datetime, b: dt.datetime) -> float:
    """Working hours between two moments, from the table (for checks against cases.calendar)."""

    def w(t: dt.datetime) -> float:
        epoch = t.timestamp()
        row = WorkPeriod.objects.filter(start__lte=epoch).order_by("-start").first()
        if row is None:
            raise ValueError(f"the working-hours table does not cover {t}")
        return row.hours_before + min(epoch - row.start, row.end - row.start) / 3600

    return w(b) - w(a)
