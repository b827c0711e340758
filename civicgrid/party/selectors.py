"""Every scoped read of the party app (all through ``people.access.Principal``)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Max, Q, QuerySet

from civicgrid.cases.models import OPEN_STATES, Case, Flow, State
from civicgrid.people.access import Principal, get_or_404
from civicgrid.people.models import Role
from civicgrid.territory.models import Grid

from .models import (
    ContactHousehold,
    LiaisonAssignment,
    LiaisonVisit,
    PartyMember,
    PartyOrganisation,
)

# Who sees party building and liaison of an area: its operators, leaders, grid chiefs and
# admins, and the grid workers of a grid for their own grid.
VIEW_ROLES = (Role.OPERATOR, Role.LEADER, Role.GRID_CHIEF, Role.GRID_WORKER, Role.ADMIN)


def _principal(who) -> Principal:
    return Principal.of(who)


# --- 党建 -----------------------------------------------------------------------------------------


def organisations_for(who, *, grid: Grid | None = None) -> QuerySet[PartyOrganisation]:
    qs = PartyOrganisation.objects.filter(_principal(who).scope_q("scope_code", VIEW_ROLES))
    if grid is not None:
        qs = qs.filter(grid=grid)
    return qs.select_related("grid", "secretary")


def members_for(who, *, grid: Grid | None = None) -> QuerySet[PartyMember]:
    qs = PartyMember.objects.filter(_principal(who).scope_q("scope_code", VIEW_ROLES))
    if grid is not None:
        qs = qs.filter(scope_code=grid.code)
    return qs.select_related("person", "organisation", "central_household__house").annotate(
        n_contacts=Count("contacts")
    )


def member_get_for(who, pk: int) -> PartyMember:
    return get_or_404(members_for(who), "party member", pk=pk)


@dataclass
class GridParty:
    organisations: list
    members: list
    contacts: int
    central: int


def grid_party(who, grid: Grid) -> GridParty:
    """The grid page's party block: organisations, members with their 联系户 counts."""
    orgs = list(organisations_for(who, grid=grid).annotate(n_members=Count("members")))
    members = list(members_for(who, grid=grid).order_by("kind", "person__name"))
    return GridParty(
        organisations=orgs,
        members=members,
        contacts=sum(m.n_contacts for m in members),
        central=sum(1 for m in members if m.central_household_id),
    )


@dataclass(frozen=True)
class PublicOrg:
    kind_label: str
    name: str
    members: int


@dataclass(frozen=True)
class BoardParty:
    """What the public grid board shows: names of organisations and counts, never persons."""

    organisations: list[PublicOrg]
    members: int
    volunteers: int
    contacts: int
    central: int


def board_party(grid: Grid) -> BoardParty:
    orgs = (
        PartyOrganisation.objects.filter(grid=grid)
        .annotate(n=Count("members"))
        .order_by("kind", "name")
    )
    kinds = dict(
        PartyMember.objects.filter(scope_code=grid.code)
        .values_list("kind")
        .annotate(n=Count("id"))
        .values_list("kind", "n")
    )
    return BoardParty(
        organisations=[PublicOrg(o.get_kind_display(), o.name, o.n) for o in orgs],
        members=kinds.get("member", 0),
        volunteers=kinds.get("volunteer", 0),
        contacts=ContactHousehold.objects.filter(scope_code__startswith=grid.code).count(),
        central=PartyMember.objects.filter(
            scope_code=grid.code, central_household__isnull=False
        ).count(),
    )


def party_counts(who, prefix: str = "") -> dict[str, int]:
    """Dashboard counts in the principal's scope (and under ``prefix``)."""
    p = _principal(who)

    def scoped(qs):
        qs = qs.filter(p.scope_q("scope_code", VIEW_ROLES))
        return qs.filter(scope_code__startswith=prefix) if prefix else qs

    members = dict(scoped(PartyMember.objects.all()).values_list("kind").annotate(n=Count("id")))
    return {
        "organisations": scoped(PartyOrganisation.objects.all()).count(),
        "members": members.get("member", 0),
        "volunteers": members.get("volunteer", 0),
        "contacts": scoped(ContactHousehold.objects.all()).count(),
        "central": scoped(PartyMember.objects.filter(central_household__isnull=False)).count(),
    }


# --- 六联单 --------------------------------------------------------------------------------------


def service_orders_for(who, *, state: str = "") -> QuerySet[Case]:
    """Service orders (flow ``service``) the principal may see."""
    qs = Case.objects.filter(_principal(who).case_visible_q(), flow=Flow.SERVICE)
    if state == "open":
        qs = qs.filter(state__in=OPEN_STATES)
    elif state:
        qs = qs.filter(state=state)
    return qs.select_related("category", "grid", "worker").order_by("-reported_at", "-pk")


def my_orders(user) -> QuerySet[Case]:
    """党员履单: the orders dispatched to this member or volunteer, nothing else."""
    return (
        Case.objects.filter(flow=Flow.SERVICE, worker_id=getattr(user, "pk", None))
        .select_related("category", "grid")
        .order_by("-reported_at", "-pk")
    )


def orders_to_take(who) -> QuerySet[Case]:
    """网格接单: new service orders in the grids of a grid worker's teams."""
    p = _principal(who)
    return (
        Case.objects.filter(flow=Flow.SERVICE, state=State.REPORTED, grid_id__in=p.grid_ids)
        .select_related("category", "grid")
        .order_by("reported_at", "pk")
    )


