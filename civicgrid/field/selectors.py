"""Scoped reads of the field app: a worker's grids and tasks, patrols, tracks, places."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.cases.models import Case, GridTask, GridTaskState, State
from civicgrid.core.errors import NotFound
from civicgrid.people.models import GridMember, Role
from civicgrid.people.scoping import scope_q
from civicgrid.territory.models import Grid

from . import tracks
from .models import CheckIn, KeyPlace, Patrol, TrackPoint

# Who may replay other people's patrols: staff of the area, never fellow workers.
SUPERVISOR_ROLES = (Role.OPERATOR, Role.LEADER, Role.GRID_CHIEF, Role.ADMIN)


def my_grids(user) -> list[Grid]:
    return list(
        Grid.objects.filter(members__user=user).select_related("area").order_by("code").distinct()
    )


def my_grid_ids(user) -> list[int]:
    return list(GridMember.objects.filter(user=user).values_list("grid_id", flat=True))


@dataclass
class Inbox:
    dispatched: list[Case]  # dispatched to me: sign, handle, submit
    to_verify: list[Case]  # handled cases of my grids waiting for a check (核实)
    to_self_close: list[Case]  # reported, self-closable matters in my grids
    tasks: list[GridTask]  # open grid tasks (下派任务)

    @property
    def count(self) -> int:
        return len(self.dispatched) + len(self.to_verify) + len(self.tasks)


def worker_inbox(user, *, limit: int = 50) -> Inbox:
    """What waits for a grid worker, most urgent first."""
    grid_ids = my_grid_ids(user)
    cols = ("category", "grid")
    dispatched = list(
        Case.objects.filter(worker=user, state__in=(State.ASSIGNED, State.IN_PROGRESS))
        .select_related(*cols)
        .order_by("-priority", "sla_due_at", "-id")[:limit]
    )
    to_verify = list(
        Case.objects.filter(grid_id__in=grid_ids, state=State.HANDLED)
        .exclude(worker=user)
        .select_related(*cols)
        .order_by("handled_at", "id")[:limit]
    )
    to_self_close = list(
        Case.objects.filter(
            grid_id__in=grid_ids, state=State.REPORTED, category__self_closable=True
        )
        .select_related(*cols)
        .order_by("-reported_at", "-id")[:limit]
    )
    tasks = list(
        GridTask.objects.filter(worker=user, state=GridTaskState.OPEN)
        .select_related("department", "item", "grid")
        .order_by("deadline", "id")[:limit]
    )
    return Inbox(dispatched, to_verify, to_self_close, tasks)


def my_reports(user, *, limit: int = 30) -> list[Case]:
    return list(
        Case.objects.filter(reporter=user)
        .select_related("category", "grid")
        .order_by("-reported_at", "-id")[:limit]
    )


def grid_task_get_for(user, pk: int) -> GridTask:
    task = (
        GridTask.objects.filter(pk=pk, worker=user)
        .select_related("department", "item", "grid")
        .first()
    )
    if task is None:
        raise NotFound(_("task"))
    return task


# --- patrols ---------------------------------------------------------------------------------


def patrol_visible_q(user) -> Q:
    """Own patrols, plus those inside the scope of an operator, leader, grid chief or admin."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    if user.is_superuser:
        return Q()
    return Q(worker_id=user.pk) | scope_q(user, "scope_code", roles=SUPERVISOR_ROLES)


def patrol_list_for(
    user,
    *,
    worker: int | None = None,
    date: dt.date | None = None,
    grid: str | None = None,
    limit: int = 50,
) -> list[Patrol]:
    qs: QuerySet[Patrol] = Patrol.objects.filter(patrol_visible_q(user)).select_related("worker")
    if worker:
        qs = qs.filter(worker_id=worker)
    if date:
        start = timezone.make_aware(dt.datetime.combine(date, dt.time.min))
        qs = qs.filter(started_at__gte=start, started_at__lt=start + dt.timedelta(days=1))
    if grid:
        qs = qs.filter(scope_code__startswith=grid[:15])
    return list(qs.order_by("-started_at", "-id")[: max(1, min(limit, 500))])


def patrol_get_for(user, key: str | int) -> Patrol:
    """A patrol by id or UUID, or NotFound when missing or not visible."""
    qs = Patrol.objects.filter(patrol_visible_q(user)).select_related("worker")
    text = str(key)
    if text.isdigit():
        patrol = qs.filter(pk=int(text)).first()
    else:
        try:
            import uuid

            patrol = qs.filter(uuid=uuid.UUID(text)).first()
        except ValueError:
            patrol = None
    if patrol is None:
        raise NotFound(_("patrol"))
    return patrol


