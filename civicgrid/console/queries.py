"""Console reads that the cases selectors do not offer: queues, bounded counts, keyset pages
with several sort orders, map points, supervision and directory lists.

Everything starts from ``civicgrid.cases.selectors`` (``case_visible_q``, ``case_queryset_for``)
or ``civicgrid.people.scoping``, so visibility has one definition. What is added here is only the
shape a screen needs: a queue's Q, a count that stops at a cap, a page after/before a cursor.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db.models import Count, F, Max, Q, QuerySet
from django.db.models.functions import Substr
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from civicgrid.cases.models import (
    OPEN_STATES,
    Case,
    CaseAction,
    Category,
    State,
    Supervision,
)
from civicgrid.cases.selectors import case_queryset_for, case_visible_q
from civicgrid.core.errors import DomainError
from civicgrid.people.models import (
    Center,
    Department,
    GridMember,
    Role,
    RoleAssignment,
    User,
)
from civicgrid.people.scoping import scope_prefixes, scope_q
from civicgrid.territory.models import Area

COUNT_CAP = 10_000  # counts stop here: "10,000+" is as useful to a seat operator as 987,654
PAGE_SIZE = 50
MAP_LIMIT = 3000

# --- visibility ----------------------------------------------------------------------------------


def visible_q(user) -> Q:
    """``visible_q(user)``, built once per user object (it reads role assignments)."""
    cached = user.__dict__.get("_console_visible_q")
    if cached is None:
        cached = case_visible_q(user)
        user.__dict__["_console_visible_q"] = cached
    return cached


# Boundaries are kilobytes each and no list shows them.
NO_SHAPES = ("grid__boundary", "area__boundary")


# --- queues -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Queue:
    key: str
    label: Any
    tone: str  # the tile's colour: info, warn, danger, ok
    hint: Any = ""


OPERATOR_QUEUES = [
    Queue(
        "reported",
        pgettext_lazy("queue", "Awaiting acceptance"),
        "info",
        pgettext_lazy("queue", "Newly reported"),
    ),
    Queue(
        "filed",
        pgettext_lazy("queue", "Awaiting dispatch"),
        "info",
        pgettext_lazy("queue", "Filed or returned"),
    ),
    Queue(
        "in_progress",
        pgettext_lazy("queue", "Being handled"),
        "ok",
        pgettext_lazy("queue", "Assigned or signed"),
    ),
    Queue(
        "handled",
        pgettext_lazy("queue", "Awaiting verification"),
        "info",
        pgettext_lazy("queue", "Result in"),
    ),
    Queue(
        "due_soon",
        pgettext_lazy("queue", "Due soon"),
        "warn",
        pgettext_lazy("queue", "Past 80 % of the limit"),
    ),
    Queue(
        "overdue",
        pgettext_lazy("queue", "Overdue"),
        "danger",
        pgettext_lazy("queue", "Past the deadline"),
    ),
    Queue(
        "supervised",
        pgettext_lazy("queue", "Supervised"),
        "danger",
        pgettext_lazy("queue", "Supervised, still open"),
    ),
]
HANDLER_QUEUES = [
    Queue(
        "to_sign",
        pgettext_lazy("queue", "To sign for"),
        "info",
        pgettext_lazy("queue", "Dispatched to us"),
    ),
    Queue(
        "signed",
        pgettext_lazy("queue", "Being handled"),
        "ok",
        pgettext_lazy("queue", "Signed for"),
    ),
    Queue(
        "rework",
        pgettext_lazy("queue", "Sent back"),
        "warn",
        pgettext_lazy("queue", "Rework requested"),
    ),
    Queue(
        "handled",
        pgettext_lazy("queue", "Submitted"),
        "info",
        pgettext_lazy("queue", "Awaiting verification"),
    ),
    Queue(
        "overdue",
        pgettext_lazy("queue", "Overdue"),
        "danger",
        pgettext_lazy("queue", "Past the deadline"),
    ),
    Queue(
        "supervised",
        pgettext_lazy("queue", "Supervised"),
        "danger",
        pgettext_lazy("queue", "Supervised, still open"),
    ),
]
FIELD_QUEUES = [
    Queue(
        "assigned_to_me",
        pgettext_lazy("queue", "Assigned to me"),
        "info",
        pgettext_lazy("queue", "To handle"),
    ),
    Queue(
        "to_verify",
        pgettext_lazy("queue", "To verify"),
        "warn",
        pgettext_lazy("queue", "Results in my grids"),
    ),
    Queue(
        "my_reports",
        pgettext_lazy("queue", "My open reports"),
        "ok",
        pgettext_lazy("queue", "Reported by me"),
    ),
    Queue(
        "overdue",
        pgettext_lazy("queue", "Overdue"),
        "danger",
        pgettext_lazy("queue", "In my grids"),
    ),
]
QUEUES = {
    "operator": OPERATOR_QUEUES,
    "handler": HANDLER_QUEUES,
    "field": FIELD_QUEUES,
}


def queue_q(key: str, now: dt.datetime, user=None) -> Q:
    """The condition of one queue (on top of the role's base set)."""
    open_ = Q(state__in=OPEN_STATES)
    if key in ("reported", "filed", "handled"):
        return Q(state=key)
    if key == "in_progress":
        return Q(state__in=[State.ASSIGNED, State.IN_PROGRESS])
    if key == "to_sign":
        return Q(state=State.ASSIGNED)
    if key == "signed":
        return Q(state=State.IN_PROGRESS)
    if key == "rework":
        # A case back in progress after a rework: the doer has to act on it again.
        return Q(state=State.IN_PROGRESS, rework_count__gt=0)
    if key == "due_soon":
        return open_ & Q(sla_warn_at__lte=now, sla_due_at__gt=now)
    if key == "overdue":
        return open_ & Q(sla_due_at__lte=now)
    if key == "supervised":
        # 督办件: supervised at least once and still open (whether the latest supervision was
        # answered is on the case page and in the supervision list). A counter on the case keeps
        # this a column test instead of a join over every supervision ever made.
        return open_ & Q(supervision_count__gt=0)
    if key == "assigned_to_me":
        return Q(worker_id=getattr(user, "pk", None), state__in=[State.ASSIGNED, State.IN_PROGRESS])
    if key == "to_verify":
        return Q(state=State.HANDLED)
    if key == "my_reports":
        return open_ & Q(reporter_id=getattr(user, "pk", None))
    raise DomainError("invalid_queue", _("Unknown queue “%(q)s”.") % {"q": key}, field="queue")


def operator_centers(user) -> list[int]:
    """The centers a user sits in as operator (the assignment's center, else its area's)."""
    ids: set[int] = set()
    area_ids = []
    for ra in RoleAssignment.objects.filter(user=user, role=Role.OPERATOR):
        if ra.center_id:
            ids.add(ra.center_id)
        else:
            area_ids.append(ra.area_id)
    if area_ids:
        ids |= set(Center.objects.filter(area_id__in=area_ids).values_list("pk", flat=True))
    return sorted(ids)


def operator_base_q(user, scope: str = "all") -> Q:
    """Operator queues: ``mine`` = owned by my centers; ``all`` = every case I may act on."""
    if user.is_superuser:
        return Q()
    if scope == "all":
        return scope_q(user, "owner_code", roles=[Role.OPERATOR])
    centers = operator_centers(user)
    return Q(owner_id__in=centers) if centers else Q(pk__in=[])


def handler_base_q(user) -> Q:
    """Cases dispatched to my departments within each assignment's area, or to me."""
    from civicgrid.territory.codes import area_prefix

    q = Q(worker_id=user.pk)
    for dept_id, code in RoleAssignment.objects.filter(
        user=user, role=Role.HANDLER, department__isnull=False
    ).values_list("department_id", "area__code"):
        q |= Q(department_id=dept_id, scope_code__startswith=area_prefix(code))
    return q


def field_base_q(user) -> Q:
    """Grid workers and chiefs: cases in their grids/area, assigned to or reported by them."""
    return (
        scope_q(user, "scope_code", roles=[Role.GRID_WORKER, Role.GRID_CHIEF])
        | Q(worker_id=user.pk)
        | Q(reporter_id=user.pk)
    )


def home_kinds(user) -> list[str]:
    """Which home sections a user gets, in display order."""
    cached = user.__dict__.get("_console_kinds")
    if cached is not None:
        return cached
    roles = set(RoleAssignment.objects.filter(user=user).values_list("role", flat=True))
    kinds = []
    if user.is_superuser or Role.OPERATOR in roles:
        kinds.append("operator")
    if Role.HANDLER in roles:
        kinds.append("handler")
    if user.is_superuser or Role.LEADER in roles or Role.ADMIN in roles:
        kinds.append("leader")
    if Role.GRID_WORKER in roles or Role.GRID_CHIEF in roles:
        kinds.append("field")
    user.__dict__["_console_kinds"] = kinds
    return kinds


def base_q(user, kind: str, scope: str = "all") -> Q:
    if kind == "operator":
        return operator_base_q(user, scope)
    if kind == "handler":
        return handler_base_q(user)
    if kind == "field":
        return field_base_q(user)
    raise DomainError("invalid_queue", _("Unknown queue set."), field="kind")


def bounded_count(qs: QuerySet, cap: int = COUNT_CAP) -> int:
    """``count()`` that stops reading after ``cap + 1`` rows (the page shows "cap+")."""
    return qs.order_by().values("pk")[: cap + 1].count()


def queue_counts(user, kind: str, *, scope: str = "all", now=None) -> dict[str, int]:
    """Live counts of one role's queues, in one pass over the open cases of the base set.

    Every queue is a subset of the open cases, so one aggregate with a FILTER per queue reads
    the open set once instead of once per tile. The result is cached under the data stamp and
    the minute (what the polling ETag is made of): it is exact, and a workbench that is
    reloaded or polled while nothing changed does not count again.
    """
    now = now or timezone.now()
    minute = int(now.timestamp() // 60)
    key = f"console:counts:{user.pk}:{kind}:{scope}:{data_stamp()}:{minute}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    base = (
        Case.objects.filter(visible_q(user))
        .filter(base_q(user, kind, scope))
        .filter(state__in=OPEN_STATES)
        .order_by()
    )
    counts = base.aggregate(
        **{q.key: Count("pk", filter=queue_q(q.key, now, user)) for q in QUEUES[kind]}
    )
    result = {k: v or 0 for k, v in counts.items()}
    cache.set(key, result, 120)
    return result


def queue_cases(user, kind: str, key: str, *, scope: str = "all", limit: int = 12, now=None):
    """The first cases of a queue, most urgent first (running deadline, then age)."""
    now = now or timezone.now()
    ids = list(
        Case.objects.filter(visible_q(user))
        .filter(base_q(user, kind, scope))
        .filter(queue_q(key, now, user))
        .order_by(F("sla_due_at").asc(nulls_last=True), "-id")
        .values_list("pk", flat=True)[:limit]
    )
    return _hydrate(ids)


def _hydrate(ids: list[int]) -> list[Case]:
    """Full rows for a page of ids, with what a case table shows, in the ids' order."""
    rows = {
        c.pk: c
        for c in Case.objects.filter(pk__in=ids)
        .select_related("category", "grid", "area", "department", "worker")
        .defer(*NO_SHAPES)
    }
    return [rows[i] for i in ids if i in rows]


def data_stamp() -> int:
    """A number that moves whenever any case changes: every change appends an action row.

    Read once per request (an index-only MAX over the primary key).
    """
    return CaseAction.objects.aggregate(m=Max("id"))["m"] or 0


# --- leader overview ---------------------------------------------------------------------------


def leader_areas(user) -> list[Area]:
    if user.is_superuser:
        return list(Area.objects.filter(parent__isnull=True).order_by("code"))
    areas = [
        ra.area
        for ra in RoleAssignment.objects.filter(user=user, role__in=[Role.LEADER, Role.ADMIN])
        .select_related("area")
        .defer("area__boundary")
    ]
    # Keep the outermost areas only: a leader of a city needs no second row for its district.
    areas.sort(key=lambda a: len(a.prefix))
    out: list[Area] = []
    for a in areas:
        if not any(a.code.startswith(b.prefix) for b in out):
            out.append(a)
    return out


def month_start(now: dt.datetime) -> dt.datetime:
    local = timezone.localtime(now)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def day_start(now: dt.datetime) -> dt.datetime:
    return timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)


