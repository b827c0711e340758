"""Grid-worker assessment per month: quality, never a quota on the number of reports.

Per grid worker of the grids in scope, for one month:

- valid-report share: of their reports (sources grid_worker and patrol) that have been decided,
  the share accepted or self-closed (not rejected as invalid, not merged as a duplicate);
- verified-on-time share: of their verifications (verify or send back for rework as a grid
  worker), the share made within ``VERIFY_LIMIT_HOURS`` (default 24 natural hours) of the
  result being submitted;
- grid tasks (下派任务) completed in the month and the share completed by their deadline;
- patrol km, patrol coverage of their grid, check-ins and base-data records touched, from the
  field app through ``field_stats`` (shown as "no data" when a configured provider fails);
- base-data freshness: the share of due visits made on time and the share of their grids'
  records confirmed in the last 12 months (``basedata.stats.freshness``).
- training: sessions attended of those invited in the month; commendations (岗位之星,
  优秀网格员) awarded in the month with their reasons (written by people, never from counts).

The number of reports is shown for context only; no column rewards volume.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from django.db.models import Count, F, OuterRef, Q, Subquery
from django.utils.module_loading import import_string

from civicgrid.cases.models import Case, CaseAction, GridTask, GridTaskState, Source, State
from civicgrid.core.conf import options
from civicgrid.people.models import Commendation, GridMember, Role, TrainingAttendance
from civicgrid.people.scoping import scope_q

from . import fieldstats
from .periods import Period
from .selectors import ANALYTICS_ROLES, Filters
from .workcalendar import Epoch

logger = logging.getLogger(__name__)

FIELD_KEYS = (
    "patrol_km",
    "patrol_coverage",
    "checkins",
    "base_data_touched",
    "visits_on_time_share",
    "records_confirmed_share",
)
SORT_KEYS = (
    "name",
    "reports",
    "valid_share",
    "verifications",
    "verified_on_time_share",
    "tasks_done",
    "tasks_on_time_share",
    "trainings_attended",
    *FIELD_KEYS,
)


def verify_limit_hours() -> float:
    return options().VERIFY_LIMIT_HOURS


def field_stats() -> Callable[..., dict[int, dict]] | None:
    """The provider of the field columns, or None when the configured one cannot be loaded.

    Contract (docs/analytics.md): ``worker_month_stats(*, user_ids, start, end)`` returns
    ``{user_id: {"patrol_km": float, "patrol_coverage": 0..1, "checkins": int,
    "base_data_touched": int, "visits_on_time_share": 0..1, "records_confirmed_share": 0..1}}``
    (the last two: base-data freshness, docs/basedata.md); missing users or keys show as "no data". The provider is
    ``CIVICGRID["ASSESSMENT_FIELD_STATS"]`` (a dotted path) when set, else ``fieldstats``, which
    reads the field app's patrols, track points and check-ins.
    """
    path = options().ASSESSMENT_FIELD_STATS
    if path:
        try:
            return import_string(path)
        except ImportError:
            logger.exception("ASSESSMENT_FIELD_STATS %r cannot be imported", path)
            return None
    return fieldstats.worker_month_stats


def _share(num: int, den: int) -> float | None:
    return num / den if den else None


def worker_assessment(
    user, month: Period, filters: Filters, *, sort: str = "name", descending: bool = False
) -> dict[str, Any]:
    """Rows per grid worker in ``user``'s scope (and ``filters.area``) for ``month``."""
    members = GridMember.objects.filter(
        scope_q(user, "grid__code", roles=ANALYTICS_ROLES), user__is_active=True
    ).exclude(worker_type__in=("police", "aux_police"))
    if filters.prefix:
        members = members.filter(grid__code__startswith=filters.prefix)
    workers: dict[int, dict[str, Any]] = {}
    for uid, full_name, username, grid_code in members.order_by(
        "user_id", "grid__code"
    ).values_list("user_id", "user__full_name", "user__username", "grid__code"):
        w = workers.setdefault(uid, {"user_id": uid, "name": full_name or username, "grids": []})
        w["grids"].append(grid_code)
    ids = list(workers)
    s, t = month.start, month.end

    reports = (
        Case.objects.filter(
            reporter_id__in=ids,
            source__in=(Source.GRID_WORKER, Source.PATROL),
            reported_at__gte=s,
            reported_at__lt=t,
        )
        .values("reporter_id")
        .annotate(
            n=Count("pk"),
            decided=Count("pk", filter=~Q(state=State.REPORTED)),
            valid=Count("pk", filter=~Q(state__in=(State.REPORTED, State.REJECTED, State.MERGED))),
        )
        .order_by()
    )
    by_reporter = {r["reporter_id"]: r for r in reports}

    submitted = (
        CaseAction.objects.filter(
            case_id=OuterRef("case_id"), action="submit", created_at__lt=OuterRef("created_at")
        )
        .order_by("-created_at", "-id")
        .values("created_at")[:1]
    )
    limit_s = verify_limit_hours() * 3600
    checks = (
        CaseAction.objects.filter(
            actor_id__in=ids,
            role=Role.GRID_WORKER,
            action__in=("verify", "rework"),
            created_at__gte=s,
            created_at__lt=t,
        )
        .annotate(sub=Subquery(submitted))
        .annotate(wait=Epoch(F("created_at")) - Epoch(F("sub")))
        .values("actor_id")
        .annotate(n=Count("pk"), on_time=Count("pk", filter=Q(wait__lte=limit_s)))
        .order_by()
    )
    by_checker = {r["actor_id"]: r for r in checks}

    tasks = (
        GridTask.objects.filter(
            worker_id__in=ids, state=GridTaskState.DONE, completed_at__gte=s, completed_at__lt=t
        )
        .values("worker_id")
        .annotate(n=Count("pk"), on_time=Count("pk", filter=Q(completed_at__lte=F("deadline"))))
        .order_by()
    )
    by_tasker = {r["worker_id"]: r for r in tasks}

    trainings = (
        TrainingAttendance.objects.filter(
            user_id__in=ids, session__held_at__gte=s, session__held_at__lt=t
        )
        .values("user_id")
        .annotate(n=Count("pk"), present=Count("pk", filter=Q(attended=True)))
        .order_by()
    )
    by_trainee = {r["user_id"]: r for r in trainings}
    honours: dict[int, list[dict]] = {}
    for c in Commendation.objects.filter(
        user_id__in=ids, awarded_on__gte=month.first, awarded_on__lte=month.last
    ).order_by("awarded_on", "pk"):
        honours.setdefault(c.user_id, []).append(
            {"kind": c.kind, "label": str(c.get_kind_display()), "reason": c.reason}
        )

    provider = field_stats()
    field: dict[int, dict] = {}
    if provider is not None and ids:
        try:
            field = provider(user_ids=ids, start=s, end=t) or {}
        except Exception:  # the field app's problem must not take the assessment down
            logger.exception("field stats provider failed")
            field = {}

    rows = []
    for uid, w in workers.items():
        rep = by_reporter.get(uid, {})
        chk = by_checker.get(uid, {})
        tsk = by_tasker.get(uid, {})
        f = field.get(uid, {})
        rows.append(
            {
                **w,
                "reports": rep.get("n", 0),
                "valid_share": _share(rep.get("valid", 0), rep.get("decided", 0)),
                "verifications": chk.get("n", 0),
                "verified_on_time_share": _share(chk.get("on_time", 0), chk.get("n", 0)),
                "tasks_done": tsk.get("n", 0),
                "tasks_on_time_share": _share(tsk.get("on_time", 0), tsk.get("n", 0)),
                "trainings_invited": by_trainee.get(uid, {}).get("n", 0),
                "trainings_attended": by_trainee.get(uid, {}).get("present", 0),
                "commendations": honours.get(uid, []),
                **{k: f.get(k) for k in FIELD_KEYS},
            }
        )
    sort = sort if sort in SORT_KEYS else "name"
    # Rows without a value (no data) stay last in either direction.
    rows.sort(key=lambda r: (r[sort] is None, r[sort] if r[sort] is not None else 0))
    if descending:
        present = [r for r in rows if r[sort] is not None]
        rows = list(reversed(present)) + [r for r in rows if r[sort] is None]
    return {"month": month.label, "field_data": provider is not None, "rows": rows}


def month_of(value: str | None, today: dt.date | None = None) -> Period:
    from .periods import period_from

    return period_from("month", value or None, today=today)
