"""The indicators of DOMAIN.md §6, defined once and used by the dashboard, the API and exports.

Every figure is computed in the database with conditional aggregation over a handful of
queries (cases by reporting, filing and closing date; the open cases at the period's end; the
action log for dispatches, returns and ratings; durations with window functions). The exact
SQL-level definitions are in docs/analytics.md; in short, for a period [s, e) and its cut-off
T′ = min(e, now):

received          cases with s ≤ reported_at < T′
filed             cases with s ≤ filed_at < T′ (``filed_at`` is the first acceptance)
on-time filing    filed cases with filed_at ≤ response_due, / filed
handled           received cases now handled or closed, / (received − rejected − merged)
due               closed (s ≤ closed_at < T′) + open at T′ in a handling state with
                  final_due < T′ (suspended, reported, rejected and merged excluded)
close rate        closed / due;  on-time close rate: closed with closed_at ≤ final_due
                  (self-closed: ≤ response_due) / due
overdue           open at T′ (not suspended) past its running deadline at T′
rework rate       filed cases with rework_count ≥ 1 / filed
dispatch accuracy 1 − ``return`` actions / ``dispatch`` actions in [s, T′)
extension rate    filed cases with extension_count ≥ 1 / filed
self-handled      received cases self-closed / received
satisfaction      ``rate`` actions in [s, T′) with a score ≥ 4 / ``rate`` actions
duration          closed cases with a filing date: mean and p90 (nearest rank) of
                  closed_at − filed_at in natural and in working hours

"Open at T′" uses the current state when nothing happened to the case since T′ and otherwise
the state left by its last action before T′ (the action log is the history).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import (
    Case as When_,
)
from django.db.models import (
    CharField,
    Count,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, Substr, TruncDate, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from civicgrid.cases.models import OPEN_STATES, Case, CaseAction, State, Supervision

from . import workcalendar
from .periods import Period
from .selectors import Filters, case_q, department_q

NO_FILTERS = Filters()
HANDLING_STATES = (State.FILED, State.ASSIGNED, State.IN_PROGRESS, State.HANDLED)
LIVE_STATES = (State.REPORTED, *HANDLING_STATES)  # open and with a running clock
TERMINAL_LATE = (State.REJECTED, State.MERGED)


@dataclass(frozen=True)
class Indicator:
    key: str
    label: Any
    unit: str  # "count", "rate" (0..1) or "hours"
    higher_is_better: bool | None = True


INDICATORS: tuple[Indicator, ...] = (
    Indicator("received", _("Received"), "count", None),
    Indicator("filed", _("Filed"), "count", None),
    Indicator("filed_on_time_rate", _("On-time filing rate"), "rate"),
    Indicator("handled", _("Handled"), "count", None),
    Indicator("handled_rate", _("Handling rate"), "rate"),
    Indicator("due", _("Due for closing"), "count", None),
    Indicator("closed", _("Closed"), "count", None),
    Indicator("close_rate", _("Close rate"), "rate"),
    Indicator("on_time_close_rate", _("On-time close rate"), "rate"),
    Indicator("overdue", _("Overdue"), "count", False),
    Indicator("rework_rate", _("Rework rate"), "rate", False),
    Indicator("dispatch_accuracy", _("Accurate dispatch rate"), "rate"),
    Indicator("extension_rate", _("Extension rate"), "rate", False),
    Indicator("self_handled_rate", _("Self-handled rate"), "rate", None),
    Indicator("satisfaction_rate", _("Satisfaction rate"), "rate"),
    Indicator("duration_mean_hours", _("Mean handling time (h)"), "hours", False),
    Indicator("duration_p90_hours", _("P90 handling time (h)"), "hours", False),
    Indicator("duration_mean_work_hours", _("Mean handling time (working h)"), "hours", False),
    Indicator("duration_p90_work_hours", _("P90 handling time (working h)"), "hours", False),
)
BY_KEY = {i.key: i for i in INDICATORS}
# The dashboard's tiles, in DOMAIN/issue order.
TILES = (
    "received",
    "filed",
    "handled_rate",
    "close_rate",
    "on_time_close_rate",
    "overdue",
    "rework_rate",
    "satisfaction_rate",
    "duration_mean_hours",
)


@dataclass
class Counts:
    """The raw counts one group contributes; indicator values are ratios of these."""

    received: int = 0
    rejected: int = 0
    merged: int = 0
    handled: int = 0
    self_closed: int = 0
    filed: int = 0
    filed_on_time: int = 0
    reworked: int = 0
    extended: int = 0
    closed: int = 0
    closed_on_time: int = 0
    due_open: int = 0
    overdue: int = 0
    dispatches: int = 0
    returns: int = 0
    ratings: int = 0
    satisfied: int = 0
    unanswered_supervisions: int = 0
    durations: int = 0
    duration_mean_hours: float | None = None
    duration_p90_hours: float | None = None
    duration_mean_work_hours: float | None = None
    duration_p90_work_hours: float | None = None

    def values(self) -> dict[str, float | int | None]:
        """Indicator values by key (rates 0..1; None where the denominator is zero)."""
        due = self.closed + self.due_open
        return {
            "received": self.received,
            "filed": self.filed,
            "filed_on_time_rate": ratio(self.filed_on_time, self.filed),
            "handled": self.handled,
            "handled_rate": ratio(self.handled, self.received - self.rejected - self.merged),
            "due": due,
            "closed": self.closed,
            "close_rate": ratio(self.closed, due),
            "on_time_close_rate": ratio(self.closed_on_time, due),
            "overdue": self.overdue,
            "rework_rate": ratio(self.reworked, self.filed),
            "dispatch_accuracy": (
                None if not self.dispatches else 1 - self.returns / self.dispatches
            ),
            "extension_rate": ratio(self.extended, self.filed),
            "self_handled_rate": ratio(self.self_closed, self.received),
            "satisfaction_rate": ratio(self.satisfied, self.ratings),
            "duration_mean_hours": self.duration_mean_hours,
            "duration_p90_hours": self.duration_p90_hours,
            "duration_mean_work_hours": self.duration_mean_work_hours,
            "duration_p90_work_hours": self.duration_p90_work_hours,
        }


def ratio(num: int, den: int) -> float | None:
    return num / den if den else None


# --- groupings --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grouping:
    """How rows are grouped: one expression per table the indicators read."""

    name: str
    case: Any
    action: Any
    supervision: Any


def by_area(prefix_len: int) -> Grouping:
    """Group by the first ``prefix_len`` digits of the location code (a sub-area or grid)."""
    return Grouping(
        f"area{prefix_len}",
        Substr("scope_code", 1, prefix_len),
        Substr("case__scope_code", 1, prefix_len),
        Substr("case__scope_code", 1, prefix_len),
    )


BY_CATEGORY_CLASS = Grouping(
    "category_class",
    Substr("category__code", 1, 2),
    Substr("case__category__code", 1, 2),
    Substr("case__category__code", 1, 2),
)
BY_SOURCE = Grouping("source", F("source"), F("case__source"), F("case__source"))
# Dispatches and returns belong to the department of that event (kept in the log row); every
# other figure to the case's current department.
BY_DEPARTMENT = Grouping(
    "department",
    F("department__code"),
    When_(
        When(action="rate", then=F("case__department__code")),
        default=KeyTextTransform("department", "data"),
        output_field=CharField(),
    ),
    F("department__code"),
)


# --- the queries ------------------------------------------------------------------------------


def _grouped(qs: QuerySet, expr: Any, aggs: dict) -> dict[Any, dict]:
    if expr is None:
        return {None: qs.aggregate(**aggs)}
    rows = qs.annotate(_g=expr).values("_g").annotate(**aggs).order_by()
    return {r.pop("_g"): r for r in rows}


def state_at(when: dt.datetime) -> Any:
    """The state a case was in at ``when``: its current state if it has not changed since,
    else the state its last logged action before ``when`` left it in."""
    last = (
        CaseAction.objects.filter(case_id=OuterRef("pk"), created_at__lt=when)
        .order_by("-created_at", "-id")
        .values("to_state")[:1]
    )
    return When_(
        When(updated_at__lt=when, then=F("state")),
        default=Subquery(last),
        output_field=CharField(),
    )


def compute(
    user,
    period: Period,
    filters: Filters = NO_FILTERS,
    *,
    group: Grouping | None = None,
    now: dt.datetime | None = None,
    durations: bool = True,
    supervisions: bool = False,
) -> dict[Any, Counts]:
    """Raw counts per group (key None without ``group``) for ``user``'s scope and filters."""
    now = now or timezone.now()
    s, t = period.start, period.until(now)
    base = Case.objects.filter(case_q(user, filters) & department_q(filters))
    g = group.case if group else None
    out: dict[Any, Counts] = {}

    def put(rows: dict[Any, dict]) -> None:
        for key, values in rows.items():
            counts = out.setdefault(key, Counts())
            for k, v in values.items():
                setattr(counts, k, v if v is not None else getattr(counts, k))

    # 1. The reporting cohort: received in [s, T′), with its current states.
    put(
        _grouped(
            base.filter(reported_at__gte=s, reported_at__lt=t),
            g,
            {
                "received": Count("pk"),
                "rejected": Count("pk", filter=Q(state=State.REJECTED)),
                "merged": Count("pk", filter=Q(state=State.MERGED)),
                "handled": Count("pk", filter=Q(state__in=(State.HANDLED, State.CLOSED))),
                "self_closed": Count("pk", filter=Q(self_closed=True)),
            },
        )
    )
    # 2. The filing cohort: first accepted in [s, T′).
    put(
        _grouped(
            base.filter(filed_at__gte=s, filed_at__lt=t),
            g,
            {
                "filed": Count("pk"),
                "filed_on_time": Count("pk", filter=Q(filed_at__lte=F("response_due"))),
                "reworked": Count("pk", filter=Q(rework_count__gte=1)),
                "extended": Count("pk", filter=Q(extension_count__gte=1)),
            },
        )
    )
    # 3. Closed in [s, T′) (closed_at is the last, still valid closing: a reopen clears it).
    put(
        _grouped(
            base.filter(closed_at__gte=s, closed_at__lt=t),
            g,
            {
                "closed": Count("pk"),
                "closed_on_time": Count(
                    "pk",
                    filter=Q(closed_at__lte=Coalesce(F("final_due"), F("response_due"))),
                ),
            },
        )
    )
    # 4. Open at T′: only cases reported before T′ and not closed before it; of the cases now
    # closed, rejected or merged only those that changed after T′ can have been open then.
    st = state_at(t)
    open_then = (
        base.filter(reported_at__lt=t)
        .filter(
            Q(state__in=OPEN_STATES)
            | Q(closed_at__gte=t)
            | Q(state__in=TERMINAL_LATE, updated_at__gte=t)
        )
        .filter(Q(final_due__lt=t) | Q(response_due__lt=t))
        .annotate(st=st)
    )
    put(
        _grouped(
            open_then,
            g,
            {
                "due_open": Count("pk", filter=Q(st__in=HANDLING_STATES, final_due__lt=t)),
                "overdue": Count(
                    "pk",
                    filter=Q(st=State.REPORTED, response_due__lt=t)
                    | Q(st__in=HANDLING_STATES, final_due__lt=t),
                ),
            },
        )
    )
    # 5. Events in [s, T′) from the action log: dispatches, returns, ratings.
    dq = Q()
    rq = Q()
    if filters.department:
        dq = Q(data__department=filters.department)
        rq = department_q(filters, "case__")
    actions = CaseAction.objects.filter(
        case_q(user, filters, "case__"),
        action__in=("dispatch", "return", "rate"),
        created_at__gte=s,
        created_at__lt=t,
    )
    put(
        _grouped(
            actions,
            group.action if group else None,
            {
                "dispatches": Count("pk", filter=Q(action="dispatch") & dq),
                "returns": Count("pk", filter=Q(action="return") & dq),
                "ratings": Count("pk", filter=Q(action="rate") & rq),
                "satisfied": Count("pk", filter=Q(action="rate", case__satisfaction__gte=4) & rq),
            },
        )
    )
    # 6. Supervisions (督办) made in [s, T′) and not answered by T′ (department scores).
    if supervisions:
        put(
            _grouped(
                Supervision.objects.filter(
                    case_q(user, filters, "case__"),
                    department_q(filters),
                    created_at__gte=s,
                    created_at__lt=t,
                ).filter(Q(answered_at__isnull=True) | Q(answered_at__gte=t)),
                group.supervision if group else None,
                {"unanswered_supervisions": Count("pk")},
            )
        )
    # 7. Durations of the cases closed in [s, T′).
    if durations:
        closed = base.filter(closed_at__gte=s, closed_at__lt=t, filed_at__isnull=False)
        for key, stats in duration_stats(closed, g).items():
            counts = out.setdefault(key, Counts())
            for k, v in stats.items():
                setattr(counts, k, v)
    if group is None:
        out.setdefault(None, Counts())
    return out


