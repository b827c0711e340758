"""Reads for anonymous visitors: the public timeline of a case, a grid's public board.

Nothing here takes a user: what is public is the same for everybody. The timeline shows what
happened and which role did it, never a staff member's name or an internal note.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicgrid.cases.engine import state_label
from civicgrid.cases.models import Attachment, AttachmentKind, Case, Category, State
from civicgrid.cases.selectors import case_get_public, case_timeline
from civicgrid.core.errors import NotFound
from civicgrid.people.models import Center, GridAdviser, GridMember
from civicgrid.territory.models import Area, Grid

# The public names of the roles that act on a case.
PUBLIC_ROLES = {
    "operator": gettext_lazy("Service center"),
    "handler": gettext_lazy("Handling department"),
    "assignee": gettext_lazy("Grid worker"),
    "grid_worker": gettext_lazy("Grid worker"),
    "grid_chief": gettext_lazy("Grid chief"),
    "leader": gettext_lazy("Supervisor"),
    "system": gettext_lazy("System"),
    "reporter": gettext_lazy("You"),
    "anonymous": gettext_lazy("You"),
    "citizen": gettext_lazy("You"),
}
# What the citizen is told each state means.
STATE_HINTS = {
    State.REPORTED: gettext_lazy("Received; the service center will review it shortly."),
    State.FILED: gettext_lazy("Accepted and filed; it is being assigned."),
    State.ASSIGNED: gettext_lazy("Assigned to the responsible unit."),
    State.IN_PROGRESS: gettext_lazy("Being handled."),
    State.HANDLED: gettext_lazy("Handled; the result is being checked."),
    State.CLOSED: gettext_lazy("Closed. Please rate how it was handled."),
    State.REJECTED: gettext_lazy("Not accepted; see the reason below."),
    State.MERGED: gettext_lazy("Merged with a report of the same problem."),
    State.SUSPENDED: gettext_lazy("Waiting for a condition outside our control; on hold."),
}
PROGRESS = [State.REPORTED, State.FILED, State.ASSIGNED, State.IN_PROGRESS, State.HANDLED]


def mask_phone(phone: str) -> str:
    p = (phone or "").strip()
    if len(p) >= 7:
        return p[:3] + "****" + p[-4:]
    return "*" * len(p)


def mask_name(name: str) -> str:
    n = (name or "").strip()
    if len(n) <= 1:
        return n
    return n[0] + "*" * (len(n) - 1)


# --- tracking --------------------------------------------------------------------------------


@dataclass
class PublicCase:
    case: Case
    timeline: list[dict]
    photos: list[Attachment]
    hint: str
    step: int  # 0..5 for the progress bar
    can_rate: bool
    department: str | None
    # A merged report follows the surviving case: its state and public steps, never its code,
    # description, address, photos or notes (they belong to another citizen).
    matter: dict | None = None


def public_timeline(case: Case) -> list[dict]:
    rows = []
    for r in case_timeline(case, public=True):
        rows.append(
            {
                "action": r["action"],
                "label": r["label"],
                "role_label": str(PUBLIC_ROLES.get(r["role"], _("Staff"))),
                "from_state": r["from_state"],
                "to_state": r["to_state"],
                "to_state_label": r["to_state_label"],
                "note": r["note"],  # already only what case_timeline(public=True) shows
                "created_at": r["created_at"],
            }
        )
    return rows


def merged_matter(case: Case) -> dict | None:
    """The progress of the case ``case`` was merged into, without anything of its content."""
    target = Case.objects.filter(pk=case.merged_into_id).first()
    if target is None:
        return None
    steps = [
        {**row, "note": ""}
        for row in public_timeline(target)
        if row["action"] not in ("report", "rate", "comment")
    ]
    return {
        "state": target.state,
        "state_label": state_label(target.state, target.flow),
        "hint": str(STATE_HINTS.get(target.state, "")),
        "closed_at": target.closed_at,
        "timeline": steps,
    }


def tracking_get(code: str) -> PublicCase:
    """The public view of a case by its tracking code (NotFound otherwise)."""
    code = (code or "").strip().upper()
    if not code or len(code) > 16:
        raise NotFound(_("case"))
    case = case_get_public(code)
    photos = list(
        Attachment.objects.filter(
            case=case, kind=AttachmentKind.IMAGE, action__action__in=("report", "self_close")
        ).order_by("id")[:9]
    )
    if case.state == State.CLOSED:
        step = 5
    elif case.state in PROGRESS:
        step = PROGRESS.index(case.state)
    else:
        step = 1
    dept = None
    if case.department_id:
        dept = case.department.name
    matter = merged_matter(case) if case.merged_into_id else None
    return PublicCase(
        case=case,
        timeline=public_timeline(case),
        photos=photos,
        hint=str(STATE_HINTS.get(case.state, "")),
        step=step,
        can_rate=case.state == State.CLOSED and case.satisfaction is None,
        department=dept,
        matter=matter,
    )


def public_categories() -> list[Category]:
    """Active item categories a citizen may choose, grouped by class in code order."""
    return list(
        Category.objects.filter(is_active=True, parent__isnull=False)
        .select_related("parent")
        .order_by("code")
    )


# --- grid public board -----------------------------------------------------------------------

DEFAULT_DUTIES = [
    gettext_lazy("Know every household, building and shop of the grid (摸清底数)"),
    gettext_lazy("Patrol the grid daily and report hazards and problems at once"),
    gettext_lazy("Help resolve neighbourhood disputes early (矛盾纠纷排查化解)"),
    gettext_lazy("Visit elderly people living alone and other people in need"),
    gettext_lazy("Pass on policies and collect residents' requests"),
]
HOTLINES = [
    (gettext_lazy("Citizen service hotline"), "12345"),
    (gettext_lazy("Police"), "110"),
    (gettext_lazy("Fire"), "119"),
    (gettext_lazy("Medical emergency"), "120"),
]


@dataclass
class Board:
    grid: Grid
    chain: list[Area]
    members: list[dict]
    advisers: list[dict]
    duties: list[str]
    hotlines: list[tuple[str, str]]
    center: Center | None
    geometry: Any = None
    extra: dict = field(default_factory=dict)

    @property
    def micro_members(self) -> list[dict]:
        return [m for m in self.members if m["micro"]]


def board_get(code: str) -> Board:
    """The public board of a grid: who serves it and how to reach them (phones masked)."""
    grid = Grid.objects.select_related("area").filter(code=(code or "").strip()).first()
    if grid is None:
        raise NotFound(_("grid"))
    chain: list[Area] = []
    node = grid.area
    while node is not None:
        chain.append(node)
        node = node.parent
    centers = {c.area_id: c for c in Center.objects.filter(area__in=chain)}
    center = next((centers[a.pk] for a in chain if a.pk in centers), None)
    duty_line = center.phone if center is not None else ""
    # 工作电话 in full; a member without one shows the center's duty line; never user.phone.
    members = [
        {
            "name": m.user.display_name,
            "micro": m.worker_type == "micro",
            "phone": m.work_phone or duty_line,
            "is_duty_line": not m.work_phone,
            "micro_grid": m.micro_grid.name if m.micro_grid_id else "",
            "worker_type": m.worker_type,
            "worker_type_label": str(m.get_worker_type_display()),
            "is_leader": m.is_leader,
        }
        for m in GridMember.objects.filter(grid=grid, user__is_active=True)
        .select_related("user", "micro_grid")
        .order_by("-is_leader", "worker_type", "user__full_name")
    ]
    advisers = [
        {
            "kind_label": str(a.get_kind_display()),
            "name": a.name,
            "organisation": a.organisation,
            "phone": mask_phone(a.phone),
        }
        for a in GridAdviser.objects.filter(grid=grid).order_by("kind", "name")
    ]
    duties = [ln.strip() for ln in (grid.duty or "").splitlines() if ln.strip()] or [
        str(d) for d in DEFAULT_DUTIES
    ]
    hotlines = [(str(label), number) for label, number in HOTLINES]
    if center is not None and center.phone:
        hotlines.insert(0, (center.name, center.phone))
    return Board(
        grid=grid,
        chain=list(reversed(chain)),
        members=members,
        advisers=advisers,
        duties=duties,
        hotlines=hotlines,
        center=center,
        geometry=grid.geometry,
    )


# --- public square map (广场地图) --------------------------------------------------------------

SQUARE_DAYS = 90  # default and longest window, as Open311 asks of a search
SQUARE_LIMIT = 1000
# Cells of 0.001° (≈ 111 m north–south, ≈ 85 m east–west in north China): the point shown.
SQUARE_CELL = 0.001
# What the map never shows: duplicates (the surviving case is shown), refused reports, one-key
# calls (the home of a vulnerable person) and service orders (requests of one household).
SQUARE_HIDDEN_STATES = (State.MERGED, State.REJECTED)
SQUARE_HIDDEN_SOURCES = ("one_key",)


@dataclass(frozen=True)
class SquareItem:
    """One matter as the public square map and Open311's public search show it."""

    public_id: str
    category_code: str
    category_name: str
    class_code: str
    class_name: str
    state: str
    state_label: str
    status: str  # open / closed
    reported_at: Any
    updated_at: Any
    closed_at: Any
    lat: float
    lng: float
    area_name: str


