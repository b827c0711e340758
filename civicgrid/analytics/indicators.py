"""The indicators of docs/domain.md §6, defined once and used by the dashboard, the API and exports.

Every figure is computed in the database with conditional aggregation over a handful of
statements: one for the cases reported, filed or closed in the period and their durations; up
to three small ones for the cases open at the period's end; the action log only for dispatches
and returns, the supervisions only for department scores. The exact SQL-level definitions are
in docs/analytics.md; in short, for a period [s, e) and its cut-off T′ = min(e, now):

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
satisfaction      cases closed in [s, T′) rated 4 or 5 / those rated
duration          closed cases with a filing date: mean and p90 (nearest rank) of
                  closed_at − filed_at in natural and in working hours

"Open at T′" uses the current state when nothing happened to the case since T′ and otherwise
the state left by its last action before T′ (the action log is the history).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import connections, router, transaction
from django.db.models import Case as Cond
from django.db.models import (
    CharField,
    Count,
    F,
    IntegerField,
    Min,
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
from django.utils.translation import pgettext_lazy

from civicgrid.cases.models import OPEN_STATES, Case, CaseAction, State, Supervision
from civicgrid.cases.models import overdue_q as case_overdue_q
from civicgrid.cases.registry import CITIZEN_SOURCES
from civicgrid.core.conf import options
from civicgrid.people.access import principal_scope

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
    Indicator("received", pgettext_lazy("indicator", "Received"), "count", None),
    Indicator("filed", pgettext_lazy("indicator", "Filed"), "count", None),
    Indicator("filed_on_time_rate", pgettext_lazy("indicator", "On-time filing rate"), "rate"),
    Indicator("handled", pgettext_lazy("indicator", "Handled"), "count", None),
    Indicator("handled_rate", pgettext_lazy("indicator", "Handling rate"), "rate"),
    Indicator("due", pgettext_lazy("indicator", "Due for closing"), "count", None),
    Indicator("closed", pgettext_lazy("indicator", "Closed"), "count", None),
    Indicator("close_rate", pgettext_lazy("indicator", "Close rate"), "rate"),
    Indicator("on_time_close_rate", pgettext_lazy("indicator", "On-time close rate"), "rate"),
    Indicator("overdue", pgettext_lazy("indicator", "Overdue"), "count", False),
    Indicator("rework_rate", pgettext_lazy("indicator", "Rework rate"), "rate", False),
    Indicator("dispatch_accuracy", pgettext_lazy("indicator", "Accurate dispatch rate"), "rate"),
    Indicator("extension_rate", pgettext_lazy("indicator", "Extension rate"), "rate", False),
    Indicator("self_handled_rate", pgettext_lazy("indicator", "Self-handled rate"), "rate", None),
    Indicator("satisfaction_rate", pgettext_lazy("indicator", "Satisfaction rate"), "rate"),
    Indicator(
        "duration_mean_hours", pgettext_lazy("indicator", "Mean handling time (h)"), "hours", False
    ),
    Indicator(
        "duration_p90_hours", pgettext_lazy("indicator", "P90 handling time (h)"), "hours", False
    ),
    Indicator(
        "duration_mean_work_hours",
        pgettext_lazy("indicator", "Mean handling time (working h)"),
        "hours",
        False,
    ),
    Indicator(
        "duration_p90_work_hours",
        pgettext_lazy("indicator", "P90 handling time (working h)"),
        "hours",
        False,
    ),
)
BY_KEY = {i.key: i for i in INDICATORS}
# The dashboard's tiles, in docs/domain.md order.
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
    KeyTextTransform("department", "data"),
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
    return Cond(
        When(updated_at__lt=when, then=F("state")),
        default=Subquery(last),
        output_field=CharField(),
    )


@principal_scope()  # one principal for the scope Q of every query below
def compute(
    user,
    period: Period,
    filters: Filters = NO_FILTERS,
    *,
    group: Grouping | None = None,
    now: dt.datetime | None = None,
    keys: Iterable[str] | None = None,
    supervisions: bool = False,
) -> dict[Any, Counts]:
    """Raw counts per group (key None without ``group``) for ``user``'s scope and filters.

    ``keys`` limits the work to what those indicators need (the dispatch figures read the
    action log, durations need their own query); None computes everything.
    """
    wanted = set(keys) if keys is not None else set(BY_KEY)
    durations = any(k.startswith("duration_") for k in wanted)
    p90 = any(k.startswith("duration_p90") for k in wanted)
    dispatch = "dispatch_accuracy" in wanted
    now = now or timezone.now()
    s, t = period.start, period.until(now)
    base = Case.objects.filter(case_q(user, filters) & department_q(filters))
    g = group.case if group else None
    out: dict[Any, Counts] = {}
    with _read_session():
        _compute(
            out, user, filters, base, s, t, now, group, g, durations, p90, dispatch, supervisions
        )
    if group is None:
        out.setdefault(None, Counts())
    return out


def _connection():
    """The connection the raw statements read: the read replica inside ``replica_reads()``
    (civicgrid.ops.replica), else the primary."""
    return connections[router.db_for_read(Case)]


@contextmanager
def _read_session():
    """PostgreSQL: no JIT for these statements. They are big enough to cross the JIT cost
    threshold but run in tenths of a second, so compiling them costs more than it saves."""
    connection = _connection()
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(using=connection.alias):
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
        yield


def _compute(out, user, filters, base, s, t, now, group, g, durations, p90, dispatch, supervisions):
    """The queries of ``compute``, adding their counts to ``out``."""

    def put(rows: dict[Any, dict]) -> None:
        for key, values in rows.items():
            counts = out.setdefault(key, Counts())
            for k, v in values.items():
                setattr(counts, k, v if v is not None else getattr(counts, k))

    # 1–3 and 7. The cohorts reported, filed and closed in [s, T′) and the durations of the
    # closed ones, in one statement.
    put(_cohorts(base, s, t, g, durations, p90))
    # 4. Open at T′ and past a deadline.
    put(_open_at(base, t, now, g))
    # 5. Dispatches and returns in [s, T′), from the action log; each belongs to the department
    # of that event (kept in the log row), not to the case's current one.
    if dispatch:
        dq = Q(data__department=filters.department) if filters.department else Q()
        actions = CaseAction.objects.filter(
            action__in=("dispatch", "return"), created_at__gte=s, created_at__lt=t
        )
        case_filter = case_q(user, filters, "case__")
        if case_filter:  # join the cases only when a case attribute filters
            actions = actions.filter(case_filter)
        put(
            _grouped(
                actions,
                group.action if group else None,
                {
                    "dispatches": Count("pk", filter=Q(action="dispatch") & dq),
                    "returns": Count("pk", filter=Q(action="return") & dq),
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


def _open_at(base: QuerySet, t: dt.datetime, now: dt.datetime, g: Any) -> dict[Any, dict]:
    """due_open and overdue at T′, per group.

    Candidates are reported before T′ and not finished before it, found through indexed
    columns in three disjoint sets: open now; closed since T′; rejected or merged since T′ (a
    case whose last change is older than T′ is in the same state as then). The state at T′ is
    evaluated once per candidate by grouping on it, and the per-group sums are added up here.
    """
    earliest = Case.objects.aggregate(m=Min("reported_at"))["m"]
    if earliest is None or t <= earliest:  # e.g. 同比 before the first case: nothing was open
        return {}
    late_final = Cond(When(final_due__lt=t, then=Value(True)), default=Value(False))
    late_response = Cond(When(response_due__lt=t, then=Value(True)), default=Value(False))
    parts = [base.filter(state__in=OPEN_STATES, reported_at__lt=t)]
    if t < now:
        parts += [
            base.filter(closed_at__gte=t, reported_at__lt=t),
            # Found through the action log's (action, time) index rather than by scanning
            # every rejected or merged case ever.
            base.filter(
                state__in=TERMINAL_LATE,
                reported_at__lt=t,
                pk__in=CaseAction.objects.filter(
                    action__in=("reject", "merge"), created_at__gte=t
                ).values("case_id"),
            ),
        ]
    out: dict[Any, dict] = {}
    for qs in parts:
        qs = qs.filter(Q(final_due__lt=t) | Q(response_due__lt=t)).annotate(
            _st=state_at(t), _lf=late_final, _lr=late_response
        )
        fields = ["_st", "_lf", "_lr"]
        if g is not None:
            qs = qs.annotate(_g=g)
            fields.append("_g")
        for row in qs.values(*fields).annotate(n=Count("pk")).order_by():
            key = row.get("_g")
            acc = out.setdefault(key, {"due_open": 0, "overdue": 0})
            if row["_st"] in HANDLING_STATES and row["_lf"]:
                acc["due_open"] += row["n"]
                acc["overdue"] += row["n"]
            elif row["_st"] == State.REPORTED and row["_lr"]:
                acc["overdue"] += row["n"]
    return out


def _flag(q: Q) -> Cond:
    return Cond(When(q, then=Value(1)), default=Value(0), output_field=IntegerField())


COHORT_SUMS = {
    # the reporting cohort, with its current states
    "received": '"_rep"',
    "rejected": '"_rep" * "_rj"',
    "merged": '"_rep" * "_mg"',
    "handled": '"_rep" * "_hd"',
    "self_closed": '"_rep" * "_sc"',
    # the filing cohort (filed_at is the first acceptance)
    "filed": '"_fil"',
    "filed_on_time": '"_fil" * "_fot"',
    "reworked": '"_fil" * "_rw"',
    "extended": '"_fil" * "_ex"',
    # closed in the period (closed_at is the last, still valid closing: a reopen clears it)
    "closed": '"_clo"',
    "closed_on_time": '"_clo" * "_cot"',
    # satisfaction: the ratings of the cases closed in the period (回访)
    "ratings": '"_clo" * "_rt"',
    "satisfied": '"_clo" * "_ok"',
}
DURATION_KEYS = (
    "durations",
    "duration_mean_hours",
    "duration_mean_work_hours",
    "duration_p90_hours",
    "duration_p90_work_hours",
)


def _cohorts(
    base: QuerySet,
    s: dt.datetime,
    t: dt.datetime,
    group_expr: Any,
    durations: bool,
    p90: bool = True,
) -> dict[Any, dict]:
    """Cohort counts and filed→closed durations per group, in one SQL statement.

    The cases reported, filed or closed in [s, T′) are read once (each date column has its
    own index; the OR lets the database union the three ranges) into a materialised set with
    one 0/1 flag per condition, which is then summed per group. Durations of the closed cases
    join the working-hours table on the integer day of each timestamp; p90 is the nearest rank
    ⌈0.9·n⌉ (PostgreSQL's percentile_disc(0.9)): without groups the value at that rank from the
    top 10 % (a bounded sort), with groups through window functions.
    """
    from .models import WorkDay

    rep = Q(reported_at__gte=s, reported_at__lt=t)
    fil = Q(filed_at__gte=s, filed_at__lt=t)
    clo = Q(closed_at__gte=s, closed_at__lt=t)
    grouped = group_expr is not None
    inner = (
        base.filter(rep | fil | clo)
        .annotate(
            _g=group_expr if grouped else Value("", output_field=CharField()),
            _rep=_flag(rep),
            _fil=_flag(fil),
            _clo=_flag(clo),
            _rj=_flag(Q(state=State.REJECTED)),
            _mg=_flag(Q(state=State.MERGED)),
            _hd=_flag(Q(state__in=(State.HANDLED, State.CLOSED))),
            _sc=_flag(Q(self_closed=True)),
            _fot=_flag(Q(filed_at__lte=F("response_due"))),
            _rw=_flag(Q(rework_count__gte=1)),
            _ex=_flag(Q(extension_count__gte=1)),
            _cot=_flag(Q(closed_at__lte=Coalesce(F("final_due"), F("response_due")))),
            # Genuine ratings only: a citizen's own report rated by that citizen (a 回访 the
            # operator records is a ``callback`` log row, never ``satisfaction``).
            _rt=_flag(Q(satisfaction__isnull=False, source__in=CITIZEN_SOURCES)),
            _ok=_flag(Q(satisfaction__gte=4, source__in=CITIZEN_SOURCES)),
            _c=workcalendar.Epoch("closed_at"),
            _f=workcalendar.Epoch("filed_at"),
        )
        .values_list(
            "_g",
            "_rep",
            "_fil",
            "_clo",
            "_rj",
            "_mg",
            "_hd",
            "_sc",
            "_fot",
            "_rw",
            "_ex",
            "_cot",
            "_rt",
            "_ok",
            "_c",
            "_f",
        )
        .order_by()
    )
    sql, params = inner.query.sql_with_params()
    sums = ", ".join(f"SUM({expr}) AS {name}" for name, expr in COHORT_SUMS.items())
    if not durations:
        statement = f'SELECT "_g" AS g, {sums} FROM ({sql}) AS m GROUP BY "_g"'
        names = list(COHORT_SUMS)
    else:
        # The closed cases' durations: natural hours by arithmetic, working hours through the
        # working-hours table joined on each timestamp's day (closed-and-filed rows only).
        workcalendar.ensure_for_cases()
        table = _connection().ops.quote_name(WorkDay._meta.db_table)
        timed = 'm."_clo" = 1 AND m."_f" IS NOT NULL'
        x = f"""SELECT m.*,
                   CASE WHEN {timed} THEN (m."_c" - m."_f") / 3600.0 END AS nat,
                   CASE WHEN {timed} THEN {workcalendar.working_hours_sql('m."_c"', "wc")}
                        - {workcalendar.working_hours_sql('m."_f"', "wf")} END AS wrk
            FROM ({sql}) AS m
            LEFT JOIN {table} AS wc
                ON {timed} AND wc.day = {workcalendar.day_key_sql('m."_c"')}
            LEFT JOIN {table} AS wf
                ON {timed} AND wf.day = {workcalendar.day_key_sql('m."_f"')}"""
        means = "COUNT(nat) AS dn, AVG(nat) AS mn, AVG(wrk) AS mw"
        if not p90:
            statement = f'SELECT "_g" AS g, {sums}, {means} FROM ({x}) AS x GROUP BY "_g"'
            names = list(COHORT_SUMS) + [
                "durations",
                "duration_mean_hours",
                "duration_mean_work_hours",
            ]
        else:
            ctes = [
                f"x AS MATERIALIZED ({x})",
                f'a AS (SELECT "_g" AS g, {sums}, {means} FROM x GROUP BY "_g")',
                'd AS MATERIALIZED (SELECT "_g" AS g, nat, wrk FROM x WHERE nat IS NOT NULL)',
            ]
            if grouped:
                ctes.append(
                    """r AS (
                        SELECT g, nat, wrk,
                               ROW_NUMBER() OVER (PARTITION BY g ORDER BY nat) AS rn_n,
                               ROW_NUMBER() OVER (PARTITION BY g ORDER BY wrk) AS rn_w,
                               COUNT(*) OVER (PARTITION BY g) AS n
                        FROM d
                    )"""
                )
                ctes.append(
                    """p AS (
                        SELECT g, MAX(CASE WHEN rn_n = (9 * n + 9) / 10 THEN nat END) AS pn,
                                  MAX(CASE WHEN rn_w = (9 * n + 9) / 10 THEN wrk END) AS pw
                        FROM r GROUP BY g
                    )"""
                )
                select = "SELECT a.*, p.pn, p.pw FROM a LEFT JOIN p ON p.g = a.g"
            else:
                ctes.append("dn AS (SELECT COUNT(*) AS n FROM d)")
                top = "LIMIT 1 OFFSET (SELECT n - (9 * n + 9) / 10 FROM dn)"
                select = f"""SELECT a.*,
                    (SELECT nat FROM d ORDER BY nat DESC {top}),
                    (SELECT wrk FROM d ORDER BY wrk DESC {top})
                    FROM a"""
            statement = "WITH " + ",\n".join(ctes) + "\n" + select
            names = list(COHORT_SUMS) + [
                "durations",
                "duration_mean_hours",
                "duration_mean_work_hours",
                "duration_p90_hours",
                "duration_p90_work_hours",
            ]
    out: dict[Any, dict] = {}
    with _connection().cursor() as cursor:
        cursor.execute(statement, params)
        for row in cursor.fetchall():
            key = row[0] if grouped else None
            values = dict(zip(names, row[1:], strict=True))
            for k in COHORT_SUMS:
                values[k] = int(values[k] or 0)
            for k in DURATION_KEYS[1:]:
                if k in values:
                    values[k] = _num(values[k])
            if "durations" in values:
                values["durations"] = int(values["durations"] or 0)
            out[key] = values
    return out


def _num(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


# --- public reads -----------------------------------------------------------------------------


def values(
    user,
    period: Period,
    filters: Filters = NO_FILTERS,
    *,
    now: dt.datetime | None = None,
    keys: Iterable[str] | None = None,
) -> dict[str, float | int | None]:
    """The indicators of docs/domain.md §6 for ``user``'s scope, ``period`` and ``filters`` (all of
    them, or at least ``keys``: the others may then be None or incomplete)."""
    return compute(user, period, filters, now=now, keys=keys)[None].values()


def report(
    user,
    period: Period,
    filters: Filters = NO_FILTERS,
    *,
    now: dt.datetime | None = None,
    compare: bool = True,
    keys: Iterable[str] | None = None,
) -> dict:
    """Values with 环比 (previous period) and 同比 (a year earlier) and their changes."""
    now = now or timezone.now()
    current = values(user, period, filters, now=now, keys=keys)
    out: dict[str, Any] = {"period": period.as_dict(now), "values": current}
    if compare:
        prev_p, year_p = period.previous(now), period.year_ago(now)
        prev = values(user, prev_p, filters, now=now, keys=keys)
        year = values(user, year_p, filters, now=now, keys=keys)
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
    keys: Iterable[str] | None = None,
) -> dict[Any, dict]:
    """Indicator values per group key (e.g. per sub-area prefix or category class)."""
    rows = compute(user, period, filters, group=group, now=now, keys=keys)
    return {k: c.values() for k, c in rows.items() if k is not None}


# --- department score (综合评价) ----------------------------------------------------------------

SCORE_KEYS = ("on_time_close_rate", "close_rate", "rework_rate", "dispatch_accuracy")
DEFAULT_WEIGHTS = {
    "on_time_close_rate": 40.0,
    "close_rate": 30.0,
    "rework_rate": 20.0,  # scored as (1 − rework rate)
    "dispatch_accuracy": 10.0,
    "unanswered_supervision": 0.5,  # points off per supervision left unanswered
    # 主办/协办 and 吹哨报到 (points off, so the 100-point scale of the rates stays):
    "late_part": 0.5,  # per co-handling part due in the period and not submitted by its due
    "late_report_in": 1.0,  # per whistle call due in the period and not reported in by its due
}


def score_weights(overrides: dict | None = None) -> dict[str, float]:
    weights = dict(DEFAULT_WEIGHTS)
    weights.update(options().DEPARTMENT_SCORE_WEIGHTS)
    for k, v in (overrides or {}).items():
        if k in weights and v is not None:
            weights[k] = float(v)
    return weights


def department_score(
    counts: Counts, weights: dict[str, float] | None = None, co: dict | None = None
) -> float | None:
    """40·按期结案率 + 30·结案率 + 20·(1 − 返工率) + 10·准确派遣率 − 0.5 per unanswered 督办
    − 0.5 per co-handling part late − 1 per late or missing 报到 (``co``: cohandling_counts).

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
    score -= w["unanswered_supervision"] * counts.unanswered_supervisions
    if co is not None:
        score -= w["late_part"] * co["late_parts"] + w["late_report_in"] * co["late_report_ins"]
    return score


