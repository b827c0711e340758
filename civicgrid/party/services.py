"""Every write of the party app: organisations, members, 联系户, 包联 assignments and visits,
service requests (群众点单) and the month-end liaison reminders.

Service orders themselves are cases of flow ``service``: every step after the request runs
through the case engine (``cases.engine.case_act``), which checks the action table, the actor's
capacity and the version; nothing here assigns a state.
"""

from __future__ import annotations

import calendar
import datetime as dt
import uuid
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.basedata.models import Household, Person
from civicgrid.cases import services as case_services
from civicgrid.cases.engine import case_act
from civicgrid.cases.models import Case, Category, Flow, Source
from civicgrid.core.conf import options
from civicgrid.core.errors import DomainError, Forbidden
from civicgrid.people.access import Principal
from civicgrid.people.models import Role, RoleAssignment, User
from civicgrid.public import services as public_services
from civicgrid.territory.codes import VILLAGE
from civicgrid.territory.models import Area, Grid

from .models import (
    ContactHousehold,
    LiaisonAssignment,
    LiaisonReminder,
    LiaisonVisit,
    MemberKind,
    OrgKind,
    PartyMember,
    PartyOrganisation,
)

MANAGER_ROLES = (Role.OPERATOR, Role.ADMIN)
COMMUNITY_LEVEL = VILLAGE  # 社区/村: the level grids sit in
CPC_STATUSES = (Person.Political.CPC, Person.Political.PROBATIONARY)
REMIND_DAYS = 5  # reminders go out in the last five days of a month
TEXT = 4000


def _community(code: str) -> str:
    return code[:12]


def _check_manager(actor, code: str, field: str) -> Principal:
    principal = Principal.of(actor)
    if not principal.in_scope(code, MANAGER_ROLES):
        raise Forbidden(
            _("You may not manage party building or liaison in %(c)s.") % {"c": code},
            code="out_of_scope",
            field=field,
        )
    return principal


