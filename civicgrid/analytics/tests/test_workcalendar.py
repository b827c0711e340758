"""The in-database working-hours table agrees with the SLA calendar of the case engine."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.test import override_settings

from civicgrid.analytics import workcalendar
from civicgrid.analytics.models import WorkDay
from civicgrid.cases import calendar
from civicgrid.cases.models import Holiday

from .conftest import at


@pytest.fixture
def cal2025(db):
    calendar.seed_from_package([2025])


def test_table_matches_calendar_across_spring_festival(cal2025):
    workcalendar.ensure(dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    rng = random.Random(7)
    start = at(2025, 1, 1)
    for _ in range(200):
        a = start + dt.timedelta(minutes=rng.randrange(0, 365 * 24 * 60))
        b = a + dt.timedelta(minutes=rng.randrange(0, 30 * 24 * 60))
        assert workcalendar.working_hours_between(a, b) == pytest.approx(
            calendar.working_between(a, b), abs=1e-6
        )


def test_holiday_edit_rebuilds_the_table(cal2025):
    assert workcalendar.ensure(dt.date(2025, 3, 1), dt.date(2025, 3, 31)) is True
    assert workcalendar.ensure(dt.date(2025, 3, 1), dt.date(2025, 3, 31)) is False
    monday = at(2025, 3, 3, 9)
    assert workcalendar.working_hours_between(monday, at(2025, 3, 3, 18)) == 7
    Holiday.objects.create(date=dt.date(2025, 3, 3), is_workday=False, name="停工")
    assert workcalendar.ensure(dt.date(2025, 3, 1), dt.date(2025, 3, 31)) is True
    assert workcalendar.working_hours_between(monday, at(2025, 3, 3, 18)) == 0


@override_settings(CIVICGRID={"WORK_PERIODS": (("08:00", "12:00"), ("14:00", "18:00"))})
def test_office_periods_come_from_settings(db):
    workcalendar.ensure(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    assert workcalendar.working_hours_between(at(2026, 3, 2, 7), at(2026, 3, 2, 19)) == 8
    # 08:00–12:00 and 14:00–18:00 in UTC+8 are 00:00–04:00 and 06:00–10:00 UTC.
    row = WorkDay.objects.get(day=int(at(2026, 3, 2, 8).timestamp()) // 86400)
    assert row.pieces() == [(0, 4 * 3600), (6 * 3600, 10 * 3600)]


@override_settings(TIME_ZONE="America/New_York")
def test_daylight_saving_zone_is_split_by_utc_day(db):
    from zoneinfo import ZoneInfo

    ny = ZoneInfo("America/New_York")
    workcalendar.ensure(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    # DST starts Sun 8 Mar 2026: Fri 6 Mar 16:00 EST → Mon 9 Mar 10:00 EDT: 1.5 h + 1 h.
    a = dt.datetime(2026, 3, 6, 16, 0, tzinfo=ny)
    b = dt.datetime(2026, 3, 9, 10, 0, tzinfo=ny)
    assert workcalendar.working_hours_between(a, b) == pytest.approx(1.5 + 1)
