"""Cases REST API, mounted at /api/cases/.

A thin layer: reads go through ``selectors`` (scoped: out of scope answers 404), writes through
``services`` (which run the engine). Nothing here decides who may do what.
"""

# No ``from __future__ import annotations``: the action endpoints are built in a loop and ninja
# reads their payload type from the live annotations.

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import File, Query, Router, Status
from ninja.files import UploadedFile
from ninja.renderers import JSONRenderer

from civicgrid.core.errors import Forbidden, NotFound
from civicgrid.core.files import file_url
from civicgrid.core.workflow import Action, Workflow
from civicgrid.people.access import principal_of
from civicgrid.people.scoping import STAFF_ROLES, has_role

from . import channels, services
from .attachments import attachment_prepare, attachment_save
from .engine import CASES, REPORTER, allowed_actions, capacities, case_act, state_label
from .models import OPEN_STATES, Attachment, Case, CaseAction, Category
from .schemas import (
    CaseActionResult,
    CaseAttachmentOut,
    CaseCategoryOut,
    CaseDetail,
    CaseDuplicateOut,
    CaseFilters,
    CasePage,
    CasePartActionIn,
    CasePartActionResult,
    CasePartsOut,
    CasePhonesOut,
    CaseReportIn,
    WhistleBoardRow,
    WhistleCallActionIn,
    WhistleCallActionResult,
    WhistleOut,
    action_input_schema,
)
from .selectors import case_duplicates_of, case_get_for, case_rows_for, case_timeline

router = Router()
_RENDERER = JSONRenderer()


# --- output builders ------------------------------------------------------------------------------


def _mask_phone(phone: str) -> str:
    digits = phone or ""
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def _summary(case: Case, *, public: bool = False, now: dt.datetime | None = None) -> dict:
    now = now or timezone.now()
    return {
        "id": case.pk,
        "tracking_code": case.tracking_code,
        "flow": case.flow,
        "state": case.state,
        "state_label": state_label(case.state, case.flow),
        "category": {"code": case.category.code, "name": case.category.name},
        "description": case.description,
        "address": case.address,
        "lat": case.lat,
        "lng": case.lng,
        "grid_code": case.grid.code if case.grid_id else None,
        "area_code": case.area.code,
        "source": case.source,
        "priority": case.priority,
        "department": (
            {"id": case.department.pk, "code": case.department.code, "name": case.department.name}
            if case.department_id
            else None
        ),
        # Citizens see which body handles their matter, never the staff member's name.
        "worker": (
            {"id": case.worker.pk, "name": case.worker.display_name}
            if case.worker_id and not public
            else None
        ),
        "reported_at": case.reported_at,
        "sla_state": case.sla_state,
        "sla_due_at": case.sla_due_at,
        "overdue": bool(
            case.state in OPEN_STATES and case.sla_due_at is not None and case.sla_due_at < now
        ),
        "version": case.version,
    }


def _summary_row(row: dict, now: dt.datetime) -> dict:
    """``_summary`` of a staff list row read as values (``selectors.LIST_VALUES``)."""
    state, flow, due = row["state"], row["flow"], row["sla_due_at"]
    return {
        "id": row["id"],
        "tracking_code": row["tracking_code"],
        "flow": flow,
        "state": state,
        "state_label": state_label(state, flow),
        "category": {"code": row["category__code"], "name": row["category__name"]},
        "description": row["description"],
        "address": row["address"],
        "lat": row["lat"],
        "lng": row["lng"],
        "grid_code": row["grid__code"],
        "area_code": row["area__code"],
        "source": row["source"],
        "priority": row["priority"],
        "department": (
            {
                "id": row["department_id"],
                "code": row["department__code"],
                "name": row["department__name"],
            }
            if row["department_id"]
            else None
        ),
        "worker": (
            {"id": row["worker_id"], "name": row["worker__full_name"] or row["worker__username"]}
            if row["worker_id"]
            else None
        ),
        "reported_at": row["reported_at"],
        "sla_state": row["sla_state"],
        "sla_due_at": due,
        "overdue": bool(state in OPEN_STATES and due is not None and due < now),
        "version": row["version"],
    }