def duration_stats(closed: QuerySet, group_expr: Any = None) -> dict[Any, dict]:
    """Mean and p90 (nearest rank) of filed→closed in natural and working hours, per group.

    One SQL statement: the ORM builds the per-case durations (working hours through the
    ``WorkPeriod`` table), window functions rank them within each group.
    """
    workcalendar.ensure_for_cases()
    nat = (workcalendar.Epoch("closed_at") - workcalendar.Epoch("filed_at")) / Value(3600.0)
    wrk = workcalendar.working_hours_at("closed_at") - workcalendar.working_hours_at("filed_at")
    inner = (
        closed.annotate(
            _g=group_expr if group_expr is not None else Value("", output_field=CharField()),
            _nat=nat,
            _wrk=wrk,
        )
        .values_list("_g", "_nat", "_wrk")
        .order_by()
    )
    sql, params = inner.query.sql_with_params()
    # Nearest-rank p90: the value at rank ceil(0.9·n) (integer arithmetic, no float rounding),
    # which is PostgreSQL's percentile_disc(0.9); window functions exist on both back ends.
    wrapped = f"""
        SELECT g, COUNT(*), AVG(nat), AVG(wrk),
               MAX(CASE WHEN rn_n = (9 * n + 9) / 10 THEN nat END),
               MAX(CASE WHEN rn_w = (9 * n + 9) / 10 THEN wrk END)
        FROM (
            SELECT d."_g" AS g, d."_nat" AS nat, d."_wrk" AS wrk,
                   ROW_NUMBER() OVER (PARTITION BY d."_g" ORDER BY d."_nat") AS rn_n,
                   ROW_NUMBER() OVER (PARTITION BY d."_g" ORDER BY d."_wrk") AS rn_w,
                   COUNT(*) OVER (PARTITION BY d."_g") AS n
            FROM ({sql}) AS d
        ) AS r
        GROUP BY g
    """
    out: dict[Any, dict] = {}
    with connection.cursor() as cursor:
        cursor.execute(wrapped, params)
        for g, n, mean_nat, mean_wrk, p90_nat, p90_wrk in cursor.fetchall():
            key = g if group_expr is not None else None
            out[key] = {
                "durations": n,
                "duration_mean_hours": _num(mean_nat),
                "duration_mean_work_hours": _num(mean_wrk),
                "duration_p90_hours": _num(p90_nat),
                "duration_p90_work_hours": _num(p90_wrk),
            }
    return out


