"""Scoped reads of cases: visibility, the filtered list with cursor pagination, duplicates."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from pyproj import Geod

from civicgrid.core.errors import DomainError, NotFound
from civicgrid.core.keyset import Sort, cursor_of, keyset_ids, ordering
from civicgrid.core.keyset import encode_cursor as encode_keyset_cursor
from civicgrid.people.access import VIEW_ROLES, Principal  # noqa: F401 (VIEW_ROLES re-exported)

from .models import (
    OPEN_STATES,
    TRACKING_ALPHABET,
    TRACKING_LEN,
    Case,
    CaseAction,
    Category,
    SlaState,
    State,
    overdue_q,
)

_GEOD = Geod(ellps="WGS84")
DUPLICATE_RADIUS_M = 100
DUPLICATE_WINDOW = dt.timedelta(hours=72)
# What an operator's default queue shows: cases waiting for a center's decision.
QUEUE_STATES = (State.REPORTED, State.FILED, State.HANDLED)
_TRACKING_CHARS = frozenset(TRACKING_ALPHABET)
# What a list row (the API's summary) reads: never boundaries, password hashes or the long text
# columns of the detail (result, rating comment).
LIST_RELATED = ("category", "grid", "area", "department", "worker")
LIST_FIELDS = (
    "id",
    "tracking_code",
    "flow",
    "state",
    "description",
    "address",
    "lat",
    "lng",
    "scope_code",
    "owner_code",
    "source",
    "priority",
    "reported_at",
    "sla_state",
    "sla_due_at",
    "version",
    "reporter_id",
    *LIST_RELATED,
    "category__code",
    "category__name",
    "grid__code",
    "area__code",
    "department__code",
    "department__name",
    "worker__username",
    "worker__full_name",
)


def case_visible_q(user) -> Q:
    """Cases ``user`` (a user or a ``Principal``) may see; the rule is
    ``civicgrid.people.access.Principal.case_visible_q``."""
    return Principal.of(user).case_visible_q()


def case_get_for(principal, key: int | str) -> Case:
    """One case by id or tracking code, or NotFound when missing or out of scope."""
    qs = Case.objects.select_related(
        "category", "grid", "area", "owner", "department", "worker", "reporter"
    ).filter(case_visible_q(principal))
    if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
        case = qs.filter(pk=int(key)).first()
    else:
        case = qs.filter(tracking_code=str(key).strip().upper()).first()
    if case is None:
        raise NotFound(_("case"))
    return case


def case_get_public(tracking_code: str) -> Case:
    """A case by its tracking code, for the public tracking page (the code is the secret)."""
    case = (
        Case.objects.select_related("category", "area")
        .filter(tracking_code=(tracking_code or "").strip().upper())
        .first()
    )
    if case is None:
        raise NotFound(_("case"))
    return case


@dataclass
class Page:
    items: list[Case]
    next_cursor: str | None


# The API's one order: newest first. The pager is the console's too (civicgrid.core.keyset).
NEWEST = Sort("newest", "", "reported_at", True)


def encode_cursor(case: Case) -> str:
    return cursor_of(NEWEST, case)


def _listify(value) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [v for v in value.split(",") if v]
    return list(value)


def case_queryset_for(
    user,
    *,
    queue: bool = False,
    state: Any = None,
    category: Any = None,
    area: str | None = None,
    grid: str | None = None,
    source: Any = None,
    department: int | None = None,
    overdue: bool | None = None,
    sla_state: str | None = None,
    flow: str | None = None,
    date_from: dt.datetime | dt.date | None = None,
    date_to: dt.datetime | dt.date | None = None,
    text: str | None = None,
) -> QuerySet[Case]:
    """Visible cases with filters (no ordering beyond the default, no slicing).

    ``queue``: the operator's default queue, cases owned by the user's own centers
    (``Principal.centers``) that wait for a center's decision. ``category`` accepts class codes (``01``) or item codes.
    ``area``/``grid`` are codes (prefix match). ``overdue`` means open and at or past the running
    deadline now (``cases.models.overdue_q``).
    """
    principal = Principal.of(user)
    qs = Case.objects.filter(principal.case_visible_q())
    if queue:
        qs = qs.filter(owner_id__in=list(principal.centers))
        if not state:
            qs = qs.filter(state__in=QUEUE_STATES)
    states = _listify(state)
    if states:
        bad = [s for s in states if s not in State.values]
        if bad:
            raise DomainError("invalid", _("Unknown state %(s)s.") % {"s": bad[0]}, field="state")
        qs = qs.filter(state__in=states)
    cats = _listify(category)
    if cats:
        cq = Q()
        for c in cats:
            cq |= Q(category__code__startswith=c) if len(c) == 2 else Q(category__code=c)
        qs = qs.filter(cq)
    if area:
        from civicgrid.territory.codes import area_prefix

        try:
            prefix = area_prefix(area)
        except DomainError as exc:
            raise DomainError(exc.code, exc.message, field="area") from None
        qs = qs.filter(scope_code__startswith=prefix)
    if grid:
        qs = qs.filter(scope_code__startswith=grid)
    sources = _listify(source)
    if sources:
        qs = qs.filter(source__in=sources)
    if department:
        qs = qs.filter(department_id=department)
    if flow:
        qs = qs.filter(flow=flow)
    if overdue is True:
        qs = qs.overdue(timezone.now())
    elif overdue is False:
        qs = qs.exclude(overdue_q(timezone.now()))
    if sla_state:
        if sla_state not in SlaState.values:
            raise DomainError("invalid", _("Unknown SLA state."), field="sla_state")
        qs = qs.filter(sla_state=sla_state)
    if date_from:
        qs = qs.filter(reported_at__gte=_as_start(date_from))
    if date_to:
        qs = qs.filter(reported_at__lt=_as_end(date_to))
    text = (text or "").strip()
    if text:
        code = text.upper()
        if looks_like_tracking_code(code):
            # One indexed lookup first: a LIKE over description/address scans the table where no
            # trigram index exists (SQLite), and a code that matches is what the caller meant.
            by_code = qs.filter(tracking_code=code)
            if by_code.exists():
                return by_code
        qs = qs.filter(
            Q(tracking_code=text.upper())
            | Q(description__icontains=text)
            | Q(address__icontains=text)
        )
    return qs


def looks_like_tracking_code(text: str) -> bool:
    """Whether ``text`` (upper-cased) has the shape of a tracking code (see new_tracking_code)."""
    return len(text) == TRACKING_LEN and _TRACKING_CHARS.issuperset(text)


def _as_start(value) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    return timezone.make_aware(dt.datetime.combine(value, dt.time.min))


def _as_end(value) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    return timezone.make_aware(dt.datetime.combine(value + dt.timedelta(days=1), dt.time.min))


def case_page_queryset(
    user, *, cursor: str | None = None, limit: int = 50, **filters
) -> QuerySet[Case]:
    """The rows of one list page (``limit + 1`` of them, to tell whether another page follows).

    Two steps in one statement: the page's ids come from a subquery without joins (ordered,
    filtered, limited: an index range on the database), then only those rows are joined to
    their category, grid, area, department and worker. Joining first made the planner consider
    the joins for every matching row.
    """
    qs = case_queryset_for(user, **filters)
    ids = keyset_ids(qs, NEWEST, after=cursor, limit=limit + 1, message=_("cursor is not valid."))
    return (
        Case.objects.filter(pk__in=ids)
        .select_related(*LIST_RELATED)
        .only(*LIST_FIELDS)
        .order_by(*ordering(NEWEST))
    )


def case_list_for(user, *, cursor: str | None = None, limit: int = 50, **filters) -> Page:
    """One page of visible cases, newest first, keyset-paginated on (reported_at, id).

    List rows carry only the columns of a summary (``LIST_FIELDS``); read a case's detail with
    ``case_get_for``.
    """
    limit = max(1, min(int(limit), 200))
    items = list(case_page_queryset(user, cursor=cursor, limit=limit, **filters))
    more = len(items) > limit
    items = items[:limit]
    return Page(items=items, next_cursor=encode_cursor(items[-1]) if more and items else None)


# The columns of a list row read as plain values (no model instances): the API's list.
LIST_VALUES = (
    "id",
    "tracking_code",
    "flow",
    "state",
    "description",
    "address",
    "lat",
    "lng",
    "source",
    "priority",
    "reported_at",
    "sla_state",
    "sla_due_at",
    "version",
    "category__code",
    "category__name",
    "grid__code",
    "area__code",
    "department_id",
    "department__code",
    "department__name",
    "worker_id",
    "worker__username",
    "worker__full_name",
)


def case_rows_for(user, *, cursor: str | None = None, limit: int = 50, **filters) -> Page:
    """``case_list_for`` as dicts of ``LIST_VALUES``: the same rows, order and cursor.

    A page of 50 summaries built from model instances spent more time making the 300 objects
    (each case and its five related rows) than the database spent finding them.
    """
    limit = max(1, min(int(limit), 200))
    qs = case_queryset_for(user, **filters)
    ids = keyset_ids(qs, NEWEST, after=cursor, limit=limit + 1, message=_("cursor is not valid."))
    rows = list(Case.objects.filter(pk__in=ids).order_by(*ordering(NEWEST)).values(*LIST_VALUES))
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if more and rows else None
    return Page(
        items=rows,
        next_cursor=encode_keyset_cursor(NEWEST, last["reported_at"], last["id"]) if last else None,
    )


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    _a, _b, dist = _GEOD.inv(lng1, lat1, lng2, lat2)
    return abs(dist)


def case_duplicates(
    *,
    category: Category | int,
    lat: float,
    lng: float,
    at: dt.datetime | None = None,
    exclude: int | None = None,
    user=None,
    radius_m: float = DUPLICATE_RADIUS_M,
    window: dt.timedelta = DUPLICATE_WINDOW,
) -> list[tuple[Case, float]]:
    """Open cases of the same category within ``radius_m`` and ``window`` of ``at``.

    A lat/lng box prefilters in the database; the geodesic distance decides. Nearest first.
    """
    at = at or timezone.now()
    dlat = radius_m / 111_000 * 1.05
    dlng = radius_m / (111_000 * max(math.cos(math.radians(lat)), 0.01)) * 1.05
    cat_id = category.pk if isinstance(category, Category) else category
    qs = Case.objects.filter(
        category_id=cat_id,
        reported_at__gte=at - window,
        reported_at__lte=at + window,
        state__in=OPEN_STATES,
        lat__range=(lat - dlat, lat + dlat),
        lng__range=(lng - dlng, lng + dlng),
    ).select_related("category")
    if exclude:
        qs = qs.exclude(pk=exclude)
    if user is not None:
        qs = qs.filter(case_visible_q(user))
    out = []
    for c in qs[:200]:
        d = distance_m(lat, lng, c.lat, c.lng)
        if d <= radius_m:
            out.append((c, d))
    out.sort(key=lambda pair: pair[1])
    return out


def case_duplicates_of(case: Case, user=None) -> list[tuple[Case, float]]:
    if case.lat is None or case.lng is None:
        return []
    return case_duplicates(
        category=case.category_id,
        lat=case.lat,
        lng=case.lng,
        at=case.reported_at,
        exclude=case.pk,
        user=user,
    )


# Notes a citizen may read (tracking page, citizen API, Open311): why a report was refused, what
# the worker did on the spot, their own rating, and comments staff marked public. Verification
# notes, results of handlers and every other note stay inside.
PUBLIC_NOTE_ACTIONS = ("reject", "self_close", "rate")


def public_note_shown(action: CaseAction) -> bool:
    if action.action == "comment":
        return action.data.get("internal", True) is False
    return action.action in PUBLIC_NOTE_ACTIONS


def case_timeline(
    case: Case, *, public: bool = False, actions: Iterable[CaseAction] | None = None
) -> list[dict]:
    """The action log as display rows; ``public`` hides internal notes and staff names.

    ``actions``: the case's whole log in order, with actors, when the caller holds it (a case
    created in this request); otherwise it is read.
    """
    from .engine import CAPACITY_LABELS, action_label, state_label

    if actions is None:
        actions = (
            CaseAction.objects.filter(case=case)
            .select_related("actor")
            .order_by("created_at", "id")
        )
    rows = []
    for a in actions:
        internal = a.action == "comment" and a.data.get("internal", True)
        if public and (
            internal
            or a.action
            in ("supervise", "extend_request", "suspend_request", "extend_deny", "suspend_deny")
        ):
            continue
        rows.append(
            {
                "id": a.pk,
                "action": a.action,
                "label": action_label(a.action, case.flow),
                "role": a.role,
                "role_label": str(CAPACITY_LABELS.get(a.role, a.role)),
                "actor": None if public else (str(a.actor) if a.actor_id else None),
                "from_state": a.from_state,
                "to_state": a.to_state,
                "to_state_label": state_label(a.to_state, case.flow) if a.to_state else "",
                "note": a.note if not public or public_note_shown(a) else "",
                "data": {} if public else a.data,
                "created_at": a.created_at,
            }
        )
    return rows