def _attachment(att: Attachment) -> dict:
    return {
        "id": att.pk,
        "kind": att.kind,
        "content_type": att.content_type,
        "size": att.size,
        "width": att.width,
        "height": att.height,
        "url": file_url(att) if att.file else "",
        "thumbnail_url": file_url(att, thumb=True) if att.thumbnail else None,
        "action_id": att.action_id,
        "created_at": att.created_at,
    }


def _reporter_shown(case: Case) -> str:
    shown = case.reporter_display
    return _mask_phone(shown) if shown and shown == case.reporter_phone else shown


def _detail(
    case: Case,
    user,
    *,
    actions: list[CaseAction] | None = None,
    attachments: list[Attachment] | None = None,
) -> dict:
    """The detail answer; ``actions``/``attachments`` given are the case's complete rows."""
    caps = capacities(user, case)
    # Someone who is only the reporter (a citizen) gets the public view of their own case.
    public = caps <= {REPORTER} and not has_role(user, *STAFF_ROLES)
    out = _summary(case, public=public)
    phone = case.reporter_phone
    out.update(
        scope_code=case.scope_code,
        owner={"id": case.owner.pk, "name": case.owner.name, "area_code": case.owner_code},
        reporter="" if public else _reporter_shown(case),
        # Masked for staff too: the full number only through POST /{key}/reveal-phone (logged).
        reporter_phone=phone if REPORTER in caps else _mask_phone(phone),
        response_due=case.response_due,
        handling_due=case.handling_due,
        final_due=case.final_due,
        filed_at=case.filed_at,
        dispatched_at=case.dispatched_at,
        signed_at=case.signed_at,
        handled_at=case.handled_at,
        closed_at=case.closed_at,
        suspended_review_date=case.suspended_review_date,
        result=case.result,
        satisfaction=case.satisfaction,
        rating_text=case.rating_text,
        # The surviving case is another citizen's: its code would open their report.
        merged_into=(
            case.merged_into.tracking_code if case.merged_into_id and not public else None
        ),
        counters={
            "reworks": case.rework_count,
            "extensions": case.extension_count,
            "supervisions": case.supervision_count,
            "returns": case.return_count,
            "dispatches": case.dispatch_count,
            "escalations": case.escalation_count,
            "reopens": case.reopen_count,
        },
        capacities=sorted(caps),
        allowed_actions=allowed_actions(user, case, caps),
        attachments=[
            _attachment(a)
            for a in (
                attachments
                if attachments is not None
                else case.attachments.order_by("created_at", "id")
            )
        ],
        timeline=case_timeline(case, public=public, actions=actions),
    )
    return out


def _reload(user, case: Case) -> Case:
    """The case as the caller now sees it; after e.g. a return the handler may no longer."""
    try:
        return case_get_for(user, case.pk)
    except NotFound:
        return case


# --- reads ----------------------------------------------------------------------------------------


@router.get("/categories", response=list[CaseCategoryOut], summary="Active categories (two levels)")
def list_categories(request: HttpRequest):
    rows: QuerySet[Category] = (
        Category.objects.filter(is_active=True)
        .select_related("parent", "default_department")
        .order_by("code")
    )
    return [
        {
            "code": c.code,
            "name": c.name,
            "parent_code": c.parent.code if c.parent_id else None,
            "handling_level": c.handling_level,
            "handling_level_label": str(c.get_handling_level_display()),
            "default_department": c.default_department.code if c.default_department_id else None,
            "priority": c.priority,
            "response_limit_hours": float(c.response_limit),
            "handling_limit_hours": float(c.handling_limit),
            "sla_unit": c.sla_unit,
            "self_closable": c.self_closable,
            "photo_required": c.photo_required,
        }
        for c in rows
    ]