CO_ZERO = {"parts": 0, "parts_on_time": 0, "late_parts": 0, "report_ins": 0,
           "report_ins_on_time": 0, "late_report_ins": 0}  # fmt: skip


def cohandling_counts(
    user, period: Period, filters: Filters = NO_FILTERS, *, now: dt.datetime | None = None
) -> dict[str, dict[str, int]]:
    """Per department code: co-handling parts (协办) due in the period and those submitted by
    their due; whistle calls (吹哨报到) due in the period and those reported in before it.

    Withdrawn parts and calls are left out (a re-dispatch or the caller took them back). A
    due in the period has passed (the period ends at now at the latest), so a part or call not
    done in time is late whether it was done later or is still open.
    """
    from civicgrid.cases.models import CallState, CasePart, PartState, WhistleCall

    now = now or timezone.now()
    s, t = period.start, period.until(now)
    dq = Q(department_id=filters.department_id) if filters.department_id else Q()
    out: dict[str, dict[str, int]] = {}
    parts = (
        CasePart.objects.filter(case_q(user, filters, "case__"), dq, due_at__gte=s, due_at__lt=t)
        .exclude(state=PartState.CANCELLED)
        .values("department__code")
        .annotate(n=Count("pk"), ok=Count("pk", filter=Q(submitted_at__lte=F("due_at"))))
    )
    for r in parts:
        row = out.setdefault(r["department__code"], dict(CO_ZERO))
        row.update(parts=r["n"], parts_on_time=r["ok"], late_parts=r["n"] - r["ok"])
    calls = (
        WhistleCall.objects.filter(
            case_q(user, filters, "case__"), dq, report_due__gte=s, report_due__lt=t
        )
        .exclude(state=CallState.CANCELLED)
        .values("department__code")
        .annotate(n=Count("pk"), ok=Count("pk", filter=Q(reported_at__lt=F("report_due"))))
    )
    for r in calls:
        row = out.setdefault(r["department__code"], dict(CO_ZERO))
        row.update(report_ins=r["n"], report_ins_on_time=r["ok"], late_report_ins=r["n"] - r["ok"])
    return out


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
        user,
        period,
        filters,
        group=BY_DEPARTMENT,
        now=now,
        keys=SCORE_KEYS,
        supervisions=True,
    )
    names = dict(
        Department.objects.filter(code__in=[k for k in rows if k]).values_list("code", "name")
    )
    co_all = cohandling_counts(user, period, filters, now=now)
    out = []
    for code, counts in rows.items():
        if not code or code not in names:
            continue
        v = counts.values()
        co = co_all.get(code, CO_ZERO)
        out.append(
            {
                "department": code,
                "name": names[code],
                "score": department_score(counts, w, co),
                **co,
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
    # Departments with cases due in the period rank first: a score made only of the rates a
    # department happens to have (e.g. one dispatch, nothing due yet) is shown but not ranked.
    out.sort(key=lambda r: (not r["due"], r["score"] is None, -(r["score"] or 0), r["department"]))
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
    # A running period stops at today: days still to come are not zeros.
    last = min(period.last, timezone.localdate(t - dt.timedelta(microseconds=1)))
    buckets = _buckets(period.first, last, monthly)
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


def _buckets(first: dt.date, last: dt.date, monthly: bool) -> list[str]:
    out = []
    day = first
    while day <= last:
        out.append(day.isoformat())
        if monthly:
            day = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        else:
            day += dt.timedelta(days=1)
    return out


def overdue_q(now: dt.datetime) -> Q:
    """Open with a running clock at or past its deadline now: ``cases.models.overdue_q``."""
    return case_overdue_q(now)


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

    rows = breakdown(
        user, period, filters, BY_CATEGORY_CLASS, now=now, keys=("received", "on_time_close_rate")
    )
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
