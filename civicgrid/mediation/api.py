"""/api/mediation/: disputes in my scope, registration (idempotent by client_id), one POST per
action of the dispute workflow's table (schemas derived from its inputs), the roster."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.responses import Status
from pydantic import create_model

from civicgrid.cases.schemas import _field
from civicgrid.core.keyset import Sort, cursor_of, keyset_ids
from civicgrid.core.workflow import Action
from civicgrid.people.access import principal_of

from . import selectors, services
from .models import Dispute, DisputeAction
from .workflow import DISPUTES

router = Router()
SORT = Sort("recent", "recent", "registered_at", True)


class PartyIn(Schema):
    role: str = "applicant"
    name: str = Field(min_length=1, max_length=50)
    id_number: str = Field("", max_length=24)
    phone: str = Field("", max_length=20)
    organisation: str = Field("", max_length=100)


class DisputeRegisterIn(Schema):
    source: str = Field(description="screening, visit, letter or online")
    kind: str
    title: str = Field(min_length=1, max_length=200)
    facts: str = Field(min_length=1, max_length=8000)
    parties: list[PartyIn] = Field(min_length=1, max_length=20)
    grid: str | None = Field(None, description="grid code (required for a screening)")
    center: int | None = Field(None, description="center id (center sources; default: mine)")
    lat: float | None = None
    lng: float | None = None
    address: str = Field("", max_length=200)
    amount: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)
    risk: int = Field(1, ge=1, le=3)
    violence_flag: bool = False
    visitor_count: int = Field(1, ge=1, le=10000)
    client_id: str | None = Field(
        None, description="a UUID made by the device; a retry returns the first dispute"
    )


class DisputeOut(Schema):
    id: int
    number: str
    state: str
    version: int
    source: str
    kind: str
    title: str
    risk: int
    violence_flag: bool
    level: int
    center: str
    scope_code: str
    mediator: str | None
    due_at: dt.datetime | None
    overdue: bool
    registered_at: dt.datetime
    allowed_actions: list[str]


class DisputePage(Schema):
    items: list[DisputeOut]
    next_cursor: str | None


class PartyOut(Schema):
    role: str
    name: str
    id_number: str
    phone: str
    person_id: int | None


class LogOut(Schema):
    action: str
    role: str
    from_state: str
    to_state: str
    note: str
    created_at: dt.datetime


class DisputeDetail(DisputeOut):
    facts: str
    amount: Decimal | None
    parties: list[PartyOut]
    timeline: list[LogOut]


class DisputeActionResult(Schema):
    action: LogOut
    dispute: DisputeDetail


class DisputeActionIn(Schema):
    version: int = Field(ge=1, description="the dispute version the client last saw")
    role: str | None = Field(None, description="capacity to act in, when holding several")


class MediatorOut(Schema):
    id: int
    name: str
    kind: str
    body: str
    center: str
    specialties: list[str]
    available: bool
    availability: str


def _out(d: Dispute, p) -> dict[str, Any]:
    return {
        "id": d.pk,
        "number": d.number,
        "state": d.state,
        "version": d.version,
        "source": d.source,
        "kind": d.kind,
        "title": d.title,
        "risk": d.risk,
        "violence_flag": d.violence_flag,
        "level": d.level,
        "center": d.center.name,
        "scope_code": d.scope_code,
        "mediator": d.mediator.name if d.mediator_id else None,
        "due_at": d.due_at,
        "overdue": d.overdue,
        "registered_at": d.registered_at,
        "allowed_actions": DISPUTES.allowed(p.user, d, p.dispute_capacities(d)),
    }


def _log(r: DisputeAction) -> dict[str, Any]:
    return {
        "action": r.action,
        "role": r.role,
        "from_state": r.from_state,
        "to_state": r.to_state,
        "note": r.note,
        "created_at": r.created_at,
    }


def _detail(d: Dispute, p) -> dict[str, Any]:
    return {
        **_out(d, p),
        "facts": d.facts,
        "amount": d.amount,
        "parties": [
            {
                "role": x.role,
                "name": x.name,
                "id_number": x.id_number_mask,
                "phone": x.phone_mask,
                "person_id": x.person_id,
            }
            for x in d.parties.all()
        ],
        "timeline": [_log(r) for r in d.actions.order_by("created_at", "id")],
    }


class DisputeFilters(Schema):
    state: str = ""
    level: int | None = None
    source: str = ""
    kind: str = ""
    q: str = Field("", max_length=50)
    mine: bool = False
    overdue: bool = False
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=200)


@router.get("/", response=DisputePage, summary="Disputes in my scope, newest first (cursor pages)")
def list_disputes(request: HttpRequest, filters: Query[DisputeFilters]):
    p = principal_of(request)
    f = filters.dict()
    cursor, limit = f.pop("cursor"), f.pop("limit")
    f["level"] = f["level"] or ""
    qs = selectors.dispute_list_for(p, **f)
    ids = keyset_ids(qs, SORT, after=cursor, limit=limit)
    rows = list(
        Dispute.objects.filter(pk__in=ids)
        .select_related("center", "mediator")
        .order_by("-registered_at", "-pk")
    )
    nxt = cursor_of(SORT, rows[-1]) if len(rows) == limit else None
    return {"items": [_out(d, p) for d in rows], "next_cursor": nxt}


@router.post(
    "/",
    response={200: DisputeDetail, 201: DisputeDetail},
    summary="登记 Register a dispute (idempotent by client_id)",
)
def register_dispute(request: HttpRequest, payload: DisputeRegisterIn):
    data = payload.dict()
    data["parties"] = [dict(x) for x in data["parties"]]
    known = (
        bool(data.get("client_id"))
        and Dispute.objects.filter(client_id=_uuid_or_none(data["client_id"])).exists()
    )
    d = services.dispute_register(actor=request.user, **data)
    p = principal_of(request)
    d = selectors.dispute_get_for(p, d.pk)
    return Status(200 if known else 201, _detail(d, p))


def _uuid_or_none(value):
    import uuid

    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


@router.get("/mediators", response=list[MediatorOut], summary="点员台: the mediator roster")
def list_mediators(
    request: HttpRequest, kind: str = "", specialty: str = "", available: bool = False
):
    rows = selectors.roster_for(
        principal_of(request), kind=kind, specialty=specialty, available=available
    )[:500]
    return [
        {
            "id": m.pk,
            "name": m.name,
            "kind": m.kind,
            "body": m.body.name,
            "center": m.body.center.name,
            "specialties": list(m.specialties or []),
            "available": m.available,
            "availability": m.availability,
        }
        for m in rows
    ]


class FieldVisitIn(Schema):
    client_id: str = Field(min_length=8, max_length=64, description="a UUID made by the device")
    note: str = Field(min_length=1, max_length=4000)
    fulfilled: bool = False
    satisfied: bool = False
    relapse: bool = False


@router.post(
    "/{pk}/field-visit",
    response={200: DisputeDetail, 201: DisputeDetail},
    summary="回访 from the field app's outbox (idempotent by client_id; a relapse reopens)",
)
def field_visit(request: HttpRequest, pk: int, payload: FieldVisitIn):
    """201 when recorded; 200 when this client_id was already recorded (a retried upload)."""
    p = principal_of(request)
    d = selectors.dispute_get_for(p, pk)
    row = services.dispute_visit(dispute=d, actor=request.user, **payload.dict())
    return Status(201 if row else 200, _detail(selectors.dispute_get_for(p, pk), p))


@router.get("/{pk}", response=DisputeDetail, summary="One dispute with parties and timeline")
def get_dispute(request: HttpRequest, pk: int):
    p = principal_of(request)
    return _detail(selectors.dispute_get_for(p, pk), p)


_SCHEMAS: dict[str, type[Schema]] = {}


def action_schema(action: Action) -> type[Schema]:
    """The ninja input schema of one dispute action (built from its inputs)."""
    name = action.schema or "Dispute" + "".join(x.title() for x in action.name.split("_")) + "In"
    if name not in _SCHEMAS:
        fields = {i.name: _field(i) for i in action.inputs}
        _SCHEMAS[name] = create_model(name, __base__=DisputeActionIn, __module__=__name__, **fields)
    return _SCHEMAS[name]


def _mount(action: Action) -> None:
    schema = action_schema(action)
    names = tuple(i.name for i in action.inputs)

    def endpoint(request, pk, payload):
        p = principal_of(request)
        d = selectors.dispute_get_for(p, pk)
        data = payload.dict()
        row = services.dispute_act(
            dispute=d,
            action=action.name,
            actor=request.user,
            role=data.get("role"),
            expected_version=data.get("version"),
            **{n: data[n] for n in names},
        )
        return {"action": _log(row), "dispute": _detail(selectors.dispute_get_for(p, pk), p)}

    endpoint.__name__ = f"dispute_{action.name}"
    endpoint.__doc__ = (
        f"Run `{action.name}` on the dispute. 404 outside scope, 403 without the capacity, 409 "
        "when the state does not allow it or `version` is stale, 400/422 for bad input."
    )
    endpoint.__annotations__ = {"request": HttpRequest, "pk": int, "payload": schema}
    router.post(
        f"/{{pk}}/{action.slug}",
        response=DisputeActionResult,
        summary=action.summary or str(action.label),
        operation_id=f"dispute_{action.name}",
    )(endpoint)


for _a in DISPUTES.ordered():
    if _a.endpoint == "generated":
        _mount(_a)