def _text(value: Any, field: str, max_len: int, *, required: bool = True) -> str:
    out = (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()
    if required and not out:
        raise DomainError("required", _("%(f)s is required.") % {"f": field}, field=field)
    if len(out) > max_len:
        raise DomainError(
            "too_long",
            _("%(f)s must be at most %(n)s characters.") % {"f": field, "n": max_len},
            field=field,
        )
    return out


def _choice(value: Any, choices, field: str) -> str:
    if value not in choices.values:
        raise DomainError(
            "invalid",
            _("%(f)s must be one of %(v)s.") % {"f": field, "v": ", ".join(choices.values)},
            field=field,
        )
    return value


# --- 党建: organisations, members, 联系户 ---------------------------------------------------------


def organisation_create(
    *, grid: Grid, kind: str, name: str, actor, secretary: Person | None = None
) -> PartyOrganisation:
    """Set up a 网格党支部 or 党小组 on ``grid`` (an operator or admin over the grid)."""
    _check_manager(actor, grid.code, "grid")
    kind = _choice(kind, OrgKind, "kind")
    name = _text(name, "name", 100)
    if secretary is not None and secretary.political_status not in CPC_STATUSES:
        raise DomainError(
            "not_party_member",
            _("The secretary must be a party member in base data."),
            field="secretary",
        )
    try:
        with transaction.atomic():
            return PartyOrganisation.objects.create(
                grid=grid, kind=kind, name=name, secretary=secretary, scope_code=grid.code
            )
    except IntegrityError:
        raise DomainError(
            "duplicate",
            _("Grid %(g)s already has an organisation of that name.") % {"g": grid},
            field="name",
        ) from None


def member_add(
    *,
    person: Person,
    kind: str,
    actor,
    organisation: PartyOrganisation | None = None,
) -> PartyMember:
    """Register a base-data person as a party member (political status 党员) or a volunteer.

    A party member belongs to an organisation of their own community; a person is registered
    once (a second call answers ``duplicate``).
    """
    _check_manager(actor, person.scope_code, "person")
    kind = _choice(kind, MemberKind, "kind")
    if kind == MemberKind.MEMBER:
        if person.political_status not in CPC_STATUSES:
            raise DomainError(
                "not_party_member",
                _("%(p)s is not recorded as a party member in base data.") % {"p": person.name},
                field="person",
            )
        if organisation is None:
            raise DomainError(
                "required", _("A party member belongs to a party organisation."),
                field="organisation",
            )  # fmt: skip
    if organisation is not None and _community(organisation.scope_code) != _community(
        person.scope_code
    ):
        raise DomainError(
            "out_of_community",
            _("%(o)s is not in the community where %(p)s lives.")
            % {"o": organisation.name, "p": person.name},
            field="organisation",
        )
    if PartyMember.objects.filter(person=person).exists():
        raise DomainError(
            "duplicate", _("%(p)s is already registered.") % {"p": person.name}, field="person"
        )
    return PartyMember.objects.create(
        person=person, kind=kind, organisation=organisation, scope_code=person.scope_code
    )


def member_link_account(*, member: PartyMember, user: User, actor) -> PartyMember:
    """Give ``member`` an account for 党员履单: the narrow party-member role on their community.

    The role sees nothing by area; the member sees only the orders dispatched to them.
    """
    _check_manager(actor, member.scope_code, "member")
    if PartyMember.objects.filter(user=user).exclude(pk=member.pk).exists():
        raise DomainError(
            "duplicate", _("That account already belongs to another member."), field="user"
        )
    area = Area.objects.get(code=_community(member.scope_code).ljust(12, "0"))
    with transaction.atomic():
        RoleAssignment.objects.get_or_create(
            user=user, role=Role.PARTY_MEMBER, area=area, department=None
        )
        member.user = user
        member.save(update_fields=["user"])
    return member


def _same_community(member: PartyMember, household: Household, field: str) -> None:
    if _community(household.scope_code) != _community(member.scope_code):
        raise DomainError(
            "out_of_community",
            _("The household is not in the member's community."),
            field=field,
        )


def contact_add(
    *, member: PartyMember, household: Household, actor, since: dt.date | None = None
) -> tuple[ContactHousehold, bool]:
    """Link a household the member serves (党员联系户); a repeat returns the existing link."""
    _check_manager(actor, household.scope_code, "household")
    _same_community(member, household, "household")
    row, created = ContactHousehold.objects.get_or_create(
        member=member,
        household=household,
        defaults={"since": since or timezone.localdate(), "scope_code": household.scope_code},
    )
    return row, created


def central_household_set(
    *, member: PartyMember, household: Household | None, actor
) -> PartyMember:
    """Mark the member's household as a 党员中心户 (None clears it)."""
    _check_manager(actor, member.scope_code, "member")
    if household is not None:
        _same_community(member, household, "household")
    member.central_household = household
    member.save(update_fields=["central_household"])
    return member


# --- 六联单: 群众点单 and the steps run for it ----------------------------------------------------


def service_classes() -> list[str]:
    return [c.strip() for c in options().SERVICE_ORDER_CLASSES.split(",") if c.strip()]


def service_categories() -> list[Category]:
    """The active leaf categories a service request may name (docs/party.md)."""
    classes = service_classes()
    return list(
        Category.objects.filter(parent__code__in=classes, is_active=True, parent__is_active=True)
        .select_related("parent")
        .order_by("code")
    )


def service_request(*, ip: str, category: Any, description: str, actor=None, **kw) -> tuple:
    """群众点单: a citizen's service request from the portal or the grid board's QR code.

    The same intake as a problem report (limits, phone rule, client id), filed as a case of
    flow ``service``; only the service categories are accepted. Returns (case, created).
    """
    code = str(category or "").strip()
    if code and code not in {c.code for c in service_categories()}:
        raise DomainError(
            "not_a_service",
            _("Choose one of the services offered (%(c)s is not a service).") % {"c": code},
            field="category",
        )
    return public_services.citizen_report(
        ip=ip, category=code, description=description, actor=actor, flow=Flow.SERVICE, **kw
    )


def dispatch_targets(case: Case) -> list[PartyMember]:
    """Members and volunteers with an account in the order's community (村社派单 targets)."""
    return list(
        PartyMember.objects.filter(
            scope_code__startswith=_community(case.scope_code or ""),
            user__isnull=False,
            user__is_active=True,
        )
        .select_related("person", "user", "organisation")
        .order_by("kind", "person__name")
    )


def order_dispatch(*, case: Case, member: PartyMember, actor, note: str = "") -> Any:
    """村社派单 to a party member or volunteer, through the engine's dispatch action."""
    if case.flow != Flow.SERVICE:
        raise DomainError("not_a_service", _("This is not a service order."), field="case")
    if member.user_id is None:
        raise DomainError(
            "no_account", _("%(p)s has no account yet.") % {"p": member.person.name},
            field="member",
        )  # fmt: skip
    return case_act(case=case, action="dispatch", actor=actor, worker=member.user_id, note=note)


def order_take(*, case: Case, actor, note: str = "") -> Any:
    """网格接单 by a grid worker of the order's grid (or an operator), through the engine."""
    if case.flow != Flow.SERVICE:
        raise DomainError("not_a_service", _("This is not a service order."), field="case")
    return case_act(
        case=case,
        action="accept",
        actor=actor,
        category=case.category.code,
        priority=case.priority,
        note=note,
    )


# --- 包联: assignments and visits -------------------------------------------------------------


def liaison_assign(
    *,
    cadre: User,
    actor,
    grid: Grid | None = None,
    community: Area | None = None,
    since: dt.date | None = None,
) -> LiaisonAssignment:
    """Assign a leader or cadre to a grid or to a community (then each of its grids)."""
    if (grid is None) == (community is None):
        raise DomainError("required", _("Choose a grid or a community."), field="grid")
    if community is not None and community.level != COMMUNITY_LEVEL:
        raise DomainError(
            "invalid", _("%(a)s is not a community or village.") % {"a": community.name},
            field="community",
        )  # fmt: skip
    code = grid.code if grid is not None else community.prefix
    _check_manager(actor, code, "grid" if grid is not None else "community")
    if not cadre.is_active or not Principal.of(cadre).has_role(
        Role.LEADER, Role.OPERATOR, Role.GRID_CHIEF, Role.HANDLER
    ):
        raise DomainError(
            "not_a_cadre",
            _("%(u)s holds no leader or staff role.") % {"u": cadre},
            field="cadre",
        )
    active = LiaisonAssignment.objects.filter(cadre=cadre, ended_on__isnull=True)
    if active.filter(grid=grid, community=community).exists():
        raise DomainError(
            "duplicate", _("%(u)s is already assigned there.") % {"u": cadre}, field="cadre"
        )
    return LiaisonAssignment.objects.create(
        cadre=cadre,
        grid=grid,
        community=community,
        scope_code=code,
        since=since or timezone.localdate(),
        assigned_by=actor if getattr(actor, "pk", None) else None,
    )


def liaison_end(*, assignment: LiaisonAssignment, actor, on: dt.date | None = None):
    """End an assignment (its history and visits stay)."""
    _check_manager(actor, assignment.scope_code, "assignment")
    if assignment.ended_on is not None:
        raise DomainError("already_ended", _("The assignment has ended."), field="assignment")
    assignment.ended_on = on or timezone.localdate()
    assignment.save(update_fields=["ended_on"])
    return assignment


def active_assignment_for(cadre, grid: Grid) -> LiaisonAssignment | None:
    """The cadre's active assignment covering ``grid`` (a grid or its community)."""
    return (
        LiaisonAssignment.objects.filter(cadre_id=getattr(cadre, "pk", None), ended_on__isnull=True)
        .filter(grid=grid)
        .first()
        or LiaisonAssignment.objects.filter(
            cadre_id=getattr(cadre, "pk", None),
            ended_on__isnull=True,
            community_id=grid.area_id,
        ).first()
    )


def _problems(value: Any) -> list[dict]:
    if not value:
        return []
    if not isinstance(value, list | tuple):
        raise DomainError("invalid", _("problems must be a list."), field="problems")
    out = []
    for i, p in enumerate(value):
        if not isinstance(p, dict):
            raise DomainError("invalid", _("problems must be a list."), field="problems")
        desc = (p.get("description") or "").strip()
        if not desc:
            continue
        if not p.get("category"):
            raise DomainError(
                "required",
                _("Problem %(n)s needs a category.") % {"n": i + 1},
                field=f"problems[{i}].category",
            )
        out.append({"category": p["category"], "description": desc})
    return out


def visit_record(
    *,
    actor,
    grid: Grid,
    visited_at: dt.datetime | None,
    place: str,
    people_met: str,
    note: str = "",
    problems: list | None = None,
    client_id: Any = None,
) -> tuple[LiaisonVisit, bool]:
    """Log a 包联 visit to ``grid`` by the cadre ``actor``; problems raised become cases.

    Only a cadre assigned to the grid (or its community) logs a visit there. Idempotent on
    ``client_id``: a repeat returns the first visit and files no case twice.
    """
    try:
        key = uuid.UUID(str(client_id)) if client_id else uuid.uuid4()
    except ValueError:
        raise DomainError("invalid", _("client_id must be a UUID."), field="client_id") from None
    existing = LiaisonVisit.objects.filter(client_id=key).first()
    if existing is not None:
        if existing.cadre_id != getattr(actor, "pk", None):
            raise DomainError("duplicate", _("client_id is already used."), field="client_id")
        return existing, False
    assignment = active_assignment_for(actor, grid)
    if assignment is None:
        raise Forbidden(
            _("You are not assigned to grid %(g)s.") % {"g": grid.name},
            code="not_assigned",
            field="grid",
        )
    now = timezone.now()
    when = visited_at or now
    if when > now + dt.timedelta(minutes=5):
        raise DomainError("in_future", _("The visit time lies in the future."), field="visited_at")
    if timezone.localdate(when) < assignment.since:  # both in the city's time zone
        raise DomainError(
            "before_assignment",
            _("The visit lies before the assignment began."),
            field="visited_at",
        )
    place = _text(place, "place", 200)
    people = _text(people_met, "people_met", 1000)
    note = _text(note, "note", TEXT, required=False)
    items = _problems(problems)
    with transaction.atomic():
        visit = LiaisonVisit.objects.create(
            assignment=assignment,
            cadre=actor,
            grid=grid,
            visited_at=when,
            place=place,
            people_met=people,
            note=note,
            client_id=key,
            scope_code=grid.code,
        )
        lat, lng = public_services.grid_point(grid) if items else (None, None)
        for i, p in enumerate(items):
            case = case_services.case_report(
                actor=actor,
                category=p["category"],
                description=p["description"],
                lat=lat,
                lng=lng,
                source=Source.CITIZEN,
                address=place,
                client_id=f"liaison-{key}-{i}",
            )
            visit.cases.add(case)
    return visit, True


# --- reminders ----------------------------------------------------------------------------------


def month_bounds(day: dt.date) -> tuple[dt.date, dt.date]:
    first = day.replace(day=1)
    last = day.replace(day=calendar.monthrange(day.year, day.month)[1])
    return first, last


def liaison_remind(*, today: dt.date | None = None) -> int:
    """Remind cadres of assigned grids still unvisited this month, in its last days.

    One reminder per assignment, grid and month (a unique row), so repeated sweeps send
    nothing twice. Returns the number of reminders sent.
    """
    from civicgrid.notifications.services import notify

    from .selectors import compliance_rows

    today = today or timezone.localdate()
    first, last = month_bounds(today)
    if (last - today).days >= REMIND_DAYS:
        return 0
    sent = 0
    for row in compliance_rows(None, month=first):
        if row.visits:
            continue
        try:
            with transaction.atomic():
                LiaisonReminder.objects.create(
                    assignment_id=row.assignment_id, grid_id=row.grid_id, month=first
                )
        except IntegrityError:
            continue
        notify(
            users=[row.cadre],
            kind="liaison_visit_due",
            title=_("Visit %(g)s before %(d)s (包联)") % {"g": row.grid_name, "d": last},
            body=_("No liaison visit is recorded for grid %(g)s this month.")
            % {"g": row.grid_name},
        )
        sent += 1
    return sent