def _num(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


# --- public reads -----------------------------------------------------------------------------


def values(
    user, period: Period, filters: Filters = NO_FILTERS, *, now: dt.datetime | None = None
) -> dict[str, float | int | None]:
    """Every indicator of DOMAIN §6 for ``user``'s scope, ``period`` and ``filters``."""
    return compute(user, period, filters, now=now)[None].values()


def report(
    user,
    period: Period,
    filters: Filters = NO_FILTERS,
    *,
    now: dt.datetime | None = None,
    compare: bool = True,
) -> dict:
    """Values with 环比 (previous period) and 同比 (a year earlier) and their changes."""
    now = now or timezone.now()
    current = values(user, period, filters, now=now)
    out: dict[str, Any] = {"period": period.as_dict(now), "values": current}
    if compare:
        prev_p, year_p = period.previous(now), period.year_ago(now)
        prev = values(user, prev_p, filters, now=now)
        year = values(user, year_p, filters, now=now)
        out.update(
            previous_period=prev_p.as_dict(now),
            year_ago_period=year_p.as_dict(now),
            previous=prev,
            year_ago=year,
            change_previous={k: change(current[k], prev[k], BY_KEY[k].unit) for k in current},
            change_year_ago={k: change(current[k], year[k], BY_KEY[k].unit) for k in current},
        )
    return out


def change(cur, old, unit: str) -> float | None:
    """Relative change for counts and hours; difference in percentage points for rates."""
    if cur is None or old is None:
        return None
    if unit == "rate":
        return cur - old
    if old == 0:
        return None
    return (cur - old) / old


def breakdown(
    user,
    period: Period,
    filters: Filters,
    group: Grouping,
    *,
    now: dt.datetime | None = None,
    durations: bool = True,
) -> dict[Any, dict]:
    """Indicator values per group key (e.g. per sub-area prefix or category class)."""
    rows = compute(user, period, filters, group=group, now=now, durations=durations)
    return {k: c.values() for k, c in rows.items() if k is not None}


# --- department score (综合评价) ----------------------------------------------------------------

DEFAULT_WEIGHTS = {
    "on_time_close_rate": 40.0,
    "close_rate": 30.0,
    "rework_rate": 20.0,  # scored as (1 − rework rate)
    "dispatch_accuracy": 10.0,
    "unanswered_supervision": 0.5,  # points off per supervision left unanswered
}


def score_weights(overrides: dict | None = None) -> dict[str, float]:
    weights = dict(DEFAULT_WEIGHTS)
    weights.update(getattr(settings, "CIVICGRID", {}).get("DEPARTMENT_SCORE_WEIGHTS", {}))
    for k, v in (overrides or {}).items():
        if k in weights and v is not None:
            weights[k] = float(v)
    return weights


def department_score(counts: Counts, weights: dict[str, float] | None = None) -> float | None:
    """40·按期结案率 + 30·结案率 + 20·(1 − 返工率) + 10·准确派遣率 − 0.5 per unanswered 督办.

    A rate without a denominator (nothing due, nothing dispatched…) is left out and the other
    weights are scaled up to the same total, so a department is neither rewarded nor punished
    for work it was never given. None when no rate is defined at all.
    """
    w = weights or score_weights()
    v = counts.values()
    parts = {
        "on_time_close_rate": v["on_time_close_rate"],
        "close_rate": v["close_rate"],
        "rework_rate": None if v["rework_rate"] is None else 1 - v["rework_rate"],
        "dispatch_accuracy": v["dispatch_accuracy"],
    }
    total = sum(w[k] for k in parts)
    have = {k: x for k, x in parts.items() if x is not None}
    if not have:
        return None
    got = sum(w[k] for k in have)
    score = sum(w[k] * x for k, x in have.items()) * (total / got if got else 0)
    return score - w["unanswered_supervision"] * counts.unanswered_supervisions


def department_scores(
    user,
    period: Period,
    filters: Filters = NO_FILTERS,
    *,
    weights: dict | None = None,
    now: dt.datetime | None = None,
) -> list[dict]:
    """Departments ranked by score (best first), with the indicators the score is made of."""
    from civicgrid.people.models import Department

    w = score_weights(weights)
    rows = compute(
        user, period, filters, group=BY_DEPARTMENT, now=now, durations=False, supervisions=True
    )
    names = dict(
        Department.objects.filter(code__in=[k for k in rows if k]).values_list("code", "name")
    )
    out = []
    for code, counts in rows.items():
        if not code or code not in names:
            continue
        v = counts.values()
        out.append(
            {
                "department": code,
                "name": names[code],
                "score": department_score(counts, w),
                "on_time_close_rate": v["on_time_close_rate"],
                "close_rate": v["close_rate"],
                "rework_rate": v["rework_rate"],
                "dispatch_accuracy": v["dispatch_accuracy"],
                "unanswered_supervisions": counts.unanswered_supervisions,
                "due": v["due"],
                "closed": v["closed"],
                "dispatches": counts.dispatches,
                "returns": counts.returns,
            }
        )
    out.sort(key=lambda r: (r["score"] is None, -(r["score"] or 0), r["department"]))
    return out


# --- live views: trend, overdue list, open cases per grid -------------------------------------


def trend(
    user,
    period: Period,
    filters: Filters = NO_FILTERS,
    *,
    now: dt.datetime | None = None,
) -> dict:
    """Received, filed, closed and closed on time per day (per month for periods > 92 days)."""
    now = now or timezone.now()
    s, t = period.start, period.until(now)
    monthly = (period.end - period.start).days > 92
    tz = timezone.get_current_timezone()
    trunc = TruncMonth if monthly else TruncDate
    base = Case.objects.filter(case_q(user, filters) & department_q(filters))

    def series(column: str, extra: dict | None = None) -> dict:
        qs = base.filter(**{f"{column}__gte": s, f"{column}__lt": t})
        aggs = {"n": Count("pk"), **(extra or {})}
        rows = qs.annotate(b=trunc(column, tzinfo=tz)).values("b").annotate(**aggs).order_by("b")
        return {_bucket(r["b"]): r for r in rows}

    received = series("reported_at")
    filed = series("filed_at")
    closed = series(
        "closed_at",
        {
            "on_time": Count(
                "pk", filter=Q(closed_at__lte=Coalesce(F("final_due"), F("response_due")))
            )
        },
    )
    buckets = _buckets(period, monthly)
    return {
        "bucket": "month" if monthly else "day",
        "labels": buckets,
        "received": [received.get(b, {}).get("n", 0) for b in buckets],
        "filed": [filed.get(b, {}).get("n", 0) for b in buckets],
        "closed": [closed.get(b, {}).get("n", 0) for b in buckets],
        "closed_on_time": [closed.get(b, {}).get("on_time", 0) for b in buckets],
    }


def _bucket(value) -> str:
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value.isoformat()


def _buckets(period: Period, monthly: bool) -> list[str]:
    out = []
    day = period.first
    last = period.last
    while day <= last:
        out.append(day.isoformat())
        if monthly:
            day = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        else:
            day += dt.timedelta(days=1)
    return out


def overdue_q(now: dt.datetime) -> Q:
    """Open, not suspended, past the running deadline now (the SLA clock of the engine)."""
    return Q(state=State.REPORTED, response_due__lt=now) | Q(
        state__in=HANDLING_STATES, final_due__lt=now
    )


def overdue_cases(
    user, filters: Filters = NO_FILTERS, *, limit: int = 20, now: dt.datetime | None = None
) -> list[Case]:
    """The live overdue list, longest overdue first."""
    now = now or timezone.now()
    qs = (
        Case.objects.filter(case_q(user, filters) & department_q(filters))
        .filter(overdue_q(now))
        .select_related("category", "area", "grid", "department")
        .order_by("sla_due_at", "id")
    )
    return list(qs[:limit])


def open_by_grid(
    user, filters: Filters = NO_FILTERS, *, now: dt.datetime | None = None
) -> dict[str, dict]:
    """Open and overdue cases now per grid code (cases between grids have no grid: left out)."""
    now = now or timezone.now()
    qs = Case.objects.filter(
        case_q(user, filters) & department_q(filters),
        state__in=LIVE_STATES,
        grid__isnull=False,
    )
    rows = (
        qs.annotate(g=Substr("scope_code", 1, 15))
        .values("g")
        .annotate(open=Count("pk"), overdue=Count("pk", filter=overdue_q(now)))
        .order_by()
    )
    return {r["g"]: {"open": r["open"], "overdue": r["overdue"]} for r in rows}


def category_breakdown(
    user, period: Period, filters: Filters = NO_FILTERS, *, now: dt.datetime | None = None
) -> list[dict]:
    """Received, closed and overdue per category class, largest first."""
    from civicgrid.cases.models import Category

    rows = breakdown(user, period, filters, BY_CATEGORY_CLASS, now=now, durations=False)
    names = dict(Category.objects.filter(code__in=list(rows)).values_list("code", "name"))
    out = [
        {
            "code": code,
            "name": names.get(code, code),
            "received": v["received"],
            "closed": v["closed"],
            "overdue": v["overdue"],
            "on_time_close_rate": v["on_time_close_rate"],
        }
        for code, v in rows.items()
    ]
    out.sort(key=lambda r: (-r["received"], r["code"]))
    return out


__all__ = [
    "INDICATORS",
    "TILES",
    "Counts",
    "Grouping",
    "by_area",
    "BY_CATEGORY_CLASS",
    "BY_SOURCE",
    "BY_DEPARTMENT",
    "compute",
    "values",
    "report",
    "breakdown",
    "department_scores",
    "department_score",
    "trend",
    "overdue_cases",
    "open_by_grid",
    "category_breakdown",
]
