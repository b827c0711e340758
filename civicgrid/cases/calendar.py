"""Working-hours calendar: office periods on workdays, Chinese holidays and make-up workdays.

A day is a workday when the ``Holiday`` table says so (``is_workday``) or, without an entry,
when it is Monday–Friday. The table is seeded from the ``chinesecalendar`` package and extended
by admins each year once the State Council publishes the arrangement; a year without any entry
therefore falls back to weekends-only, and ``calendar_warnings`` tells the admin home about it.

The office periods come from the option ``WORK_PERIODS`` (civicgrid.core.conf) (local time, default
09:00–12:00 and 13:30–17:30, i.e. 7 working hours a day).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.core.conf import options

DEFAULT_PERIODS = (("09:00", "12:00"), ("13:30", "17:30"))
_CACHE_TTL = 60.0  # seconds; other processes see admin edits within a minute
_lock = threading.Lock()
_cache: dict = {"loaded": 0.0, "days": {}, "years": set()}


def _parse(hhmm: str) -> dt.time:
    h, m = hhmm.split(":")
    return dt.time(int(h), int(m))


def work_periods() -> list[tuple[dt.time, dt.time]]:
    raw = options().WORK_PERIODS
    return [(_parse(a), _parse(b)) for a, b in raw]


def hours_per_day() -> float:
    return (
        sum(
            (dt.datetime.combine(dt.date.min, b) - dt.datetime.combine(dt.date.min, a)).seconds
            for a, b in work_periods()
        )
        / 3600
    )


def clear_cache() -> None:
    with _lock:
        _cache["loaded"] = 0.0


def _overrides() -> tuple[dict[dt.date, bool], set[int]]:
    """{date: is_workday} from the Holiday table and the set of years it covers (cached)."""
    now = time.monotonic()
    with _lock:
        if now - _cache["loaded"] < _CACHE_TTL:
            return _cache["days"], _cache["years"]
    from .models import Holiday

    days = dict(Holiday.objects.values_list("date", "is_workday"))
    years = {d.year for d in days}
    with _lock:
        _cache.update(loaded=now, days=days, years=years)
    return days, years


def is_workday(day: dt.date) -> bool:
    days, _years = _overrides()
    if day in days:
        return days[day]
    return day.weekday() < 5


def _local(value: dt.datetime) -> dt.datetime:
    return timezone.localtime(value) if timezone.is_aware(value) else value


def add_hours(start: dt.datetime, hours: float | Decimal, unit: str) -> dt.datetime:
    """The moment ``hours`` after ``start``, counting natural or working hours."""
    hours = float(hours)
    if unit != "working" or hours == 0:
        return start + dt.timedelta(hours=hours)
    if hours < 0:
        return _sub_working(start, -hours)
    remaining = dt.timedelta(hours=hours)
    cur = _local(start)
    tz = cur.tzinfo
    periods = work_periods()
    day = cur.date()
    # A limit of several years would be a configuration error; stop rather than spin.
    for _i in range(3700):
        if is_workday(day):
            for a, b in periods:
                p_start = dt.datetime.combine(day, a, tzinfo=tz)
                p_end = dt.datetime.combine(day, b, tzinfo=tz)
                if p_end <= cur:
                    continue
                s = max(p_start, cur)
                avail = p_end - s
                if remaining <= avail:
                    return s + remaining
                remaining -= avail
        day += dt.timedelta(days=1)
    raise ValueError("working-hours limit too large")


def _sub_working(end: dt.datetime, hours: float) -> dt.datetime:
    """The moment ``hours`` working hours before ``end``."""
    remaining = dt.timedelta(hours=hours)
    cur = _local(end)
    tz = cur.tzinfo
    periods = list(reversed(work_periods()))
    day = cur.date()
    for _i in range(3700):
        if is_workday(day):
            for a, b in periods:
                p_start = dt.datetime.combine(day, a, tzinfo=tz)
                p_end = dt.datetime.combine(day, b, tzinfo=tz)
                if p_start >= cur:
                    continue
                e = min(p_end, cur)
                avail = e - p_start
                if remaining <= avail:
                    return e - remaining
                remaining -= avail
        day -= dt.timedelta(days=1)
    raise ValueError("working-hours limit too large")


def working_between(start: dt.datetime, end: dt.datetime) -> float:
    """Working hours between two moments (negative when ``end`` is before ``start``)."""
    if end < start:
        return -working_between(end, start)
    a_loc, b_loc = _local(start), _local(end)
    tz = a_loc.tzinfo
    total = dt.timedelta(0)
    day = a_loc.date()
    periods = work_periods()
    while day <= b_loc.date():
        if is_workday(day):
            for a, b in periods:
                s = max(dt.datetime.combine(day, a, tzinfo=tz), a_loc)
                e = min(dt.datetime.combine(day, b, tzinfo=tz), b_loc)
                if e > s:
                    total += e - s
        day += dt.timedelta(days=1)
    return total.total_seconds() / 3600


def elapsed_hours(start: dt.datetime, end: dt.datetime, unit: str) -> float:
    if unit == "working":
        return working_between(start, end)
    return (end - start).total_seconds() / 3600


def calendar_warnings(today: dt.date | None = None) -> list[str]:
    """Messages for the admin home when the current or next year has no calendar entries."""
    today = today or timezone.localdate()
    _days, years = _overrides()
    out = []
    for year in (today.year, today.year + 1):
        if year not in years:
            out.append(
                _(
                    "The holiday calendar has no entries for %(year)s: deadlines in that year "
                    "count every Monday–Friday as a workday. Add the official holiday "
                    "arrangement under Cases › Holiday calendar."
                )
                % {"year": year}
            )
    return out


def seed_from_package(years: list[int] | None = None) -> int:
    """Copy holidays and make-up workdays from ``chinesecalendar`` into the table; returns count.

    Existing rows are kept (an admin's correction wins). Only the package's years are available.
    """
    from chinese_calendar import constants

    from .models import Holiday

    rows = []
    for day, name in constants.holidays.items():
        if _in(years, day):
            rows.append(Holiday(date=day, is_workday=False, name=_name(name)))
    for day, name in constants.workdays.items():
        if _in(years, day):
            rows.append(Holiday(date=day, is_workday=True, name=_name(name)))
    existing = set(Holiday.objects.values_list("date", flat=True))
    new = [r for r in rows if r.date not in existing]
    Holiday.objects.bulk_create(new, batch_size=500)
    clear_cache()
    return len(new)


def _in(years: list[int] | None, day: dt.date) -> bool:
    return years is None or day.year in years


_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利纪念日",
}


def _name(english: str) -> str:
    return _NAMES.get(english, english)
