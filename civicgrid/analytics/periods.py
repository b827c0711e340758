"""Reporting periods in local time: day, week, month, quarter, year or custom dates.

A period is the half-open interval [start, end). Its comparison periods are the previous period
of the same kind (环比) and the same dates one year earlier (同比). While a period is still
running, comparisons cover the same elapsed span of the earlier period (1–10 March is compared
with 1–10 February, not with all of February), so counts are comparable.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from civicgrid.core.errors import DomainError

KINDS = ("day", "week", "month", "quarter", "year", "custom")
MAX_CUSTOM_DAYS = 3 * 366


def _aware(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _add_months(day: dt.date, months: int) -> dt.date:
    total = day.year * 12 + day.month - 1 + months
    return dt.date(total // 12, total % 12 + 1, 1)


def _minus_year(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


@dataclass(frozen=True)
class Period:
    kind: str
    first: dt.date  # first day
    last: dt.date  # last day (inclusive)
    cut: dt.datetime | None = None  # an earlier end, for the elapsed-span comparisons

    @property
    def start(self) -> dt.datetime:
        return _aware(self.first)

    @property
    def end(self) -> dt.datetime:
        full = _aware(self.last + dt.timedelta(days=1))
        return min(full, self.cut) if self.cut else full

    def until(self, now: dt.datetime | None = None) -> dt.datetime:
        """The period's end, or now while it is still running (T′ in docs/analytics.md)."""
        now = now or timezone.now()
        return min(self.end, now)

    def is_running(self, now: dt.datetime | None = None) -> bool:
        return (now or timezone.now()) < self.end

    @property
    def label(self) -> str:
        if self.kind == "day":
            return self.first.isoformat()
        if self.kind == "month":
            return f"{self.first:%Y-%m}"
        if self.kind == "year":
            return str(self.first.year)
        if self.kind == "quarter":
            return f"{self.first.year}Q{(self.first.month - 1) // 3 + 1}"
        return f"{self.first.isoformat()}~{self.last.isoformat()}"

    def previous(self, now: dt.datetime | None = None) -> Period:
        """环比: the period of the same kind just before (same elapsed span while running)."""
        if self.kind == "day":
            first = self.first - dt.timedelta(days=1)
            last = first
        elif self.kind == "week":
            first, last = self.first - dt.timedelta(days=7), self.first - dt.timedelta(days=1)
        elif self.kind in ("month", "quarter", "year"):
            n = {"month": 1, "quarter": 3, "year": 12}[self.kind]
            first = _add_months(self.first, -n)
            last = self.first - dt.timedelta(days=1)
        else:
            days = (self.last - self.first).days + 1
            first, last = self.first - dt.timedelta(days=days), self.first - dt.timedelta(days=1)
        return self._elapsed(Period(self.kind, first, last), now)

    def year_ago(self, now: dt.datetime | None = None) -> Period:
        """同比: the same dates one year earlier (same elapsed span while running)."""
        first = _minus_year(self.first)
        if self.kind in ("month", "quarter", "year"):
            n = {"month": 1, "quarter": 3, "year": 12}[self.kind]
            last = _add_months(first, n) - dt.timedelta(days=1)
        else:
            last = _minus_year(self.last)
        return self._elapsed(Period(self.kind, first, last), now)

    def _elapsed(self, other: Period, now: dt.datetime | None) -> Period:
        now = now or timezone.now()
        if not self.is_running(now):
            return other
        elapsed = max(now - self.start, dt.timedelta(0))
        return replace(other, cut=other.start + elapsed)

    def as_dict(self, now: dt.datetime | None = None) -> dict:
        return {
            "kind": self.kind,
            "label": self.label,
            "first": self.first.isoformat(),
            "last": self.last.isoformat(),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "until": self.until(now).isoformat(),
            "running": self.is_running(now),
        }


def _date(value, name: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    raw = str(value or "").strip()
    parsed = None
    if len(raw) == 7 and raw[4] == "-":  # 2026-03
        parsed = parse_date(raw + "-01")
    elif len(raw) == 4 and raw.isdigit():
        parsed = dt.date(int(raw), 1, 1)
    else:
        try:
            parsed = parse_date(raw)
        except ValueError:
            parsed = None
    if parsed is None:
        raise DomainError(
            "invalid_date",
            _("%(field)s must be a date like 2026-03-15.") % {"field": name},
            field=name,
        )
    return parsed


def period_from(
    kind: str = "month",
    date=None,
    start=None,
    end=None,
    *,
    today: dt.date | None = None,
) -> Period:
    """The period of ``kind`` containing ``date`` (default today); ``custom`` needs start, end."""
    kind = (kind or "month").strip().lower()
    if kind not in KINDS:
        raise DomainError(
            "invalid_period",
            _("period must be one of %(kinds)s.") % {"kinds": ", ".join(KINDS)},
            field="period",
        )
    today = today or timezone.localdate()
    if kind == "custom":
        if not start or not end:
            raise DomainError(
                "required",
                _("A custom period needs start and end dates."),
                field="start" if not start else "end",
            )
        first, last = _date(start, "start"), _date(end, "end")
        if last < first:
            raise DomainError("invalid_period", _("end must not be before start."), field="end")
        if (last - first).days >= MAX_CUSTOM_DAYS:
            raise DomainError(
                "invalid_period",
                _("A custom period may span at most %(n)s days.") % {"n": MAX_CUSTOM_DAYS},
                field="end",
            )
        return Period(kind, first, last)
    day = _date(date, "date") if date else today
    if kind == "day":
        return Period(kind, day, day)
    if kind == "week":
        first = day - dt.timedelta(days=day.weekday())
        return Period(kind, first, first + dt.timedelta(days=6))
    if kind == "month":
        first = day.replace(day=1)
    elif kind == "quarter":
        first = dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    else:
        first = dt.date(day.year, 1, 1)
    n = {"month": 1, "quarter": 3, "year": 12}[kind]
    return Period(kind, first, _add_months(first, n) - dt.timedelta(days=1))
