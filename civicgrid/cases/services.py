"""Every write of the cases app. State changes go through ``engine.case_act``.

The thin ``case_<action>`` functions name the inputs of each action for callers (HTMX views,
the REST API, commands); they add no rules of their own.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.core.errors import Conflict, DomainError, NotFound
from civicgrid.people.models import Center, Department, Role, User
from civicgrid.people.scoping import has_role
from civicgrid.territory.codes import area_prefix
from civicgrid.territory.models import Area, Grid

from . import sla
from .actions import collect_attachments, operators_of, resolve_category
from .adapters import locate, notify
from .engine import TRANSITIONS, Step, case_act
from .models import (
    AdmissionItem,
    Case,
    CaseAction,
    Category,
    Flow,
    GridTask,
    GridTaskState,
    Priority,
    Source,
    State,
)

MAX_OFFGRID_M = 5000  # a point farther than this from every grid is outside our territory
PHONE_RE = re.compile(r"^\+?[\d\- ]{5,20}$")
CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_.:\-]{8,64}$")

# Which staff role a report from each source is recorded under (the action log's ``role``).
SOURCE_ROLES = {
    Source.GRID_WORKER: Role.GRID_WORKER,
    Source.PATROL: Role.GRID_WORKER,
    Source.HOTLINE: Role.OPERATOR,
    Source.DEPARTMENT: Role.HANDLER,
}


# --- report -----------------------------------------------------------------------------------


def owner_center_for(area: Area, category: Category) -> Center:
    """The center at the category's handling level above ``area``, else the next one up.

    An ancestor's code is the area's code cut to the ancestor level's prefix and padded with
    zeros (the statistical code structure, enforced when areas are created), so one query on
    the candidate codes finds the centers without walking and loading the ancestor chain.
    """
    candidates = [
        area_prefix(area.code, level).ljust(12, "0")
        for level in range(min(area.level, category.handling_level), 0, -1)
    ]
    rows = (
        Center.objects.filter(area__code__in=candidates)
        .select_related("area")
        .only("id", "name", "phone", "area__id", "area__code", "area__name", "area__level")
    )
    centers = {c.area.code: c for c in rows}
    for code in candidates:  # nearest first
        if code in centers:
            return centers[code]
    raise DomainError(
        "no_center",
        _("No center is responsible for %(area)s; ask an administrator to set one up.")
        % {"area": area.name},
        field="location",
    )


# What a report needs of its grid and community: never their boundary polygons.
_GRID_FIELDS = ("id", "code", "name", "area__id", "area__code", "area__name", "area__level")


def _location(lat, lng, crs: str) -> dict[str, Any]:
    try:
        lat, lng = float(lat), float(lng)
    except (TypeError, ValueError):
        raise DomainError(
            "required", _("location (lat, lng) is required."), field="location"
        ) from None
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise DomainError("invalid_location", _("lat/lng out of range."), field="location")
    if crs not in ("wgs84", "gcj02", "bd09"):
        raise DomainError("invalid_crs", _("crs must be wgs84, gcj02 or bd09."), field="crs")
    res = locate(lat, lng, crs=crs)
    out: dict[str, Any] = {"lat": res.lat, "lng": res.lng, "micro_grid_id": res.micro_grid_id}
    if res.found and res.grid_id:
        grid = Grid.objects.select_related("area").only(*_GRID_FIELDS).get(pk=res.grid_id)
        out.update(grid=grid, area=grid.area, scope_code=grid.code)
        return out
    nearest = (
        Grid.objects.select_related("area")
        .only(*_GRID_FIELDS)
        .filter(code=res.nearest_grid_code)
        .first()
        if res.nearest_grid_code
        else None
    )
    if nearest is None or res.distance_m is None or res.distance_m > MAX_OFFGRID_M:
        raise DomainError(
            "outside_territory",
            _("The location is outside every grid of this platform."),
            field="location",
        )
    # In a gap between grids: the nearest grid's community answers for it (责任无盲区).
    out.update(
        grid=None,
        area=nearest.area,
        scope_code=nearest.area.code,
        offgrid={"nearest_grid": nearest.code, "distance_m": round(res.distance_m)},
    )
    return out


def case_report(**kwargs: Any) -> Case:
    """File a new report (state ``reported``); see ``case_report_outcome`` for the arguments."""
    return case_report_outcome(**kwargs)[0]


def case_report_outcome(
    *,
    actor: User | None,
    category: Category | str,
    description: str,
    lat: float,
    lng: float,
    crs: str = "wgs84",
    source: str = Source.CITIZEN,
    flow: str = Flow.CASE,
    address: str = "",
    priority: int | None = None,
    reporter_name: str = "",
    reporter_phone: str = "",
    client_id: str | None = None,
    attachments: list | None = None,
) -> tuple[Case, bool]:
    """File a new report (state ``reported``). Idempotent on ``client_id``.

    Returns the case and whether this call created it (False: an earlier delivery of the same
    ``client_id`` did, and that first case is returned).

    Anonymous reports (``actor`` None) need a phone number. Staff sources are checked against
    the actor's roles (grid worker app/patrol: grid worker; hotline: operator; department:
    handler). A repeated ``client_id`` from the same reporter returns the first case.
    """
    if client_id is not None:
        client_id = str(client_id).strip() or None
    if client_id is not None:
        if not CLIENT_ID_RE.match(client_id):
            raise DomainError(
                "invalid", _("client_id must be 8–64 letters, digits or -_.:"), field="client_id"
            )
        existing = _existing_report(client_id, actor, reporter_phone)
        if existing is not None:
            return existing, False
    if source not in Source.values:
        raise DomainError(
            "invalid", _("source must be one of %(v)s.") % {"v": Source.values}, field="source"
        )
    if flow not in Flow.values:
        raise DomainError(
            "invalid", _("flow must be one of %(v)s.") % {"v": Flow.values}, field="flow"
        )
    role = _reporter_role(actor, source, reporter_phone)
    if not category:
        raise DomainError("required", _("category is required."), field="category")
    cat = resolve_category(category)
    description = (description or "").strip()
    if not description:
        raise DomainError("required", _("description is required."), field="description")
    if len(description) > 4000:
        raise DomainError(
            "too_long", _("description must be at most 4000 characters."), field="description"
        )
    if lat is None or lng is None:
        raise DomainError("required", _("location (lat, lng) is required."), field="location")
    loc = _location(lat, lng, crs)
    prio = cat.priority if priority in (None, "") else _priority(priority)
    owner = owner_center_for(loc["area"], cat)
    now = timezone.now()
    staff = actor if actor is not None and actor.is_authenticated else None

    case = Case(
        flow=flow,
        category=cat,
        description=description,
        lat=loc["lat"],
        lng=loc["lng"],
        address=(address or "").strip()[:200],
        grid=loc["grid"],
        micro_grid_id=loc["micro_grid_id"],
        area=loc["area"],
        scope_code=loc["scope_code"],
        source=source,
        priority=prio,
        owner=owner,
        owner_code=owner.area.code,
        # A hotline operator types in a caller's report: the caller (name/phone) is the reporter.
        reporter=staff if source != Source.HOTLINE else None,
        reporter_name=(reporter_name or "").strip()[:50],
        reporter_phone=(reporter_phone or "").strip()[:20],
        client_id=client_id,
        state=State.REPORTED,
        reported_at=now,
        updated_at=now,
        # In UTC as the database hands datetimes back: the caller may answer with this very
        # object instead of re-reading it.
        **{
            k: v.astimezone(dt.UTC) if isinstance(v, dt.datetime) else v
            for k, v in sla.response_clock(cat, now, now).items()
        },
    )
    step = Step(
        case=case,
        actor=actor,
        role=role,
        inputs={"attachments": attachments or []},
        now=now,
        transition=TRANSITIONS["report"],
    )
    need_photo = cat.photo_required and source in (Source.GRID_WORKER, Source.PATROL)
    if attachments or need_photo:
        collect_attachments(step, need_image=need_photo)
    data = {"source": source, "category": cat.code, "scope_code": case.scope_code}
    if "offgrid" in loc:
        data["offgrid"] = loc["offgrid"]
    try:
        with transaction.atomic():
            case.save(force_insert=True)
            row = CaseAction.objects.create(
                case=case,
                action="report",
                actor=staff,
                role=role,
                from_state="",
                to_state=State.REPORTED,
                note="",
                data={**data, **step.data},
                created_at=now,
            )
            for fn in step.after:
                fn(row)
    except IntegrityError:
        # Two deliveries of one report raced: the unique client_id let exactly one in.
        if client_id is not None:
            existing = _existing_report(client_id, actor, reporter_phone)
            if existing is not None:
                return existing, False
        raise
    owner_id = owner.pk
    transaction.on_commit(
        lambda: notify(
            users=operators_of(owner_id),
            kind="case_reported",
            title=f"[{case.tracking_code}] " + _("New report: %(c)s") % {"c": cat.name},
            body=description[:200],
            case=case,
            sms=prio >= Priority.URGENT,
        )
    )
    return case, True


def _existing_report(client_id: str, actor, phone: str) -> Case | None:
    case = Case.objects.filter(client_id=client_id).select_related("category").first()
    if case is None:
        return None
    same = (actor is not None and actor.is_authenticated and case.reporter_id == actor.pk) or (
        (actor is None or not actor.is_authenticated)
        and case.reporter_id is None
        and case.reporter_phone == (phone or "").strip()[:20]
    )
    if not same:
        raise Conflict(
            "client_id_conflict",
            _("client_id %(id)s was already used for another report.") % {"id": client_id},
            field="client_id",
        )
    return case


def _reporter_role(actor, source: str, phone: str) -> str:
    if actor is None or not actor.is_authenticated:
        if source not in (Source.CITIZEN, Source.API, Source.ONE_KEY):
            raise DomainError(
                "permission_denied",
                _("Only staff may report from source %(s)s.") % {"s": source},
                field="source",
                status=403,
            )
        if not PHONE_RE.match((phone or "").strip()):
            raise DomainError(
                "required",
                _("An anonymous report needs a phone number."),
                field="reporter_phone",
            )
        return "anonymous"
    needed = SOURCE_ROLES.get(source)
    if needed is not None and not has_role(actor, needed):
        raise DomainError(
            "permission_denied",
            _("Only a %(role)s may report from source %(s)s.")
            % {"role": Role(needed).label, "s": source},
            field="source",
            status=403,
        )
    return needed or "citizen"


def _priority(value) -> int:
    from .actions import as_priority

    return as_priority(value)


# --- one thin function per action ---------------------------------------------------------------


def case_accept(*, case: Case, actor, category, priority, note: str = "", **kw) -> CaseAction:
    return case_act(
        case=case,
        action="accept",
        actor=actor,
        category=category,
        priority=priority,
        note=note,
        **kw,
    )


def case_reject(*, case: Case, actor, reason: str, **kw) -> CaseAction:
    return case_act(case=case, action="reject", actor=actor, reason=reason, **kw)


def case_merge(*, case: Case, actor, target, note: str = "", **kw) -> CaseAction:
    return case_act(case=case, action="merge", actor=actor, target=target, note=note, **kw)


def case_self_close(*, case: Case, actor, result: str, attachments: list, **kw) -> CaseAction:
    return case_act(
        case=case, action="self_close", actor=actor, result=result, attachments=attachments, **kw
    )


def case_dispatch(
    *, case: Case, actor, department=None, worker=None, note: str = "", **kw
) -> CaseAction:
    return case_act(
        case=case,
        action="dispatch",
        actor=actor,
        department=department,
        worker=worker,
        note=note,
        **kw,
    )


def case_return(*, case: Case, actor, reason: str, **kw) -> CaseAction:
    return case_act(case=case, action="return", actor=actor, reason=reason, **kw)


def case_sign(*, case: Case, actor, note: str = "", **kw) -> CaseAction:
    return case_act(case=case, action="sign", actor=actor, note=note, **kw)


def case_submit(*, case: Case, actor, result: str, attachments: list, **kw) -> CaseAction:
    return case_act(
        case=case, action="submit", actor=actor, result=result, attachments=attachments, **kw
    )


def case_verify(*, case: Case, actor, note: str, **kw) -> CaseAction:
    return case_act(case=case, action="verify", actor=actor, note=note, **kw)


def case_rework(*, case: Case, actor, reason: str, **kw) -> CaseAction:
    return case_act(case=case, action="rework", actor=actor, reason=reason, **kw)


def case_escalate(*, case: Case, actor, reason: str, **kw) -> CaseAction:
    return case_act(case=case, action="escalate", actor=actor, reason=reason, **kw)


def case_reopen(*, case: Case, actor, reason: str, **kw) -> CaseAction:
    return case_act(case=case, action="reopen", actor=actor, reason=reason, **kw)


def case_extension_request(*, case: Case, actor, due, reason: str, **kw) -> CaseAction:
    return case_act(case=case, action="extend_request", actor=actor, due=due, reason=reason, **kw)


def case_extension_approve(*, case: Case, actor, due=None, note: str = "", **kw) -> CaseAction:
    return case_act(case=case, action="extend_approve", actor=actor, due=due, note=note, **kw)


def case_extension_deny(*, case: Case, actor, reason: str, **kw) -> CaseAction:
    return case_act(case=case, action="extend_deny", actor=actor, reason=reason, **kw)


def case_suspend_request(*, case: Case, actor, reason: str, review_date, **kw) -> CaseAction:
    return case_act(
        case=case,
        action="suspend_request",
        actor=actor,
        reason=reason,
        review_date=review_date,
        **kw,
    )


def case_suspend_approve(*, case: Case, actor, note: str = "", **kw) -> CaseAction:
    return case_act(case=case, action="suspend_approve", actor=actor, note=note, **kw)


def case_suspend_deny(*, case: Case, actor, reason: str, **kw) -> CaseAction:
    return case_act(case=case, action="suspend_deny", actor=actor, reason=reason, **kw)


def case_resume(*, case: Case, actor, note: str = "", **kw) -> CaseAction:
    return case_act(case=case, action="resume", actor=actor, note=note, **kw)


def case_supervise(*, case: Case, actor, note: str, **kw) -> CaseAction:
    return case_act(case=case, action="supervise", actor=actor, note=note, **kw)


def case_comment(*, case: Case, actor, text: str, internal: bool = True, **kw) -> CaseAction:
    return case_act(case=case, action="comment", actor=actor, text=text, internal=internal, **kw)


def case_rate(*, case: Case, actor, score: int, text: str = "", **kw) -> CaseAction:
    return case_act(case=case, action="rate", actor=actor, score=score, text=text, **kw)


def case_rate_public(*, tracking_code: str, score: int, text: str = "") -> CaseAction:
    """Rate from the public tracking page: knowing the tracking code identifies the reporter."""
    case = Case.objects.filter(tracking_code=(tracking_code or "").strip().upper()).first()
    if case is None:
        raise NotFound(_("case"))
    return case_act(
        case=case,
        action="rate",
        actor=None,
        role="reporter",
        _reporter=True,
        score=score,
        text=text,
    )


def attachment_upload(*, case: Case, actor, file) -> Any:
    """Store a photo or clip on ``case`` ahead of the action that will use it."""
    from .attachments import attachment_prepare, attachment_save
    from .engine import can_view

    if not can_view(actor, case):
        raise NotFound(_("case"))
    return attachment_save(attachment_prepare(file, field="file"), case=case, uploaded_by=actor)


# --- grid tasks (下派任务) behind the admission-list firewall ------------------------------------


def grid_task_create(
    *,
    actor: User,
    department: Department,
    item: AdmissionItem | str,
    grid: Grid,
    title: str,
    deadline: dt.datetime,
    description: str = "",
    worker: User | None = None,
) -> GridTask:
    """Push an admitted item to a grid's worker. Refused (``not_admitted``) off the list.

    The actor must be a handler of ``department`` whose scope covers the grid.
    """
    from civicgrid.people.models import GridMember, RoleAssignment

    is_handler = actor.is_superuser or any(
        grid.code.startswith(ra.area.prefix)
        for ra in RoleAssignment.objects.filter(
            user=actor, role=Role.HANDLER, department=department
        ).select_related("area")
    )
    if not is_handler:
        raise DomainError(
            "permission_denied",
            _("Only a handler of %(d)s serving this grid may push tasks to it.")
            % {"d": department.name},
            field="department",
            status=403,
        )
    code = item.code if isinstance(item, AdmissionItem) else str(item)
    admitted = AdmissionItem.objects.filter(
        department=department, code=code, is_active=True
    ).first()
    if admitted is None or (
        isinstance(item, AdmissionItem) and item.department_id != department.pk
    ):
        name = item.name if isinstance(item, AdmissionItem) else code
        raise DomainError(
            "not_admitted",
            _(
                "“%(item)s” is not on the admission list of %(d)s, so it cannot be pushed down "
                "to grid workers."
            )
            % {"item": name, "d": department.name},
            field="item",
            details={"item": code, "department": department.code},
        )
    title = (title or "").strip()
    if not title:
        raise DomainError("required", _("title is required."), field="title")
    from .actions import as_datetime

    deadline = as_datetime(deadline, "deadline")
    if deadline <= timezone.now():
        raise DomainError("invalid", _("deadline must be in the future."), field="deadline")
    if worker is None:
        member = (
            GridMember.objects.filter(grid=grid, user__is_active=True)
            .order_by("-is_leader", "pk")
            .select_related("user")
            .first()
        )
        if member is None:
            raise DomainError(
                "no_worker", _("Grid %(g)s has no worker.") % {"g": grid.name}, field="worker"
            )
        worker = member.user
    elif not GridMember.objects.filter(grid=grid, user=worker).exists():
        raise DomainError(
            "worker_out_of_scope",
            _("%(w)s is not a member of grid %(g)s.") % {"w": worker, "g": grid.name},
            field="worker",
        )
    task = GridTask.objects.create(
        department=department,
        item=admitted,
        grid=grid,
        scope_code=grid.code,
        worker=worker,
        title=title[:200],
        description=description or "",
        deadline=deadline,
        created_by=actor,
    )
    transaction.on_commit(
        lambda: notify(
            users=[worker],
            kind="grid_task",
            title=_("New task: %(t)s") % {"t": task.title},
            body=f"{department.name} · {admitted.name}",
        )
    )
    return task


def grid_task_complete(
    *, task: GridTask, actor: User, result: str, attachments: list | None = None
) -> GridTask:
    """The assigned worker completes an open task with a result (and evidence)."""
    from .attachments import attachment_save, attachments_prepare

    if task.worker_id != actor.pk:
        raise NotFound(_("task"))
    if task.state != GridTaskState.OPEN:
        raise DomainError(
            "action_not_allowed",
            _("The task is %(s)s; only open tasks can be completed.")
            % {"s": task.get_state_display()},
            details={"state": task.state},
            status=409,
        )
    result = (result or "").strip()
    if not result:
        raise DomainError("required", _("result is required."), field="result")
    prepared = attachments_prepare(attachments, field="attachments")
    with transaction.atomic():
        updated = GridTask.objects.filter(pk=task.pk, state=GridTaskState.OPEN).update(
            state=GridTaskState.DONE, result=result, completed_at=timezone.now()
        )
        if not updated:
            raise Conflict("version_conflict", _("The task was changed meanwhile."))
        for p in prepared:
            attachment_save(p, task=task, uploaded_by=actor)
    task.refresh_from_db()
    return task


# --- configuration ------------------------------------------------------------------------------


def holidays_seed(years: list[int] | None = None) -> int:
    from .calendar import seed_from_package

    return seed_from_package(years)


def category_get(code: str) -> Category:
    cat = Category.objects.filter(code=code).first()
    if cat is None:
        raise NotFound(_("category"))
    return cat