SERVICE_STEPS = (
    State.REPORTED,
    State.FILED,
    State.ASSIGNED,
    State.IN_PROGRESS,
    State.HANDLED,
    State.CLOSED,
)


def service_figures(who, prefix: str = "") -> dict[str, Any]:
    """六联单 figures for the dashboard: orders per step now, closed within 30 days, rating."""
    from django.db.models import Avg
    from django.utils import timezone

    qs = service_orders_for(who)
    if prefix:
        qs = qs.filter(scope_code__startswith=prefix)
    by_state = dict(qs.order_by().values_list("state").annotate(n=Count("id")))
    since = timezone.now() - dt.timedelta(days=30)
    closed = qs.filter(state=State.CLOSED, closed_at__gte=since)
    return {
        "steps": [(s, by_state.get(s, 0)) for s in SERVICE_STEPS],
        "open": sum(by_state.get(s, 0) for s in OPEN_STATES),
        "closed_30d": closed.count(),
        "satisfaction": closed.order_by().aggregate(a=Avg("satisfaction"))["a"],
    }


# --- 包联 ----------------------------------------------------------------------------------------


@dataclass
class ComplianceRow:
    assignment_id: int
    cadre: Any
    grid_id: int
    grid_code: str
    grid_name: str
    community_name: str
    visits: int = 0
    last_visit: Any = None


@dataclass
class Summary:
    key: Any
    label: str
    grids: int = 0
    visited: int = 0
    rows: list = field(default_factory=list)

    @property
    def behind(self) -> int:
        return self.grids - self.visited

    @property
    def rate(self) -> float | None:
        return None if not self.grids else self.visited / self.grids


def assignments_for(who) -> QuerySet[LiaisonAssignment]:
    p = _principal(who)
    q = p.scope_q("scope_code", VIEW_ROLES)
    if p.is_authenticated:
        q |= Q(cadre_id=p.pk)
    return LiaisonAssignment.objects.filter(q).select_related("cadre", "grid", "community")


def visits_for(who) -> QuerySet[LiaisonVisit]:
    p = _principal(who)
    q = p.scope_q("scope_code", VIEW_ROLES)
    if p.is_authenticated:
        q |= Q(cadre_id=p.pk)
    return LiaisonVisit.objects.filter(q).select_related("cadre", "grid")


def compliance_rows(
    who, *, month: dt.date, prefix: str = "", cadre_id: int | None = None
) -> list[ComplianceRow]:
    """One row per (active assignment, assigned grid) for ``month``, with its visits.

    ``who`` None: every assignment (the reminder sweep); else the principal's scope plus the
    principal's own assignments. A community assignment counts each grid of the community.
    """
    from .services import month_bounds

    first, last = month_bounds(month)
    if who is None:
        qs = LiaisonAssignment.objects.select_related("cadre", "grid", "community")
    else:
        qs = assignments_for(who)
    qs = qs.filter(since__lte=last).filter(Q(ended_on__isnull=True) | Q(ended_on__gte=first))
    if prefix:
        qs = qs.filter(scope_code__startswith=prefix)
    if cadre_id:
        qs = qs.filter(cadre_id=cadre_id)
    assignments = list(qs.filter(cadre__is_active=True))
    community_ids = {a.community_id for a in assignments if a.community_id}
    grids_of: dict[int, list[Grid]] = defaultdict(list)
    for g in Grid.objects.filter(area_id__in=community_ids).select_related("area").order_by("code"):
        grids_of[g.area_id].append(g)
    start = dt.datetime.combine(first, dt.time.min)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min)
    from django.utils import timezone

    tz = timezone.get_current_timezone()
    stats = {
        (a, g): (n, latest)
        for a, g, n, latest in LiaisonVisit.objects.filter(
            assignment__in=assignments,
            visited_at__gte=start.replace(tzinfo=tz),
            visited_at__lt=end.replace(tzinfo=tz),
        )
        .values_list("assignment_id", "grid_id")
        .annotate(n=Count("id"), latest=Max("visited_at"))
        .values_list("assignment_id", "grid_id", "n", "latest")
    }
    grid_areas = {
        g.pk: g.area.name
        for g in Grid.objects.filter(
            pk__in=[a.grid_id for a in assignments if a.grid_id]
        ).select_related("area")
    }
    rows = []
    for a in assignments:
        grids = [a.grid] if a.grid_id else grids_of.get(a.community_id, [])
        for g in grids:
            n, latest = stats.get((a.pk, g.pk), (0, None))
            rows.append(
                ComplianceRow(
                    assignment_id=a.pk,
                    cadre=a.cadre,
                    grid_id=g.pk,
                    grid_code=g.code,
                    grid_name=g.name,
                    community_name=grid_areas.get(g.pk)
                    or (a.community.name if a.community_id else ""),
                    visits=n,
                    last_visit=latest,
                )
            )
    rows.sort(key=lambda r: (r.visits > 0, r.grid_code, r.cadre.pk))
    return rows


def summarise(rows: list[ComplianceRow], by: str) -> list[Summary]:
    """Group compliance rows per cadre (``by='cadre'``) or per community (``by='area'``)."""
    out: dict[Any, Summary] = {}
    for r in rows:
        if by == "cadre":
            key, label = r.cadre.pk, r.cadre.display_name
        else:
            key, label = r.grid_code[:12], r.community_name
        s = out.setdefault(key, Summary(key=key, label=label))
        s.grids += 1
        s.visited += 1 if r.visits else 0
        s.rows.append(r)
    return sorted(out.values(), key=lambda s: (-(s.behind), s.label))
