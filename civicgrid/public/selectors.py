"""Reads for anonymous visitors: the public timeline of a case, a grid's public board.

Nothing here takes a user: what is public is the same for everybody. The timeline shows what
happened and which role did it, never a staff member's name or an internal note.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicgrid.cases.models import Attachment, AttachmentKind, Case, Category, State
from civicgrid.cases.selectors import case_get_public, case_timeline
from civicgrid.core.errors import NotFound
from civicgrid.people.models import Center, GridAdviser, GridMember
from civicgrid.territory.models import Area, Grid

# Notes citizens may read: why a report was not accepted, what the worker did on the spot,
# their own rating. Verification notes and comments stay inside.
PUBLIC_NOTES = ("reject", "self_close", "rate")
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
    merged_into: str | None


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
                "note": r["note"] if r["action"] in PUBLIC_NOTES else "",
                "created_at": r["created_at"],
            }
        )
    return rows


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
    merged = None
    if case.merged_into_id:
        merged = (
            Case.objects.filter(pk=case.merged_into_id)
            .values_list("tracking_code", flat=True)
            .first()
        )
    return PublicCase(
        case=case,
        timeline=public_timeline(case),
        photos=photos,
        hint=str(STATE_HINTS.get(case.state, "")),
        step=step,
        can_rate=case.state == State.CLOSED and case.satisfaction is None,
        department=dept,
        merged_into=merged,
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
    members = [
        {
            "name": m.user.display_name,
            "micro": m.worker_type == "micro",
            "phone": mask_phone(m.user.phone),
            "worker_type": m.worker_type,
            "worker_type_label": str(m.get_worker_type_display()),
            "is_leader": m.is_leader,
        }
        for m in GridMember.objects.filter(grid=grid, user__is_active=True)
        .select_related("user")
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