def coarsen(value: float) -> float:
    """The centre of the ~100 m cell that holds ``value`` (degrees)."""
    import math

    return round((math.floor(value / SQUARE_CELL) + 0.5) * SQUARE_CELL, 6)


def square_public_id(pk: int) -> str:
    return f"M{pk}"


def _square_queryset():
    from django.db.models import Q

    from civicgrid.cases.models import Flow

    return (
        Case.objects.filter(flow=Flow.CASE)
        .exclude(state__in=SQUARE_HIDDEN_STATES)
        .exclude(source__in=SQUARE_HIDDEN_SOURCES)
        .exclude(Q(category__is_private=True) | Q(category__parent__is_private=True))
    )


_SQUARE_COLUMNS = (
    "pk",
    "category__code",
    "category__name",
    "category__parent__code",
    "category__parent__name",
    "state",
    "reported_at",
    "updated_at",
    "closed_at",
    "lat",
    "lng",
    "area__name",
)


def _square_item(row: tuple) -> SquareItem:
    pk, code, name, pcode, pname, state, reported, updated, closed, lat, lng, area = row
    return SquareItem(
        public_id=square_public_id(pk),
        category_code=code,
        category_name=name,
        class_code=pcode or code,
        class_name=pname or name,
        state=state,
        state_label=state_label(state),
        status="closed" if state == State.CLOSED else "open",
        reported_at=reported,
        updated_at=updated,
        closed_at=closed,
        lat=coarsen(lat),
        lng=coarsen(lng),
        area_name=area,
    )


