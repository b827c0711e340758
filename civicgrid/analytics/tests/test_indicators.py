"""Every indicator of docs/domain.md §6 against figures worked out by hand from conftest's timeline."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from civicgrid.analytics import indicators as ind
from civicgrid.analytics.periods import period_from
from civicgrid.analytics.selectors import resolve_filters
from civicgrid.cases import services
from civicgrid.cases.models import CaseAction, State
from civicgrid.cases.selectors import case_queryset_for
from civicgrid.core.errors import DomainError, NotFound

from .conftest import NOW, at, on

MARCH = period_from("month", "2026-03")
APRIL = period_from("month", "2026-04")


def march_values(user, **filters):
    return ind.values(user, MARCH, resolve_filters(user, **filters), now=NOW)


def test_march_figures_match_the_hand_computation(march, world, frozen_now):
    v = march_values(world.leader_a)
    # c1–c13 reported in March in district A (b1 is district B).
    assert v["received"] == 13
    # Accepted in March: c1 c2 c3 c4 c8 c9 c10 c11 c13 (c5 self-closed, c6/c7 never, c12 waits).
    assert v["filed"] == 9
    # Only c2 was accepted after its 2-hour response limit.
    assert v["filed_on_time_rate"] == pytest.approx(8 / 9)
    # Handled or closed now: c1–c5 and c11 (closed in April); c10 was reopened.
    assert v["handled"] == 6
    assert v["handled_rate"] == pytest.approx(6 / (13 - 1 - 1))
    # Closed in March for good: c1–c5 (c10's closing was undone by the reopen).
    assert v["closed"] == 5
    # Due: those 5 + open past deadline on 31 March: c8, c11, c13 (c9 suspended, c12 never
    # accepted, c10 closed at the time).
    assert v["due"] == 8
    assert v["close_rate"] == pytest.approx(5 / 8)
    # On time: c1, c2, c3 (thanks to its extension), c5 (self-closed within the response limit).
    assert v["on_time_close_rate"] == pytest.approx(4 / 8)
    # Overdue at the end of March: c8, c11, c13 and c12 (never accepted, response limit passed).
    assert v["overdue"] == 4
    assert v["rework_rate"] == pytest.approx(1 / 9)  # c2
    assert v["extension_rate"] == pytest.approx(1 / 9)  # c3
    # 10 dispatches (c13 twice), 1 return.
    assert v["dispatch_accuracy"] == pytest.approx(0.9)
    assert v["self_handled_rate"] == pytest.approx(1 / 13)  # c5
    assert v["satisfaction_rate"] == pytest.approx(0.5)  # c1 rated 5, c2 rated 3
    # filed→closed of c1 c2 c3 c4: 24, 46, 120.5, 72 natural hours; 7, 12, 34.5, 21 working.
    assert v["duration_mean_hours"] == pytest.approx((24 + 46 + 120.5 + 72) / 4)
    assert v["duration_p90_hours"] == pytest.approx(120.5)
    assert v["duration_mean_work_hours"] == pytest.approx((7 + 12 + 34.5 + 21) / 4)
    assert v["duration_p90_work_hours"] == pytest.approx(34.5)


def test_running_period_uses_the_state_now(march, world, frozen_now):
    v = ind.values(world.leader_a, APRIL, resolve_filters(world.leader_a), now=NOW)
    assert v["received"] == 0 and v["filed"] == 0
    # c11 closed 3 April, late (deadline 22 March).
    assert v["closed"] == 1
    # Open past deadline now: c8, c13, c10 (reopened, new deadline 4 April); c9 suspended.
    assert v["due"] == 4
    assert v["close_rate"] == pytest.approx(1 / 4)
    assert v["on_time_close_rate"] == 0
    # Plus c12, reported and never accepted.
    assert v["overdue"] == 4


def test_live_overdue_matches_the_engine_clock(march, world, frozen_now):
    live = {c.pk for c in ind.overdue_cases(world.leader_a, limit=100, now=NOW)}
    engine = set(case_queryset_for(world.leader_a, overdue=True).values_list("pk", flat=True))
    assert live == engine == {march.c8.pk, march.c10.pk, march.c12.pk, march.c13.pk}


def test_suspended_case_is_neither_due_nor_overdue(march, world, frozen_now):
    assert march.c9.state == State.SUSPENDED
    before = march_values(world.leader_a)
    on(at(2026, 3, 29, 9), services.case_resume, case=march.c9, actor=world.operator_a)
    after = march_values(world.leader_a)
    # Suspended at 16 Mar 11:00 with 46.5 h left (deadline 18 Mar 09:30), resumed 29 Mar 09:00:
    # the new deadline 31 Mar 07:30 passes before the month ends, so it is now due and overdue.
    march.c9.refresh_from_db()
    assert march.c9.final_due == at(2026, 3, 31, 7, 30)
    assert after["due"] == before["due"] + 1
    assert after["overdue"] == before["overdue"] + 1


def test_reopened_case_is_reconstructed_from_the_action_log(march, world, frozen_now):
    # c10 was reopened on 2 April: at the end of March it was closed, not open.
    last = (
        CaseAction.objects.filter(case=march.c10, created_at__lt=at(2026, 4, 1))
        .order_by("-created_at")
        .first()
    )
    assert last.to_state == State.CLOSED and march.c10.state == State.FILED
    v = march_values(world.leader_a)
    assert v["due"] == 8 and v["closed"] == 5
    # Closed again later, it counts in the month of that final closing.
    d_case = march.c10
    on(
        at(2026, 4, 5, 9),
        services.case_dispatch,
        case=d_case,
        actor=world.operator_a,
        department=world.dept_a,
    )
    on(at(2026, 4, 5, 10), services.case_sign, case=d_case, actor=world.handler_a)
    from .conftest import jpeg

    on(
        at(2026, 4, 5, 11),
        services.case_submit,
        case=d_case,
        actor=world.handler_a,
        result="再次清理",
        attachments=[jpeg()],
    )
    on(at(2026, 4, 5, 12), services.case_verify, case=d_case, actor=world.operator_a, note="属实")
    april = ind.values(world.leader_a, APRIL, resolve_filters(world.leader_a), now=NOW)
    assert april["closed"] == 2  # c11 and c10
    assert march_values(world.leader_a)["closed"] == 5


def test_first_acceptance_is_the_filing_date_even_after_escalation(world, cats, driver):
    case = driver.report(at(2026, 3, 2, 9))
    driver.accept(case, at(2026, 3, 2, 9, 30))
    on(
        at(2026, 3, 2, 10),
        services.case_escalate,
        case=case,
        actor=world.operator_a,
        reason="需街道协调",
    )
    driver.accept(case, at(2026, 4, 1, 9))
    case.refresh_from_db()
    assert case.filed_at == at(2026, 3, 2, 9, 30)
    with time_machine.travel(NOW, tick=False):
        assert march_values(world.leader_a)["filed"] == 1
        assert ind.values(world.leader_a, APRIL, resolve_filters(world.leader_a))["filed"] == 0


def test_comparisons_with_previous_month_and_last_year(march, world, frozen_now):
    rep = ind.report(world.leader_a, MARCH, resolve_filters(world.leader_a), now=NOW)
    assert rep["previous_period"]["label"] == "2026-02"
    assert rep["year_ago_period"]["label"] == "2025-03"
    assert rep["previous"]["received"] == 1 and rep["year_ago"]["received"] == 1
    assert rep["previous"]["close_rate"] == 1.0
    # Counts change relatively, rates in percentage points.
    assert rep["change_previous"]["received"] == pytest.approx(12.0)
    assert rep["change_year_ago"]["close_rate"] == pytest.approx(5 / 8 - 1)


def test_running_period_compares_the_same_elapsed_span(world):
    p = period_from("month", "2026-03-01")
    now = at(2026, 3, 10, 12)
    prev = p.previous(now)
    assert prev.start == at(2026, 2, 1) and prev.end == at(2026, 2, 10, 12)
    assert p.year_ago(now).end == at(2025, 3, 10, 12)


@pytest.mark.parametrize(
    "persona,received",
    [
        ("leader_a", 13),
        ("operator_a", 13),
        ("chief_a", 13),
        ("admin", 14),
        ("outsider_b", 1),
    ],
)
def test_scope_persona_matrix(march, world, frozen_now, persona, received):
    assert march_values(getattr(world, persona))["received"] == received


@pytest.mark.parametrize("persona", ["handler_a", "worker_a1", "citizen"])
def test_roles_without_analytics_are_refused(march, world, persona):
    with pytest.raises(DomainError) as exc:
        resolve_filters(getattr(world, persona))
    assert exc.value.status == 403


@pytest.mark.parametrize(
    "persona,area,ok",
    [
        ("leader_a", "140213000000", True),
        ("leader_a", "140214000000", False),
        ("leader_a", "140200000000", False),
        ("chief_a", "140213001001001", True),
        ("chief_a", "140213000000", False),
        ("admin", "140214000000", True),
        ("outsider_b", "140213001000", False),
    ],
)
def test_area_drill_down_stays_in_scope(march, world, persona, area, ok):
    user = getattr(world, persona)
    if ok:
        assert resolve_filters(user, area=area).prefix
    else:
        with pytest.raises(NotFound):
            resolve_filters(user, area=area)


def test_filters_by_area_category_source_and_department(march, world, frozen_now):
    admin = world.admin
    assert march_values(admin, area="140214000000")["received"] == 1
    assert march_values(admin, category="05")["received"] == 1
    assert march_values(admin, category="0401")["received"] == 13
    assert march_values(admin, source="citizen")["received"] == 3  # c1, c2, c12
    dept = march_values(admin, department="A-CG")
    # Cases now with 甲区城管局: c1 c2 c3 c4 c8 c9 c11 c13 (c10's reopen cleared it).
    assert dept["filed"] == 8 and dept["closed"] == 4 and dept["due"] == 7
    assert dept["dispatch_accuracy"] == pytest.approx(0.9)
    with pytest.raises(DomainError) as exc:
        resolve_filters(admin, source="pigeon")
    assert exc.value.field == "source"


def test_department_score_with_default_weights(march, world, frozen_now):
    rows = ind.department_scores(world.admin, MARCH, resolve_filters(world.admin), now=NOW)
    a = next(r for r in rows if r["department"] == "A-CG")
    assert a["unanswered_supervisions"] == 1  # c8's; c13's was answered by signing
    expected = 40 * 3 / 7 + 30 * 4 / 7 + 20 * (1 - 1 / 8) + 10 * 0.9 - 0.5 * 1
    assert a["score"] == pytest.approx(expected)
    custom = ind.department_scores(
        world.admin,
        MARCH,
        resolve_filters(world.admin),
        now=NOW,
        weights={
            "on_time_close_rate": 100,
            "close_rate": 0,
            "rework_rate": 0,
            "dispatch_accuracy": 0,
            "unanswered_supervision": 0,
        },
    )
    assert custom[0]["score"] == pytest.approx(100 * 3 / 7)


def test_department_score_scales_weights_when_a_rate_is_undefined():
    counts = ind.Counts(closed=1, closed_on_time=1, filed=1)  # never dispatched
    # 40 + 30 + 20 on the defined rates, scaled from 90 to the full 100.
    assert ind.department_score(counts) == pytest.approx(100.0)
    assert ind.department_score(ind.Counts()) is None


def test_breakdown_by_district_and_category(march, world, frozen_now):
    rows = ind.breakdown(world.admin, MARCH, resolve_filters(world.admin), ind.by_area(6), now=NOW)
    assert rows["140213"]["received"] == 13 and rows["140214"]["received"] == 1
    assert rows["140213"]["duration_p90_hours"] == pytest.approx(120.5)
    cats = ind.category_breakdown(world.admin, MARCH, resolve_filters(world.admin), now=NOW)
    assert [(c["code"], c["received"]) for c in cats] == [("04", 13), ("05", 1)]


def test_trend_counts_per_day(march, world, frozen_now):
    tr = ind.trend(world.leader_a, MARCH, resolve_filters(world.leader_a), now=NOW)
    assert len(tr["labels"]) == 31 and sum(tr["received"]) == 13
    assert tr["received"][tr["labels"].index("2026-03-12")] == 3  # c6, c7, c8
    assert sum(tr["closed"]) == 5 and sum(tr["closed_on_time"]) == 4


def test_open_cases_per_grid(march, world, frozen_now):
    grids = ind.open_by_grid(world.admin, now=NOW)
    # Open now in grid A1: c8 c9 c10 c12 c13; overdue: c8 c10 c12 c13 (c9 suspended);
    # b1 reported in B1, response limit passed.
    a1 = grids[world.grid_a1.code]
    assert a1 == {"open": 4, "overdue": 4}
    assert grids[world.grid_b1.code] == {"open": 1, "overdue": 1}


def test_empty_period_gives_none_rates(world, frozen_now):
    v = ind.values(
        world.leader_a, period_from("day", "2026-01-01"), resolve_filters(world.leader_a)
    )
    assert v["received"] == 0 and v["close_rate"] is None and v["duration_mean_hours"] is None


def test_query_count_is_small_and_constant(march, world, frozen_now, django_assert_max_num_queries):
    filters = resolve_filters(world.leader_a)
    ind.values(world.leader_a, MARCH, filters, now=NOW)  # builds the working-hours table once
    # 13 on PostgreSQL: the principal's one assignment query per call (no cache on the user
    # object any more), the indicator statements, and the savepoint + SET LOCAL jit around them.
    with django_assert_max_num_queries(13):
        ind.values(world.leader_a, MARCH, filters, now=NOW)


def test_period_parsing_errors_name_the_field():
    with pytest.raises(DomainError) as exc:
        period_from("fortnight")
    assert exc.value.field == "period"
    with pytest.raises(DomainError) as exc:
        period_from("custom", start="2026-03-10", end="2026-03-01")
    assert exc.value.field == "end"
    with pytest.raises(DomainError) as exc:
        period_from("month", "March")
    assert exc.value.field == "date"
    assert period_from("week", "2026-03-12").first == dt.date(2026, 3, 9)
    assert period_from("quarter", "2026-05-02").label == "2026Q2"


def test_satisfaction_counts_only_genuine_ratings(march, world, frozen_now):
    """A2: a satisfaction value on a staff-filed report (e.g. one rated before the rule) and an
    operator's 回访 never count in 满意率; the citizens' own ratings of c1 (5) and c2 (3) do."""
    from civicgrid.cases.models import Case

    before = march_values(world.admin)
    assert before["satisfaction_rate"] == pytest.approx(0.5)
    # c4: a grid worker's report, closed in March, with a rating written around the engine.
    Case.objects.filter(pk=march.c4.pk).update(satisfaction=5)
    after = march_values(world.admin)
    assert after["satisfaction_rate"] == pytest.approx(0.5)