def leader_overview(user, area: Area, *, now=None) -> dict:
    """Counts for ``area`` and one row per child area (open, due soon, overdue, closed)."""
    from civicgrid.territory.codes import PREFIX_LEN

    now = now or timezone.now()
    inside = Case.objects.filter(visible_q(user), scope_code__startswith=area.prefix)
    open_qs = inside.filter(state__in=OPEN_STATES)
    child_level = area.level + 1
    children = list(Area.objects.filter(parent=area).order_by("code"))
    rows: dict[str, dict] = {
        c.prefix: {"area": c, "open": 0, "due_soon": 0, "overdue": 0, "closed": 0} for c in children
    }
    totals = {
        "received_today": bounded_count(inside.filter(reported_at__gte=day_start(now))),
        "open": 0,
        "due_soon": 0,
        "overdue": 0,
        "closed_month": 0,
        "supervised": bounded_count(open_qs.filter(supervision_count__gt=0)),
    }
    if child_level <= 4:
        n = PREFIX_LEN[child_level]
        agg = (
            open_qs.annotate(part=Substr("scope_code", 1, n))
            .values("part")
            .annotate(
                open=Count("pk"),
                due_soon=Count("pk", filter=Q(sla_warn_at__lte=now, sla_due_at__gt=now)),
                overdue=Count("pk", filter=Q(sla_due_at__lte=now)),
            )
            .order_by()
        )
        for r in agg:
            row = rows.get(r["part"])
            if row is not None:
                row.update(open=r["open"], due_soon=r["due_soon"], overdue=r["overdue"])
        closed = (
            inside.filter(closed_at__gte=month_start(now), state=State.CLOSED)
            .annotate(part=Substr("scope_code", 1, n))
            .values("part")
            .annotate(n=Count("pk"))
            .order_by()
        )
        for r in closed:
            row = rows.get(r["part"])
            if row is not None:
                row["closed"] = r["n"]
        for key in ("open", "due_soon", "overdue"):
            totals[key] = sum(r[key] for r in rows.values())
        totals["closed_month"] = sum(r["closed"] for r in rows.values())
    else:
        totals["open"] = bounded_count(open_qs)
        totals["due_soon"] = bounded_count(open_qs.filter(queue_q("due_soon", now)))
        totals["overdue"] = bounded_count(open_qs.filter(queue_q("overdue", now)))
        totals["closed_month"] = bounded_count(
            inside.filter(closed_at__gte=month_start(now), state=State.CLOSED)
        )
    return {
        "area": area,
        "totals": totals,
        "rows": list(rows.values()),
        "categories": open_by_category(user, area),
        "supervisions": recent_supervisions(user, area),
    }