@router.get("/", response=CasePage, summary="Cases in my scope, newest first (cursor pages)")
def list_cases(request: HttpRequest, filters: Query[CaseFilters]):
    f = filters.dict()
    cursor, limit = f.pop("cursor"), f.pop("limit")
    f["text"] = f.pop("q")
    page = case_rows_for(principal_of(request), cursor=cursor, limit=limit, **f)
    now = timezone.now()
    data = {"items": [_summary_row(r, now) for r in page.items], "next_cursor": page.next_cursor}
    # Rendered here rather than validated against CasePage (which still documents it): the
    # rows are built from typed columns, and validating 50 nested summaries cost more than the
    # query. The API tests and the schema fuzzing check the shape against the schema.
    return HttpResponse(
        _RENDERER.render(request, data, response_status=200),
        content_type=f"{_RENDERER.media_type}; charset={_RENDERER.charset}",
    )


# --- report and uploads (registered before "/{key}" so their paths win) ---------------------


@router.post(
    "/",
    response={200: CaseDetail, 201: CaseDetail},
    summary="Report a case (idempotent by client_id)",
)
def report_case(request: HttpRequest, payload: CaseReportIn):
    """201 with the new case; 200 with the first case when ``client_id`` was already used."""
    data = payload.dict()
    data["source"] = channels.api_report_source(request.user, data.get("source"))
    data["priority"] = channels.api_report_priority(request.user, data.get("priority"))
    out = services.case_report_outcome(actor=request.user, **data)
    if not out.created:
        # The first delivery's case, loaded bare by the idempotency check: read it as the
        # caller sees it.
        return Status(200, _detail(_reload(principal_of(request), out.case), principal_of(request)))
    # A case created just now is complete in memory (its category, grid, area and owner center
    # are the objects the service resolved; its log is the one row the service wrote; it has
    # attachments only when the report brought some): no re-read.
    return Status(
        201,
        _detail(
            out.case,
            principal_of(request),
            actions=[out.log],
            attachments=None if data.get("attachments") else [],
        ),
    )


@router.post(
    "/attachments",
    response={201: CaseAttachmentOut},
    summary="Upload a photo or audio clip for a report being composed",
)
def upload_unattached(request: HttpRequest, file: File[UploadedFile]):
    """The returned id goes into ``attachments`` of the report (or self-close) by the same user."""
    att = attachment_save(attachment_prepare(file, field="file"), uploaded_by=request.user)
    return Status(201, _attachment(att))


@router.get(
    "/whistle-board",
    response=list[WhistleBoardRow],
    summary="吹哨报到 board: open whistle calls on the cases in my scope, oldest deadline first",
)
def whistle_board(request: HttpRequest, center: int | None = None, limit: int = 200):
    from .whistles import open_calls_for

    p = principal_of(request)
    rows = open_calls_for(p, center=center)[: max(1, min(limit, 500))]
    now = timezone.now()
    return [
        {
            "case_id": c.case_id,
            "tracking_code": c.case.tracking_code,
            "category": c.case.category.name,
            "reason": c.whistle.reason,
            "center": c.whistle.center.name if c.whistle.center_id else None,
            "call": _call_out(c, p, now),
        }
        for c in rows
    ]


@router.get("/{key}", response=CaseDetail, summary="One case with its timeline (id or code)")
def get_case(request: HttpRequest, key: str):
    return _detail(case_get_for(principal_of(request), key), principal_of(request))


@router.post(
    "/{key}/reveal-phone",
    response=CasePhonesOut,
    summary="The reporter's full phone number (operators, handlers, assignees; logged)",
)
def reveal_phone(request: HttpRequest, key: str):
    """Every call writes a reveal row (who, which case, when, from where); 403 without the
    capacity to call back, 404 outside scope."""
    from civicgrid.console.services import reporter_phone_reveal
    from civicgrid.security.net import client_ip

    case = case_get_for(request.user, key)
    try:
        phones = reporter_phone_reveal(case=case, actor=request.user, ip=client_ip(request))
    except PermissionDenied:
        raise Forbidden(
            _("Only the center, the handling unit or the assigned worker may see the number."),
            code="permission_denied",
        ) from None
    return {
        "reporter_phone": phones.reporter_phone,
        "contact_name": phones.contact_name,
        "contact_phone": phones.contact_phone,
    }


