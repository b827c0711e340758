"""The working-hours calendar as a minute table, for deadlines of many cases at once."""

from __future__ import annotations

import bisect
import datetime as dt

import numpy as np
from django.utils import timezone

from .. import calendar
from .data import W

# --- the calendar as a minute table ------------------------------------------------------------


class MinuteClock:
    """``calendar.add_hours`` for many cases: cumulative working minutes per minute boundary."""

    def __init__(self, start: dt.datetime, end: dt.datetime):
        tz = timezone.get_current_timezone()
        self.t0 = dt.datetime.combine(timezone.localtime(start, tz).date(), dt.time(0), tz)
        days = (end - self.t0).days + 2
        periods = [
            (a.hour * 60 + a.minute, b.hour * 60 + b.minute) for a, b in calendar.work_periods()
        ]
        day_mask = np.zeros(1440, dtype=np.int32)
        for a, b in periods:
            day_mask[a:b] = 1
        work = np.zeros(days * 1440, dtype=np.int32)
        for d in range(days):
            if calendar.is_workday((self.t0 + dt.timedelta(days=d)).date()):
                work[d * 1440 : (d + 1) * 1440] = day_mask
        self.cum = np.concatenate([[0], np.cumsum(work)]).tolist()
        self.size = len(self.cum)

    def _idx(self, t: dt.datetime) -> int:
        return int((t - self.t0).total_seconds() // 60)

    def _at(self, i: int) -> dt.datetime:
        return self.t0 + dt.timedelta(minutes=i)

    def add(self, start: dt.datetime, hours: float, unit: str) -> dt.datetime:
        if unit != W or hours == 0:
            return start + dt.timedelta(hours=hours)
        i = self._idx(start)
        if not 0 <= i < self.size or start.second or start.microsecond:
            return calendar.add_hours(start, hours, unit)
        minutes = round(hours * 60)
        if hours > 0:
            j = bisect.bisect_left(self.cum, self.cum[i] + minutes, lo=i)
            if j >= self.size:
                return calendar.add_hours(start, hours, unit)
            return self._at(j)
        j = bisect.bisect_right(self.cum, self.cum[i] + minutes, hi=i + 1) - 1
        return self._at(j) if j >= 0 else calendar.add_hours(start, hours, unit)