# --- keyset pages ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sort:
    key: str
    label: Any
    field: str
    descending: bool
    nullable: bool = False  # nulls sort last (ascending only)


SORTS = {
    s.key: s
    for s in [
        Sort("newest", gettext_lazy("Newest first"), "reported_at", True),
        Sort("oldest", gettext_lazy("Oldest first"), "reported_at", False),
        Sort("deadline", gettext_lazy("Deadline soonest"), "sla_due_at", False, nullable=True),
        Sort("priority", gettext_lazy("Priority highest"), "priority", True),
        Sort("updated", gettext_lazy("Recently updated"), "updated_at", True),
    ]
}
DEFAULT_SORT = "newest"


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"t": value.isoformat()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and "t" in value:
        parsed = parse_datetime(value["t"])
        if parsed is None:
            raise ValueError
        return parsed
    return value


def encode_cursor(sort: Sort, obj: Any) -> str:
    return _cursor(sort, (obj.pk, getattr(obj, sort.field)))


def decode_cursor(sort: Sort, cursor: str) -> tuple[Any, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        key, value, pk = json.loads(raw)
        if key != sort.key:
            raise ValueError
        return _decode(value), int(pk)
    except (ValueError, TypeError, UnicodeDecodeError, json.JSONDecodeError):
        raise DomainError(
            "invalid_cursor", _("The page link is not valid."), field="cursor"
        ) from None


def _after_q(sort: Sort, value: Any, pk: int) -> Q:
    """Rows that come after (value, pk) in the sort order."""
    f = sort.field
    if sort.nullable:
        if value is None:
            return Q(**{f"{f}__isnull": True, "pk__gt": pk})
        return (
            Q(**{f"{f}__gt": value}) | Q(**{f: value, "pk__gt": pk}) | Q(**{f"{f}__isnull": True})
        )
    op = "lt" if sort.descending else "gt"
    return Q(**{f"{f}__{op}": value}) | Q(**{f: value, f"pk__{op}": pk})


def _before_q(sort: Sort, value: Any, pk: int) -> Q:
    f = sort.field
    if sort.nullable:
        if value is None:
            return Q(**{f"{f}__isnull": False}) | Q(**{f"{f}__isnull": True, "pk__lt": pk})
        return Q(**{f"{f}__lt": value}) | Q(**{f: value, "pk__lt": pk})
    op = "gt" if sort.descending else "lt"
    return Q(**{f"{f}__{op}": value}) | Q(**{f: value, f"pk__{op}": pk})


def _ordering(sort: Sort, reverse: bool = False) -> list:
    desc = sort.descending != reverse
    if sort.nullable:
        expr = (
            F(sort.field).desc(nulls_first=True) if reverse else F(sort.field).asc(nulls_last=True)
        )
    else:
        expr = F(sort.field).desc() if desc else F(sort.field).asc()
    return [expr, "-pk" if desc else "pk"]


@dataclass
class KeysetPage:
    items: list
    next_cursor: str | None = None
    prev_cursor: str | None = None
    first: bool = True
    extra: dict = field(default_factory=dict)


def keyset_page(
    qs: QuerySet,
    sort: Sort,
    *,
    after: str | None = None,
    before: str | None = None,
    limit: int = PAGE_SIZE,
    hydrate=None,
) -> KeysetPage:
    """One page of ``qs`` in ``sort`` order after or before a cursor (never an OFFSET).

    The page is chosen on narrow rows (id and sort key only), then ``hydrate(ids)`` (default:
    ``qs`` itself) loads the full rows with their joins: sorting a few thousand narrow rows is
    cheap, joining them all before a sort is not.
    """
    keys = qs.values_list("pk", sort.field)
    if before:
        value, pk = decode_cursor(sort, before)
        rows = list(
            keys.filter(_before_q(sort, value, pk)).order_by(*_ordering(sort, True))[: limit + 1]
        )
        more_before = len(rows) > limit
        rows = rows[:limit][::-1]
        more_after, first = True, not more_before
    else:
        if after:
            value, pk = decode_cursor(sort, after)
            keys = keys.filter(_after_q(sort, value, pk))
        rows = list(keys.order_by(*_ordering(sort))[: limit + 1])
        more_after = len(rows) > limit
        rows = rows[:limit]
        more_before, first = bool(after), not after
    ids = [r[0] for r in rows]
    loaded = {obj.pk: obj for obj in (hydrate(ids) if hydrate else qs.filter(pk__in=ids))}
    return KeysetPage(
        items=[loaded[i] for i in ids if i in loaded],
        next_cursor=_cursor(sort, rows[-1]) if rows and more_after else None,
        prev_cursor=_cursor(sort, rows[0]) if rows and more_before else None,
        first=first,
    )


def _cursor(sort: Sort, row: tuple) -> str:
    raw = json.dumps([sort.key, _encode(row[1]), row[0]], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


# --- the case list ------------------------------------------------------------------------------

SLA_FILTERS = ("normal", "due_soon", "overdue")


def case_filter_qs(user, f: dict, *, now=None) -> QuerySet[Case]:
    """The case list's filters (already cleaned) on top of the cases selector."""
    now = now or timezone.now()
    state = f.get("state") or None
    open_only = state == "open"
    qs = case_queryset_for(
        user,
        state=None if open_only else state,
        category=f.get("category") or None,
        area=f.get("area") or None,
        grid=f.get("grid") or None,
        source=f.get("source") or None,
        department=f.get("department") or None,
        flow=f.get("flow") or None,
        date_from=f.get("date_from"),
        date_to=f.get("date_to"),
        text=f.get("q") or None,
    )
    if open_only:
        qs = qs.filter(state__in=OPEN_STATES)
    sla = f.get("sla")
    if sla == "overdue":
        qs = qs.filter(queue_q("overdue", now))
    elif sla == "due_soon":
        qs = qs.filter(queue_q("due_soon", now))
    elif sla == "normal":
        qs = qs.filter(state__in=OPEN_STATES).filter(
            Q(sla_warn_at__gt=now) | Q(sla_warn_at__isnull=True)
        )
    if f.get("supervised"):
        qs = qs.filter(queue_q("supervised", now))
    queue = f.get("queue")
    if queue:
        kind, _sep, key = queue.partition(":")
        if kind not in QUEUES or key not in {q.key for q in QUEUES[kind]}:
            raise DomainError("invalid_queue", _("Unknown queue."), field="queue")
        qs = qs.filter(base_q(user, kind, f.get("scope") or "all")).filter(queue_q(key, now, user))
    return qs


def case_page(user, f: dict, *, after=None, before=None, limit: int = PAGE_SIZE) -> KeysetPage:
    sort = SORTS.get(f.get("sort") or DEFAULT_SORT, SORTS[DEFAULT_SORT])
    qs = case_filter_qs(user, f)
    page = keyset_page(qs, sort, after=after, before=before, limit=limit, hydrate=_hydrate)
    page.extra["total"] = bounded_count(qs)
    return page


# --- map ---------------------------------------------------------------------------------------


def parse_bbox(raw: str | None) -> tuple[float, float, float, float]:
    try:
        x0, y0, x1, y1 = (float(v) for v in (raw or "").split(","))
    except ValueError:
        raise DomainError(
            "invalid_bbox", _("bbox must be minLng,minLat,maxLng,maxLat."), field="bbox"
        ) from None
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise DomainError("invalid_bbox", _("bbox is out of range."), field="bbox")
    return x0, y0, x1, y1


def map_points(
    user, bbox: tuple[float, float, float, float], f: dict, *, limit: int | None = None, now=None
) -> dict:
    """Visible cases inside ``bbox`` as compact rows, newest first, at most ``limit``."""
    now = now or timezone.now()
    limit = limit or MAP_LIMIT
    x0, y0, x1, y1 = bbox
    f = {**f}
    if not f.get("state"):
        f["state"] = "open"
    qs = case_filter_qs(user, f, now=now).filter(lat__gte=y0, lat__lte=y1, lng__gte=x0, lng__lte=x1)
    rows = list(
        qs.order_by("-reported_at", "-id").values_list(
            "pk",
            "lat",
            "lng",
            "state",
            "sla_due_at",
            "sla_warn_at",
            "tracking_code",
            "category__name",
        )[: limit + 1]
    )
    truncated = len(rows) > limit
    items = []
    for pk, lat, lng, state, due, warn, code, cat in rows[:limit]:
        items.append(
            [pk, round(lat, 6), round(lng, 6), sla_light(state, due, warn, now), state, code, cat]
        )
    return {"items": items, "truncated": truncated, "limit": limit}


def sla_light(state: str, due, warn, now) -> str:
    """``overdue`` / ``warning`` / ``normal`` from the running clock, ``done`` when stopped."""
    if state not in OPEN_STATES or due is None:
        return "done" if state not in OPEN_STATES else "normal"
    if due <= now:
        return "overdue"
    if warn is not None and warn <= now:
        return "warning"
    return "normal"


def scope_bounds(user) -> tuple[float, float, float, float] | None:
    """The bounding box of the user's areas, to open maps on their territory."""
    prefixes = scope_prefixes(user)
    qs = Area.objects.filter(min_lng__isnull=False)
    if prefixes is not None:
        if not prefixes:
            return None
        # The shortest code that covers each prefix is the area itself.
        codes = [p.ljust(12, "0") for p in prefixes if len(p) <= 12]
        grid_prefixes = [p for p in prefixes if len(p) > 12]
        qs = qs.filter(code__in=codes)
        boxes = list(qs.values_list("min_lng", "min_lat", "max_lng", "max_lat"))
        if grid_prefixes:
            from civicgrid.territory.models import Grid

            boxes += list(
                Grid.objects.filter(code__in=grid_prefixes, min_lng__isnull=False).values_list(
                    "min_lng", "min_lat", "max_lng", "max_lat"
                )
            )
    else:
        boxes = list(qs.filter(level=1).values_list("min_lng", "min_lat", "max_lng", "max_lat"))
    if not boxes:
        return None
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


# --- choices -------------------------------------------------------------------------------------


def category_choices() -> list[tuple[Category, list[Category]]]:
    """Active categories as (class, items) pairs for grouped selects."""
    cats = list(Category.objects.filter(is_active=True).order_by("code"))
    classes = [c for c in cats if c.is_class]
    return [(c, [i for i in cats if i.parent_id == c.pk]) for c in classes]


def department_choices_for_case(case: Case) -> list[Department]:
    """Active departments that serve the case's location (the engine checks it again)."""
    depts = (
        Department.objects.filter(is_active=True)
        .select_related("area")
        .defer("area__boundary")
        .order_by("area__code", "code")
    )
    return [d for d in depts if case.scope_code.startswith(d.area.prefix)]


def department_choices_for(user) -> list[Department]:
    """Departments an operator may dispatch to: above, at or below their areas."""
    prefixes = scope_prefixes(user, [Role.OPERATOR])
    depts = list(
        Department.objects.filter(is_active=True)
        .select_related("area")
        .defer("area__boundary")
        .order_by("area__code", "code")
    )
    if prefixes is None:
        return depts
    return [
        d
        for d in depts
        if any(d.area.prefix.startswith(p) or p.startswith(d.area.prefix) for p in prefixes)
    ]


def worker_choices_for_case(case: Case) -> list[GridMember]:
    if not case.grid_id:
        return []
    return list(
        GridMember.objects.filter(grid_id=case.grid_id, user__is_active=True)
        .select_related("user")
        .order_by("-is_leader", "worker_type", "user__full_name")
    )


def area_choices(user, max_level: int = 3) -> list[Area]:
    return list(
        Area.objects.filter(scope_q(user), level__lte=max_level)
        .only("code", "name", "level")
        .order_by("code")[:500]
    )


# --- supervision -----------------------------------------------------------------------------


def prefixed(q: Q, prefix: str) -> Q:
    """The same condition on a related model (``case__`` + every lookup)."""
    out = Q()
    out.connector, out.negated = q.connector, q.negated
    for child in q.children:
        if isinstance(child, Q):
            out.children.append(prefixed(child, prefix))
        else:
            key, value = child
            key = f"{prefix}id{key[2:]}" if key == "pk" or key.startswith("pk__") else prefix + key
            out.children.append((key, value))
    return out


def supervision_qs(user, f: dict) -> QuerySet[Supervision]:
    qs = (
        Supervision.objects.filter(prefixed(visible_q(user), "case__"))
        .select_related("case", "case__category", "case__grid", "department", "by")
        .defer("case__grid__boundary")
    )
    status = f.get("status")
    if status == "open":
        qs = qs.filter(answered_at__isnull=True, case__state__in=OPEN_STATES)
    elif status == "answered":
        qs = qs.filter(answered_at__isnull=False)
    if f.get("kind"):
        qs = qs.filter(kind=f["kind"])
    if f.get("department"):
        qs = qs.filter(department_id=f["department"])
    return qs


SUPERVISION_SORT = Sort("created", gettext_lazy("Newest first"), "created_at", True)


# --- directories ---------------------------------------------------------------------------------


def team_summary(grid_ids: Iterable[int]) -> dict[int, dict]:
    """Per grid: members (leader first) and a count per worker type."""
    out: dict[int, dict] = {}
    for m in (
        GridMember.objects.filter(grid_id__in=list(grid_ids))
        .select_related("user")
        .order_by("grid_id", "-is_leader", "worker_type", "user__full_name")
    ):
        row = out.setdefault(m.grid_id, {"members": [], "types": {}})
        row["members"].append(m)
        label = str(m.get_worker_type_display())
        row["types"][label] = row["types"].get(label, 0) + 1
    return out


def worker_qs(user, f: dict) -> QuerySet[User]:
    """Users with a grid membership in the caller's scope, with their memberships."""
    members = GridMember.objects.filter(scope_q(user, "grid__code"))
    if f.get("type"):
        members = members.filter(worker_type=f["type"])
    if f.get("area"):
        members = members.filter(grid__code__startswith=f["area"])
    qs = User.objects.filter(pk__in=members.values("user_id"), is_active=True)
    text = (f.get("q") or "").strip()
    if text:
        qs = qs.filter(Q(full_name__icontains=text) | Q(username__icontains=text))
    return qs.order_by("full_name", "pk")


# --- activity and today's figures ----------------------------------------------------------------


def recent_activity(user, *, limit: int = 8) -> list[CaseAction]:
    """The latest actions on cases the user may see (newest first)."""
    return list(
        CaseAction.objects.filter(prefixed(visible_q(user), "case__"))
        .select_related("case", "case__category", "actor")
        .order_by("-id")[:limit]
    )


def today_figures(user, base: Q, *, now=None) -> dict[str, int]:
    """Received, accepted and closed since midnight within ``base`` (bounded counts)."""
    now = now or timezone.now()
    start = day_start(now)
    qs = Case.objects.filter(visible_q(user)).filter(base)
    return {
        "received": bounded_count(qs.filter(reported_at__gte=start)),
        "filed": bounded_count(qs.filter(filed_at__gte=start)),
        "closed": bounded_count(qs.filter(closed_at__gte=start, state=State.CLOSED)),
    }


def open_by_category(user, area: Area, *, limit: int = 8) -> list[dict]:
    """Open cases of an area per category class, largest first."""
    rows = (
        Case.objects.filter(
            visible_q(user), scope_code__startswith=area.prefix, state__in=OPEN_STATES
        )
        .annotate(cls=Substr("category__code", 1, 2))
        .values("cls")
        .annotate(n=Count("pk"))
        .order_by("-n")[:limit]
    )
    names = dict(
        Category.objects.filter(code__in=[r["cls"] for r in rows]).values_list("code", "name")
    )
    out = [{"code": r["cls"], "name": names.get(r["cls"], r["cls"]), "n": r["n"]} for r in rows]
    top = max((r["n"] for r in out), default=0)
    for r in out:
        r["pct"] = round(100 * r["n"] / top) if top else 0
    return out


def recent_supervisions(user, area: Area, *, limit: int = 6) -> list[Supervision]:
    return list(
        Supervision.objects.filter(
            prefixed(visible_q(user), "case__"), case__scope_code__startswith=area.prefix
        )
        .select_related("case", "case__category", "by")
        .order_by("-id")[:limit]
    )