@router.get(
    "/{key}/duplicates",
    response=list[CaseDuplicateOut],
    summary="Open cases of the same category within 100 m and 72 h",
)
def case_duplicates(request: HttpRequest, key: str):
    case = case_get_for(principal_of(request), key)
    rows = case_duplicates_of(case, principal_of(request))
    now = timezone.now()
    return [{"distance_m": round(d, 1), "case": _summary(c, now=now)} for c, d in rows]


@router.post(
    "/{key}/attachments",
    response={201: CaseAttachmentOut},
    summary="Upload a photo or audio clip to a case (then cite its id in an action)",
)
def upload_to_case(request: HttpRequest, key: str, file: File[UploadedFile]):
    case = case_get_for(principal_of(request), key)
    att = services.attachment_upload(case=case, actor=request.user, file=file)
    return Status(201, _attachment(att))


# --- actions ----------------------------------------------------------------------------------------


def _action_out(row: CaseAction) -> dict:
    return {
        "id": row.pk,
        "action": row.action,
        "role": row.role,
        "from_state": row.from_state,
        "to_state": row.to_state,
        "note": row.note,
        "created_at": row.created_at,
    }


def _make_endpoint(router: Router, workflow: Workflow, action: Action) -> None:
    schema = action_input_schema(action)
    fields = tuple(i.name for i in action.inputs)

    def endpoint(request, key, payload):
        case = case_get_for(principal_of(request), key)
        data = payload.dict()
        row = case_act(
            case=case,
            action=action.name,
            actor=request.user,
            role=data.get("role"),
            expected_version=data.get("version"),
            **{name: data[name] for name in fields},
        )
        return {
            "action": _action_out(row),
            "case": _detail(_reload(principal_of(request), case), principal_of(request)),
        }

    endpoint.__name__ = f"case_{action.name}"
    endpoint.__doc__ = (
        f"Run `{action.name}` on the case. 404 outside scope, 403 without the capacity, 409 "
        "when the state does not allow it or `version` is stale, 400/422 for bad input "
        "(field named)."
    )
    endpoint.__annotations__ = {"request": HttpRequest, "key": str, "payload": schema}
    router.post(
        f"/{{key}}/{action.slug}",
        response=CaseActionResult,
        summary=action.summary or str(action.label),
        operation_id=f"case_{action.name}",
    )(endpoint)


def mount_actions_for(router: Router, actions, workflow: Workflow = CASES) -> None:
    """One POST endpoint per generated action, at ``/{key}/<slug>``."""
    for action in actions:
        if action.endpoint == "generated" and not action.creation:
            _make_endpoint(router, workflow, action)


mount_actions_for(router, CASES.actions.values())


# --- 主办/协办 parts and 吹哨报到 calls (endpoints derived from their action tables) ----------------


def _dept(d) -> dict:
    return {"id": d.pk, "code": d.code, "name": d.name}


def _part_out(part, user) -> dict:
    from .cohandling import PARTS

    return {
        "id": part.pk,
        "department": _dept(part.department),
        "state": part.state,
        "state_label": str(part.get_state_display()),
        "version": part.version,
        "due_at": part.due_at,
        "signed_at": part.signed_at,
        "submitted_at": part.submitted_at,
        "result": part.result,
        "rework_count": part.rework_count,
        "allowed_actions": [
            a for a in PARTS.allowed(user, part) if PARTS.actions[a].endpoint == "generated"
        ],
    }


