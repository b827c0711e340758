"""Grid teams and the grid-worker life cycle: team edits, composition and selection warnings,
training sessions with attendance, commendations.

- Team edits (add, change, remove a member) are made by center operators and administrators
  whose area covers the grid (``can_edit_team``); every edit is a saved ``GridMember`` row, so
  the audit trail (``civicgrid/audit``) records it with the acting user.
- Composition (``team_warnings``): an urban grid's team is "1+2+N" (one police officer, two
  auxiliary police, at least one grid worker), a rural grid's "1+N". A team that breaks it is
  saved but warned about, on the editor and on the grid page.
- Selection rules (``selection_warnings``, ``SELECTION_RULES``): whether the member lives in the
  grid and has the education their worker type asks for; checked with a warning when a member
  is assigned, never a refusal (the center decides).
- Commendations (岗位之星, 优秀网格员) are awarded by a person with a written reason; nothing here
  derives one from report counts.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from civicgrid.core.errors import DomainError, Forbidden, NotFound
from civicgrid.territory.models import Area, Grid, MicroGrid

from .access import Principal
from .models import (
    EDUCATION_RANK,
    Commendation,
    CommendationKind,
    Education,
    GridMember,
    Role,
    RoleAssignment,
    TrainingAttendance,
    TrainingSession,
    User,
    WorkerType,
)

W = WorkerType
EDIT_ROLES = (Role.OPERATOR, Role.ADMIN)
# The "N" of 1+2+N / 1+N: the members who do the grid work.
GRID_WORK_TYPES = (W.FULL_TIME, W.PART_TIME, W.ASSISTANT)


@dataclass(frozen=True)
class Rule:
    lives_in_grid: bool
    min_education: str | None


# Selection rules by worker type (docs/organisation.md): who must live in the grid and the
# lowest education accepted. Police officers are posted by the police and not checked here.
SELECTION_RULES: dict[str, Rule] = {
    W.FULL_TIME: Rule(lives_in_grid=False, min_education=Education.COLLEGE),
    W.PART_TIME: Rule(lives_in_grid=True, min_education=Education.SENIOR),
    W.ASSISTANT: Rule(lives_in_grid=True, min_education=Education.SENIOR),
    W.MICRO: Rule(lives_in_grid=True, min_education=None),
    W.INFORMANT: Rule(lives_in_grid=True, min_education=None),
    W.VOLUNTEER: Rule(lives_in_grid=False, min_education=None),
    W.POLICE: Rule(lives_in_grid=False, min_education=None),
    W.AUX_POLICE: Rule(lives_in_grid=False, min_education=None),
}

PHONE_RE = re.compile(r"^[0-9][0-9\- ]{4,18}[0-9]$")


# --- who may edit -----------------------------------------------------------------------------


def can_edit_team(principal: Principal, grid: Grid) -> bool:
    return principal.in_scope(grid.code, EDIT_ROLES) if principal.is_authenticated else False


def require_edit(principal: Principal, grid: Grid) -> None:
    if not can_edit_team(principal, grid):
        raise Forbidden(
            _("Only the center's operators over this grid may edit its team."),
            code="permission_denied",
            field="grid",
        )


# --- warnings ---------------------------------------------------------------------------------


def team_warnings(grid: Grid, members: list[GridMember]) -> list[str]:
    """What breaks 1+2+N (urban) or 1+N (rural) in ``members``."""
    n = {t: 0 for t in W.values}
    for m in members:
        n[m.worker_type] = n.get(m.worker_type, 0) + 1
    workers = sum(n[t] for t in GRID_WORK_TYPES)
    out = []
    if grid.kind == Grid.Kind.RURAL:
        model = "1+N"
        police = n[W.POLICE] + n[W.AUX_POLICE]  # 一村一辅警: either counts as the "1"
        if police != 1:
            out.append(
                _("%(m)s: a rural grid needs one police officer (has %(n)s).")
                % {"m": model, "n": police}
            )
    else:
        model = "1+2+N"
        if n[W.POLICE] != 1:
            out.append(
                _("%(m)s: an urban grid needs one police officer (has %(n)s).")
                % {"m": model, "n": n[W.POLICE]}
            )
        if n[W.AUX_POLICE] != 2:
            out.append(
                _("%(m)s: an urban grid needs two auxiliary police (has %(n)s).")
                % {"m": model, "n": n[W.AUX_POLICE]}
            )
    if workers < 1:
        out.append(_("%(m)s: the team has no grid worker.") % {"m": model})
    if members and not any(m.is_leader for m in members):
        out.append(_("No team leader is set."))
    return out


def selection_warnings(member: GridMember) -> list[str]:
    """The selection rules of the member's type, checked against the user's record."""
    rule = SELECTION_RULES.get(member.worker_type)
    if rule is None:
        return []
    user = member.user
    out = []
    if rule.lives_in_grid:
        if user.residence_grid_id is None:
            out.append(_("%(u)s: where they live is not recorded.") % {"u": user})
        elif user.residence_grid_id != member.grid_id:
            out.append(
                _("%(u)s does not live in the grid (a %(t)s should).")
                % {"u": user, "t": member.get_worker_type_display()}
            )
    if rule.min_education:
        need = Education(rule.min_education).label
        if not user.education:
            out.append(_("%(u)s: education is not recorded.") % {"u": user})
        elif EDUCATION_RANK[user.education] < EDUCATION_RANK[rule.min_education]:
            out.append(
                _("%(u)s: a %(t)s needs %(e)s or above.")
                % {"u": user, "t": member.get_worker_type_display(), "e": need}
            )
    return out


# --- team edits -------------------------------------------------------------------------------


def candidates_for(principal: Principal, grid: Grid) -> QuerySet[User]:
    """Users the editor may put on ``grid``'s team: staff holding a field role in the editor's
    area, or already on a team there; not yet on this team."""
    prefixes = principal.prefixes(EDIT_ROLES)
    qs = User.objects.filter(is_active=True)
    if prefixes is not None:
        q = Q(pk__in=[])
        for p in prefixes:
            q |= Q(
                assignments__role__in=(Role.GRID_WORKER, Role.GRID_CHIEF),
                assignments__area__code__startswith=p,
            )
            q |= Q(grid_memberships__grid__code__startswith=p)
        qs = qs.filter(q)
    return qs.exclude(grid_memberships__grid=grid).distinct().order_by("full_name", "username")


def _clean_phone(value: str) -> str:
    value = (value or "").strip()
    if value and not PHONE_RE.match(value):
        raise DomainError(
            "invalid",
            _("The work phone may hold digits, spaces and “-” (6 to 20)."),
            field="work_phone",
        )
    return value


def _clean_member_fields(grid: Grid, data: dict) -> dict:
    worker_type = (data.get("worker_type") or "").strip()
    if worker_type not in W.values:
        raise DomainError("invalid", _("Choose a worker type."), field="worker_type")
    micro = data.get("micro_grid") or None
    micro_grid = None
    if worker_type == W.MICRO:
        if not micro:
            raise DomainError(
                "required",
                _("A micro-grid worker is linked to their micro-grid."),
                field="micro_grid",
            )
        micro_grid = (
            micro
            if isinstance(micro, MicroGrid)
            else MicroGrid.objects.filter(grid=grid, code=str(micro).strip()).first()
        )
        if micro_grid is None or micro_grid.grid_id != grid.pk:
            raise DomainError(
                "invalid", _("The micro-grid is not part of this grid."), field="micro_grid"
            )
    since = data.get("since") or None
    if since and not isinstance(since, dt.date):
        try:
            since = dt.date.fromisoformat(str(since))
        except ValueError:
            raise DomainError("invalid", _("since must be a date."), field="since") from None
    return {
        "worker_type": worker_type,
        "micro_grid": micro_grid,
        "is_leader": bool(data.get("is_leader")),
        "work_phone": _clean_phone(data.get("work_phone", "")),
        "since": since,
    }


def member_add(*, actor, grid: Grid, user: User | int, data: dict) -> GridMember:
    """Put ``user`` on ``grid``'s team. The member gets the grid-worker role on the grid's area
    when they do not hold it (their field app needs it)."""
    principal = Principal.of(actor)
    require_edit(principal, grid)
    if not isinstance(user, User):
        user = candidates_for(principal, grid).filter(pk=user).first()
        if user is None:
            raise DomainError("invalid", _("Choose a worker from your area."), field="user")
    elif not candidates_for(principal, grid).filter(pk=user.pk).exists():
        raise DomainError("invalid", _("Choose a worker from your area."), field="user")
    fields = _clean_member_fields(grid, data)
    with transaction.atomic():
        member = GridMember.objects.create(grid=grid, user=user, **fields)
        if fields["is_leader"]:
            _only_leader(member)
        if not RoleAssignment.objects.filter(user=user, role=Role.GRID_WORKER).exists():
            RoleAssignment.objects.create(user=user, role=Role.GRID_WORKER, area=grid.area)
    return member


def member_update(*, actor, member: GridMember, data: dict) -> GridMember:
    principal = Principal.of(actor)
    require_edit(principal, member.grid)
    fields = _clean_member_fields(member.grid, data)
    with transaction.atomic():
        for k, v in fields.items():
            setattr(member, k, v)
        member.save()
        if fields["is_leader"]:
            _only_leader(member)
    return member


def member_remove(*, actor, member: GridMember) -> None:
    require_edit(Principal.of(actor), member.grid)
    member.delete()


def _only_leader(member: GridMember) -> None:
    """One team leader per grid: the others lose the mark (each a saved, audited row)."""
    for other in GridMember.objects.filter(grid_id=member.grid_id, is_leader=True).exclude(
        pk=member.pk
    ):
        other.is_leader = False
        other.save(update_fields=["is_leader"])


def member_get_for_edit(principal: Principal, grid: Grid, pk: int) -> GridMember:
    member = GridMember.objects.select_related("user", "grid").filter(grid=grid, pk=pk).first()
    if member is None:
        raise NotFound(_("team member"))
    return member


# --- training ---------------------------------------------------------------------------------


def _require_area(principal: Principal, area: Area, what: str) -> None:
    if not principal.in_scope(area.prefix, EDIT_ROLES):
        raise NotFound(what)


def areas_for_edit(principal: Principal) -> QuerySet[Area]:
    prefixes = principal.prefixes(EDIT_ROLES)
    qs = Area.objects.defer("boundary").order_by("code")
    if prefixes is None:
        return qs
    q = Q(pk__in=[])
    for p in prefixes:
        q |= Q(code__startswith=p)
    return qs.filter(q)


def _as_datetime(value) -> dt.datetime:
    from django.utils import timezone
    from django.utils.dateparse import parse_datetime

    result = value if isinstance(value, dt.datetime) else None
    if result is None and value:
        try:
            result = parse_datetime(str(value))
        except ValueError:
            result = None
    if result is None:
        raise DomainError("invalid", _("held_at must be a date and time."), field="held_at")
    return timezone.make_aware(result) if timezone.is_naive(result) else result


def trainings_for(principal: Principal) -> QuerySet[TrainingSession]:
    return TrainingSession.objects.filter(
        area__in=areas_for_edit(principal).values("pk")
    ).select_related("area")


def training_create(
    *, actor, area: Area, title: str, held_at, place: str = "", hours=2, topic: str = ""
) -> TrainingSession:
    principal = Principal.of(actor)
    _require_area(principal, area, _("area"))
    title = (title or "").strip()
    if not title:
        raise DomainError("required", _("title is required."), field="title")
    try:
        hours_value = float(hours)
    except (TypeError, ValueError):
        raise DomainError("invalid", _("hours must be a number."), field="hours") from None
    if not 0 < hours_value <= 99:
        raise DomainError("invalid", _("hours must be between 0 and 99."), field="hours")
    session = TrainingSession.objects.create(
        area=area,
        title=title[:200],
        topic=(topic or "").strip(),
        held_at=_as_datetime(held_at),
        place=(place or "").strip()[:200],
        hours=round(hours_value, 1),
        created_by=actor,
    )
    # Everyone on a team in the area is invited; attendance is marked afterwards.
    users = (
        GridMember.objects.filter(grid__code__startswith=area.prefix, user__is_active=True)
        .values_list("user_id", flat=True)
        .distinct()
    )
    TrainingAttendance.objects.bulk_create(
        [TrainingAttendance(session=session, user_id=u) for u in sorted(set(users))]
    )
    return session


def attendance_mark(*, actor, session: TrainingSession, attended_ids) -> int:
    """Mark who attended (the others: absent). Returns the number present."""
    _require_area(Principal.of(actor), session.area, _("training session"))
    ids = {int(i) for i in attended_ids or [] if str(i).isdigit()}
    n = 0
    for row in session.attendance.all():
        want = row.user_id in ids
        n += want
        if row.attended != want:
            row.attended = want
            row.save(update_fields=["attended"])
    return n


# --- commendations ----------------------------------------------------------------------------


def commend(*, actor, user: User, kind: str, period: str, reason: str, area: Area) -> Commendation:
    """Award a commendation for the quality of the work; the reason is required."""
    from django.utils import timezone

    principal = Principal.of(actor)
    _require_area(principal, area, _("area"))
    if kind not in CommendationKind.values:
        raise DomainError("invalid", _("Choose a commendation."), field="kind")
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise DomainError(
            "required",
            _("Write the reason: what the worker did well (at least 10 characters)."),
            field="reason",
        )
    period = (period or "").strip()[:20]
    if not period:
        raise DomainError("required", _("period is required."), field="period")
    if not GridMember.objects.filter(user=user, grid__code__startswith=area.prefix).exists():
        raise DomainError(
            "invalid",
            _("%(u)s is not on a team in %(a)s.") % {"u": user, "a": area.name},
            field="user",
        )
    return Commendation.objects.create(
        user=user,
        kind=kind,
        period=period,
        reason=reason[:2000],
        area=area,
        awarded_on=timezone.localdate(),
        awarded_by=actor,
    )