def square_map_list(
    *,
    date_from=None,
    date_to=None,
    categories: list[str] | None = None,
    states: list[str] | None = None,
    status: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    area_code: str | None = None,
    limit: int = SQUARE_LIMIT,
    now=None,
) -> list[SquareItem]:
    """Public matters reported in a window (default: the last 90 days), newest first.

    Only what DOMAIN's square map allows: category, time, progress and a point coarsened to a
    ~100 m cell; never names, phones, descriptions, addresses, photos or notes, and never a
    private category (a private class hides all its items). ``categories`` are class or item
    codes; ``status`` is ``open`` or ``closed``; ``bbox`` is (min_lng, min_lat, max_lng, max_lat).
    """
    import datetime as dt

    from django.db.models import Q
    from django.utils import timezone

    from civicgrid.cases.models import OPEN_STATES

    now = now or timezone.now()
    end = date_to or now
    start = date_from or end - dt.timedelta(days=SQUARE_DAYS)
    qs = _square_queryset().filter(reported_at__gte=start, reported_at__lte=end)
    if categories:
        q = Q()
        for code in categories:
            q |= Q(category__code=code) if len(code) > 2 else Q(category__code__startswith=code)
        qs = qs.filter(q)
    if states:
        qs = qs.filter(state__in=states)
    if status == "open":
        qs = qs.filter(state__in=OPEN_STATES)
    elif status == "closed":
        qs = qs.filter(state=State.CLOSED)
    if bbox is not None:
        x0, y0, x1, y1 = bbox
        qs = qs.filter(lng__gte=x0, lng__lte=x1, lat__gte=y0, lat__lte=y1)
    if area_code:
        from civicgrid.territory.codes import area_prefix

        qs = qs.filter(scope_code__startswith=area_prefix(area_code))
    rows = qs.order_by("-reported_at", "-pk").values_list(*_SQUARE_COLUMNS)[: max(1, limit)]
    return [_square_item(r) for r in rows]


def square_map_get(public_id: str) -> SquareItem:
    """One matter of the square map by its public id (``M123``), or NotFound."""
    text = (public_id or "").strip().upper()
    if not (text.startswith("M") and text[1:].isdigit() and len(text) < 20):
        raise NotFound(_("case"))
    row = _square_queryset().filter(pk=int(text[1:])).values_list(*_SQUARE_COLUMNS).first()
    if row is None:
        raise NotFound(_("case"))
    return _square_item(row)
