"""Early warning: the Poisson test with a minimum count, flagged once a day, notified once."""

from __future__ import annotations

import datetime as dt
import math

import pytest
import time_machine
from django.core.management import call_command

from civicgrid.analytics import early_warning as ew
from civicgrid.analytics.models import EarlyWarning
from civicgrid.analytics.selectors import case_q, resolve_filters
from civicgrid.notifications.models import Notification

from .conftest import A1, B1, at

TODAY = at(2026, 5, 20, 15)


def exact_sf(k: int, lam: float) -> float:
    return 1 - sum(math.exp(-lam) * lam**i / math.factorial(i) for i in range(k))


@pytest.mark.parametrize("k,lam", [(5, 0.5), (3, 2.0), (12, 2.0), (1, 0.1), (30, 20.0)])
def test_poisson_tail_matches_the_textbook_sum(k, lam):
    assert ew.poisson_sf(k, lam) == pytest.approx(exact_sf(k, lam), rel=1e-9, abs=1e-15)


def test_poisson_tail_stays_accurate_where_one_minus_cdf_underflows():
    # P(X ≥ 40 | λ = 1) ≈ 1.2e-48: far below what 1 − cdf can resolve.
    p = ew.poisson_sf(40, 1.0)
    assert 1e-49 < p < 1e-47
    assert ew.poisson_sf(5, 0) == 0.0 and ew.poisson_sf(0, 3) == 1.0


def spread(driver, days: int, per_day: int, where, category=None):
    """``per_day`` reports on each of the ``days`` days before TODAY."""
    for d in range(1, days + 1):
        for i in range(per_day):
            driver.report(TODAY - dt.timedelta(days=d, hours=i), where=where, category=category)


def burst(driver, n: int, where, category=None):
    for i in range(n):
        driver.report(TODAY - dt.timedelta(minutes=10 * (i + 1)), where=where, category=category)


def test_burst_far_above_baseline_is_flagged(world, cats, driver):
    spread(driver, 28, 1, A1)  # baseline: 1 a day in street A1
    burst(driver, 8, A1)  # today: 8 → P(X ≥ 8 | 1) ≈ 1e-5
    with time_machine.travel(TODAY, tick=False):
        signals = ew.detect()
    assert len(signals) == 1
    s = signals[0]
    assert (s.area_code, s.count, s.baseline) == ("140213001", 8, pytest.approx(1.0))
    assert s.p_value == pytest.approx(exact_sf(8, 1.0))


def test_usual_volume_and_small_counts_are_not_flagged(world, cats, driver):
    spread(driver, 28, 3, A1)
    burst(driver, 6, A1)  # 6 against a mean of 3: P ≈ 0.08, ordinary
    burst(driver, 4, B1, cats.fire)  # 4 where there are usually none: below the minimum of 5
    with time_machine.travel(TODAY, tick=False):
        assert ew.detect() == []


def test_scan_stores_and_notifies_once_per_day(world, cats, driver):
    burst(driver, 5, A1)  # 5 where there are usually none
    with time_machine.travel(TODAY, tick=False):
        first = ew.scan()
        burst(driver, 2, A1)
        again = ew.scan()
    assert len(first) == 1 and again == []
    row = EarlyWarning.objects.get()
    assert (row.area_code, row.category.code, row.day) == ("140213001000", "0401", TODAY.date())
    # Leaders and operators whose scope covers street A1: leader_a, operator_a; not outsider_b.
    notified = set(
        Notification.objects.filter(kind="early_warning").values_list(
            "recipient__username", flat=True
        )
    )
    assert notified == {"leader_a", "operator_a"} and row.notified == 2


def test_detect_respects_the_viewer_scope(world, cats, driver):
    burst(driver, 6, B1, cats.fire)
    with time_machine.travel(TODAY, tick=False):
        mine = ew.detect(scope=case_q(world.leader_a, resolve_filters(world.leader_a)))
        theirs = ew.detect(scope=case_q(world.outsider_b, resolve_filters(world.outsider_b)))
    assert mine == [] and len(theirs) == 1


def test_command_scans(world, cats, driver, capsys):
    burst(driver, 5, A1)
    with time_machine.travel(TODAY, tick=False):
        call_command("early_warning_scan", "--no-schedule")
    assert "1 new warnings" in capsys.readouterr().out