def patrol_track(patrol: Patrol) -> list[tuple[int, float, float, int | None]]:
    """The patrol's points in time order as (epoch ms, lat, lng, accuracy), WGS-84."""
    rows = (
        TrackPoint.objects.filter(patrol_id=patrol.pk)
        .order_by("recorded_at")
        .values_list("recorded_at", "lat", "lng", "accuracy")
    )
    return [(tracks.to_ms(t), la, ln, acc) for t, la, ln, acc in rows]


def worker_day_track(user, worker_id: int, day: dt.date) -> list[tuple[int, int, float, float]]:
    """Every point of one worker's patrols on one local day: (patrol id, ms, lat, lng).

    The scope check is on the worker's patrols; the points come from the (patrol,
    recorded_at) index, one range scan per patrol.
    """
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    end = start + dt.timedelta(days=1)
    patrol_ids = list(
        Patrol.objects.filter(patrol_visible_q(user), worker_id=worker_id)
        .filter(started_at__lt=end)
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gte=start))
        .values_list("pk", flat=True)
    )
    if not patrol_ids:
        return []
    rows = (
        TrackPoint.objects.filter(
            patrol_id__in=patrol_ids, recorded_at__gte=start, recorded_at__lt=end
        )
        .order_by("recorded_at")
        .values_list("patrol_id", "recorded_at", "lat", "lng")
    )
    return [(p, tracks.to_ms(t), la, ln) for p, t, la, ln in rows]


def patrol_summary_for(
    user, *, date_from: dt.date, date_to: dt.date, grid: str | None = None
) -> list[dict]:
    """Per grid over visible patrols started in [date_from, date_to]: patrols, km, hours."""
    start = timezone.make_aware(dt.datetime.combine(date_from, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min))
    qs = Patrol.objects.filter(patrol_visible_q(user), started_at__gte=start, started_at__lt=end)
    if grid:
        qs = qs.filter(scope_code__startswith=grid[:15])
    per: dict[str, dict] = defaultdict(lambda: {"patrols": set(), "seconds": 0.0, "metres": 0.0})
    for pk, stats in qs.values_list("pk", "grid_stats").iterator(chunk_size=2000):
        for code, (secs, metres) in (stats or {}).items():
            if grid and not code.startswith(grid):
                continue
            row = per[code]
            row["patrols"].add(pk)
            row["seconds"] += secs
            row["metres"] += metres
    names = dict(Grid.objects.filter(code__in=[c for c in per if c]).values_list("code", "name"))
    out = [
        {
            "grid_code": code or None,
            "grid_name": names.get(code, _("Outside every grid") if not code else code),
            "patrols": len(row["patrols"]),
            "hours": round(row["seconds"] / 3600, 2),
            "km": round(row["metres"] / 1000, 2),
        }
        for code, row in per.items()
    ]
    out.sort(key=lambda r: (r["grid_code"] is None, r["grid_code"] or ""))
    return out


# --- places and check-ins --------------------------------------------------------------------


def keyplace_list_for(
    user, *, lat: float | None = None, lng: float | None = None, limit: int = 200
) -> list[tuple[KeyPlace, float | None]]:
    """Active places of the user's grids (workers) or scope (staff), nearest first if given."""
    q = Q(grid__members__user=user) | scope_q(user, "scope_code", roles=SUPERVISOR_ROLES)
    qs = KeyPlace.objects.filter(q, is_active=True).select_related("grid").distinct()
    rows = list(qs.order_by("scope_code", "name")[:limit])
    if lat is None or lng is None:
        return [(p, None) for p in rows]
    out = [(p, tracks.geodesic_m(lat, lng, p.lat, p.lng)) for p in rows]
    out.sort(key=lambda pair: pair[1] if pair[1] is not None else math.inf)
    return out


def keyplace_get_for(user, pk: int) -> KeyPlace:
    q = Q(grid__members__user=user) | scope_q(user, "scope_code", roles=SUPERVISOR_ROLES)
    place = KeyPlace.objects.filter(q, pk=pk).select_related("grid").first()
    if place is None:
        raise NotFound(_("place"))
    return place


def checkin_list_for(user, *, limit: int = 50, worker: int | None = None) -> list[CheckIn]:
    q = Q(worker_id=user.pk) | scope_q(user, "scope_code", roles=SUPERVISOR_ROLES)
    qs = CheckIn.objects.filter(q).select_related("place", "worker")
    if worker:
        qs = qs.filter(worker_id=worker)
    return list(qs.order_by("-checked_at", "-id")[:limit])