def _call_out(call, user, now=None) -> dict:
    from .models import CallState
    from .whistles import WHISTLE_CALLS

    now = now or timezone.now()
    return {
        "id": call.pk,
        "whistle_id": call.whistle_id,
        "department": _dept(call.department),
        "state": call.state,
        "state_label": str(call.get_state_display()),
        "version": call.version,
        "report_due": call.report_due,
        "reported_at": call.reported_at,
        "late": call.late,
        "overdue": call.state == CallState.CALLED and call.report_due <= now,
        "done_at": call.done_at,
        "supervised_at": call.supervised_at,
        "result": call.result,
        "allowed_actions": [
            a
            for a in WHISTLE_CALLS.allowed(user, call)
            if WHISTLE_CALLS.actions[a].endpoint == "generated"
        ],
    }


@router.get("/{key}/parts", response=CasePartsOut, summary="主办/协办: the lead and the parts")
def case_parts(request: HttpRequest, key: str):
    from .cohandling import parts_of

    p = principal_of(request)
    case = case_get_for(p, key)
    parts = parts_of(case)
    for part in parts:
        part.case = case
    return {
        "lead": _dept(case.department) if case.department_id else None,
        "parts": [_part_out(x, p) for x in parts],
    }


@router.get("/{key}/whistles", response=list[WhistleOut], summary="吹哨报到 on the case")
def case_whistles(request: HttpRequest, key: str):
    from .whistles import whistles_of

    p = principal_of(request)
    case = case_get_for(p, key)
    now = timezone.now()
    return [
        {
            "id": w.pk,
            "center": w.center.name if w.center_id else None,
            "blown_by": w.blown_by.display_name if w.blown_by_id else None,
            "role": w.role,
            "reason": w.reason,
            "report_due": w.report_due,
            "created_at": w.created_at,
            "calls": [_call_out(c, p, now) for c in w.calls.all()],
        }
        for w in whistles_of(case)
    ]


def _make_sub_endpoint(kind: str, action: Action) -> None:
    from .cohandling import part_act, part_get_for
    from .whistles import call_act, call_get_for

    base = CasePartActionIn if kind == "part" else WhistleCallActionIn
    schema = action_input_schema(action, base)
    fields = tuple(i.name for i in action.inputs)

    def endpoint(request, key, sub, payload):
        p = principal_of(request)
        case = case_get_for(p, key)
        data = payload.dict()
        inputs = {name: data[name] for name in fields}
        if kind == "part":
            obj = part_get_for(p, case, sub)
            row = part_act(
                part=obj,
                action=action.name,
                actor=request.user,
                expected_version=data.get("version"),
                **inputs,
            )
            return {"action": _action_out(row), "part": _part_out(obj, p)}
        obj = call_get_for(p, case, sub)
        row = call_act(
            call=obj,
            action=action.name,
            actor=request.user,
            expected_version=data.get("version"),
            **inputs,
        )
        return {"action": _action_out(row), "call": _call_out(obj, p)}

    name = f"case_{kind}_{action.name}"
    endpoint.__name__ = name
    endpoint.__doc__ = (
        f"Run `{action.name}` on the {kind}. 404 outside scope, 403 without the capacity, 409 "
        "when the state does not allow it or `version` is stale, 400/422 for bad input "
        "(field named)."
    )
    endpoint.__annotations__ = {
        "request": HttpRequest,
        "key": str,
        "sub": str,
        "payload": schema,
    }
    router.post(
        f"/{{key}}/{'parts' if kind == 'part' else 'whistle-calls'}/{{sub}}/{action.slug}",
        response=CasePartActionResult if kind == "part" else WhistleCallActionResult,
        summary=action.summary or str(action.label),
        operation_id=name,
    )(endpoint)


def _mount_sub_actions() -> None:
    from .cohandling import PARTS
    from .whistles import WHISTLE_CALLS

    for kind, wf in (("part", PARTS), ("call", WHISTLE_CALLS)):
        for action in wf.actions.values():
            if action.endpoint == "generated" and not action.creation:
                _make_sub_endpoint(kind, action)


_mount_sub_actions()
