"""Every write of the cases app. State changes go through the workflow engine.

``case_report`` creates a case through the engine's commit (``CASES.create``); the typed
``case_<action>`` functions name the inputs of each action for Python callers (views,
commands, tests) and add no rules of their own: the API and the console call ``case_act``
with the inputs the registry declares. Grid tasks are in ``gridtasks.py``.

Over 500 lines on purpose: report intake (location, owner center, idempotency) and the typed
signature of every action, which reads best next to each other.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, NamedTuple

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.core.errors import Conflict, DomainError, Forbidden, NotFound
from civicgrid.core.workflow import Step
from civicgrid.notifications.services import RECIPIENT_FIELDS
from civicgrid.people.models import Center, Department, Role, User
from civicgrid.people.scoping import has_role
from civicgrid.territory.codes import area_prefix
from civicgrid.territory.models import Area, Grid
from civicgrid.territory.spatial import locate

from . import sla
from .engine import CASES, REPORTER, capacities, case_act
from .handlers import collect_attachments, notify, operators_of, resolve_category
from .models import Case, CaseAction, Category, Flow, Priority, Source

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


class ReportOutcome(NamedTuple):
    case: Case
    created: bool  # False: an earlier delivery of the same ``client_id`` created ``case``
    log: CaseAction | None  # the report's log row, when this call wrote it


def case_report(**kwargs: Any) -> Case:
    """File a new report (state ``reported``); see ``case_report_outcome`` for the arguments."""
    return case_report_outcome(**kwargs).case


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
) -> ReportOutcome:
    """File a new report (state ``reported``). Idempotent on ``client_id``.

    Returns the case, whether this call created it (False: an earlier delivery of the same
    ``client_id`` did, and that first case is returned) and the log row it wrote.

    Anonymous reports (``actor`` None) need a phone number. Staff sources are checked against
    the actor's roles (grid worker app/patrol: grid worker; hotline: operator; department:
    handler). A repeated ``client_id`` from the same reporter returns the first case; another
    reporter's is refused (409).

    The first delivery of a ``client_id`` — nearly every call — is not looked up beforehand:
    the unique constraint ``case_client_id_uniq`` refuses a second case, and only a refused
    insert or a refused input (a retry may no longer pass: its attachments are used, its
    category retired) looks for the earlier case. The answer is the one a look-up first would
    give: the earlier case, the conflict, or else the original error.
    """
    if client_id is not None:
        client_id = str(client_id).strip() or None
    if client_id is not None and not CLIENT_ID_RE.match(client_id):
        raise DomainError(
            "invalid", _("client_id must be 8–64 letters, digits or -_.:"), field="client_id"
        )
    try:
        case, log = _report_new(
            actor=actor,
            category=category,
            description=description,
            lat=lat,
            lng=lng,
            crs=crs,
            source=source,
            flow=flow,
            address=address,
            priority=priority,
            reporter_name=reporter_name,
            reporter_phone=reporter_phone,
            client_id=client_id,
            attachments=attachments,
        )
    except (DomainError, IntegrityError):
        # A retry, or two deliveries of one report racing (the constraint let exactly one in).
        if client_id is not None:
            existing = _existing_report(client_id, actor, reporter_phone)
            if existing is not None:
                return ReportOutcome(existing, False, None)
        raise
    return ReportOutcome(case, True, log)


def _report_new(
    *,
    actor: User | None,
    category: Category | str,
    description: str,
    lat: float,
    lng: float,
    crs: str,
    source: str,
    flow: str,
    address: str,
    priority: int | None,
    reporter_name: str,
    reporter_phone: str,
    client_id: str | None,
    attachments: list | None,
) -> tuple[Case, CaseAction]:
    """Validate and insert a new report; the unique ``client_id`` makes a repeat fail."""
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
        obj=case,
        actor=actor,
        role=role,
        inputs={"attachments": attachments or []},
        now=now,
        transition=CASES.creation(),
        workflow=CASES,
    )
    need_photo = cat.photo_required and source in (Source.GRID_WORKER, Source.PATROL)
    if attachments or need_photo:
        collect_attachments(step, need_image=need_photo)
    step.data = {"source": source, "category": cat.code, "scope_code": case.scope_code, **step.data}
    if "offgrid" in loc:
        step.data["offgrid"] = loc["offgrid"]
    log = CASES.create(step)
    owner_id = owner.pk
    transaction.on_commit(
        lambda: notify(
            users=operators_of(owner_id, only=RECIPIENT_FIELDS),
            kind="case_reported",
            title=f"[{case.tracking_code}] " + _("New report: %(c)s") % {"c": cat.name},
            body=description[:200],
            case=case,
            sms=prio >= Priority.URGENT,
        )
    )
    return case, log


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
            raise Forbidden(
                _("Only staff may report from source %(s)s.") % {"s": source},
                code="permission_denied",
                field="source",
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
        raise Forbidden(
            _("Only a %(role)s may report from source %(s)s.")
            % {"role": Role(needed).label, "s": source},
            code="permission_denied",
            field="source",
        )
    return needed or "citizen"


def _priority(value) -> int:
    from .handlers import as_priority

    return as_priority(value)


# fmt: off
# --- one typed function per action (Python callers; the API and console use case_act) -------

Role_ = str | None
Version = int | None


def case_accept(
    *, case: Case, actor, category: Category | str, priority: int | str, note: str = "",
    role: Role_ = None, expected_version: Version = None,
) -> CaseAction:
    return case_act(case=case, action="accept", actor=actor, role=role,
                    expected_version=expected_version, category=category, priority=priority,
                    note=note)


def case_reject(
    *, case: Case, actor, reason: str, role: Role_ = None, expected_version: Version = None
) -> CaseAction:
    return case_act(case=case, action="reject", actor=actor, role=role,
                    expected_version=expected_version, reason=reason)


def case_merge(
    *, case: Case, actor, target: Case | str | int, note: str = "", role: Role_ = None,
    expected_version: Version = None,
) -> CaseAction:
    return case_act(case=case, action="merge", actor=actor, role=role,
                    expected_version=expected_version, target=target, note=note)


def case_self_close(
    *, case: Case, actor, result: str, attachments: list, role: Role_ = None,
    expected_version: Version = None,
) -> CaseAction:
    return case_act(case=case, action="self_close", actor=actor, role=role,
                    expected_version=expected_version, result=result, attachments=attachments)


def case_dispatch(
    *, case: Case, actor, department: Department | str | int | None = None,
    worker: User | int | None = None, note: str = "", role: Role_ = None,
    expected_version: Version = None, co_departments: list | None = None,
) -> CaseAction:
    """Dispatch to a department (with co-departments, 主办/协办) or to a worker."""
    return case_act(case=case, action="dispatch", actor=actor, role=role,
                    expected_version=expected_version, department=department, worker=worker,
                    note=note, co_departments=list(co_departments or []))


def case_return(
    *, case: Case, actor, reason: str, role: Role_ = None, expected_version: Version = None
) -> CaseAction:
    return case_act(case=case, action="return", actor=actor, role=role,
                    expected_version=expected_version, reason=reason)


def case_sign(
    *, case: Case, actor, note: str = "", role: Role_ = None, expected_version: Version = None
) -> CaseAction:
    return case_act(case=case, action="sign", actor=actor, role=role,
                    expected_version=expected_version, note=note)


def case_submit(
    *, case: Case, actor, result: str, attachments: list, role: Role_ = None,
    expected_version: Version = None, parts_reason: str = "",
) -> CaseAction:
    """The result; with open co-handling parts only with ``parts_reason``."""
    return case_act(case=case, action="submit", actor=actor, role=role,
                    expected_version=expected_version, result=result, attachments=attachments,
                    parts_reason=parts_reason)


def case_whistle(
    *, case: Case, actor, departments: list, reason: str, role: Role_ = None,
    expected_version: Version = None,
) -> CaseAction:
    """吹哨: call ``departments`` to the case; each must report in (报到) in time."""
    return case_act(case=case, action="whistle", actor=actor, role=role,
                    expected_version=expected_version, departments=list(departments),
                    reason=reason)


def case_verify(
    *, case: Case, actor, note: str, role: Role_ = None, expected_version: Version = None
) -> CaseAction:
    return case_act(case=case, action="verify", actor=actor, role=role,
                    expected_version=expected_version, note=note)


def case_rework(
    *, case: Case, actor, reason: str, role: Role_ = None, expected_version: Version = None
) -> CaseAction:
    return case_act(case=case, action="rework", actor=actor, role=role,
                    expected_version=expected_version, reason=reason)


def case_escalate(
    *, case: Case, actor, reason: str, role: Role_ = None, expected_version: Version = None
) -> CaseAction:
    return case_act(case=case, action="escalate", actor=actor, role=role,
                    expected_version=expected_version, reason=reason)


def case_reopen(
    *, case: Case, actor, reason: str, role: Role_ = None, expected_version: Version = None
) -> CaseAction:
    return case_act(case=case, action="reopen", actor=actor, role=role,
                    expected_version=expected_version, reason=reason)


def case_extension_request(
    *, case: Case, actor, due: dt.datetime | str, reason: str, role: Role_ = None,
    expected_version: Version = None,
) -> CaseAction:
    return case_act(case=case, action="extend_request", actor=actor, role=role,
                    expected_version=expected_version, due=due, reason=reason)


def case_extension_approve(
    *, case: Case, actor, due: dt.datetime | str | None = None, note: str = "",
    role: Role_ = None, expected_version: Version = None,
) -> CaseAction:
    return case_act(case=case, action="extend_approve", actor=actor, role=role,
                    expected_version=expected_version, due=due, note=note)


def case_extension_deny(
    *, case: Case, actor, reason: str, role: Role_ = None, expected_version: Version = None
) -> CaseAction:
    return case_act(case=case, action="extend_deny", actor=actor, role=role,
                    expected_version=expected_version, reason=reason)


def case_suspend_request(
    *, case: Case, actor, reason: str, review_date: dt.date | str, role: Role_ = None,
    expected_version: Version = None,
) -> CaseAction:
    return case_act(case=case, action="suspend_request", actor=actor, role=role,
                    expected_version=expected_version, reason=reason, review_date=review_date)


def case_suspend_approve(
    *, case: Case, actor, note: str = "", role: Role_ = None, expected_version: Version = None
) -> CaseAction:
    return case_act(case=case, action="suspend_approve", actor=actor, role=role,
                    expected_version=expected_version, note=note)


def case_suspend_deny(
    *, case: Case, actor, reason: str, role: Role_ = None, expected_version: Version = None
) -> CaseAction:
    return case_act(case=case, action="suspend_deny", actor=actor, role=role,
                    expected_version=expected_version, reason=reason)


def case_resume(
    *, case: Case, actor, note: str = "", role: Role_ = None, expected_version: Version = None
) -> CaseAction:
    return case_act(case=case, action="resume", actor=actor, role=role,
                    expected_version=expected_version, note=note)


def case_supervise(
    *, case: Case, actor, note: str, role: Role_ = None, expected_version: Version = None
) -> CaseAction:
    return case_act(case=case, action="supervise", actor=actor, role=role,
                    expected_version=expected_version, note=note)


def case_comment(
    *, case: Case, actor, text: str, internal: bool = True, role: Role_ = None,
    expected_version: Version = None,
) -> CaseAction:
    return case_act(case=case, action="comment", actor=actor, role=role,
                    expected_version=expected_version, text=text, internal=internal)


def case_rate(
    *, case: Case, actor, score: int | str, text: str = "", role: Role_ = None,
    expected_version: Version = None,
) -> CaseAction:
    """The signed-in reporter rates their closed case (see ``plan_rate``)."""
    return case_act(case=case, action="rate", actor=actor, role=role,
                    expected_version=expected_version, score=score, text=text)


def case_callback(
    *, case: Case, actor, caller: str, score: int | str, text: str = "", role: Role_ = None,
    expected_version: Version = None,
) -> CaseAction:
    """An operator records the 回访 of a caller (kept apart from citizen ratings)."""
    return case_act(case=case, action="callback", actor=actor, role=role,
                    expected_version=expected_version, caller=caller, score=score, text=text)


def case_rate_public(
    *, tracking_code: str, score: int | str, text: str = "", actor: User | None = None
) -> CaseAction:
    """Rate from the public tracking page with the report's own tracking code.

    The code stands for the reporter only when nobody else is behind it: a report made by a
    signed-in citizen is rated by that citizen signed in, and staff who act on the case (who
    all see its code) cannot rate it in the reporter's place.
    """
    case = Case.objects.filter(tracking_code=(tracking_code or "").strip().upper()).first()
    if case is None:
        raise NotFound(_("case"))
    signed_in = actor is not None and actor.is_authenticated
    caps = capacities(actor, case) if signed_in else set()
    if (caps - {REPORTER}) or (case.reporter_id and not (signed_in and REPORTER in caps)):
        raise Forbidden(_("Only the reporter may rate this case."), code="permission_denied", field="score")
    return case_act(case=case, action="rate", actor=actor if signed_in else None,
                    role=REPORTER, _reporter=True, score=score, text=text)


def attachment_upload(*, case: Case, actor, file) -> Any:
    """Attach a photo or clip to ``case`` (the ``attach`` action: logged, by those who act on
    the case) ahead of the action that will cite its id."""
    row = case_act(case=case, action="attach", actor=actor, file=file)
    return row.attachment


# fmt: on


# --- configuration ------------------------------------------------------------------------------


def holidays_seed(years: list[int] | None = None) -> int:
    from .calendar import seed_from_package

    return seed_from_package(years)


def category_get(code: str) -> Category:
    cat = Category.objects.filter(code=code).first()
    if cat is None:
        raise NotFound(_("category"))
    return cat


# Grid tasks live in gridtasks.py (their own workflow); these names stay importable here.
from .gridtasks import (  # noqa: E402,F401
    department_task_compose,
    grid_task_cancel,
    grid_task_complete,
    grid_task_create,
)
