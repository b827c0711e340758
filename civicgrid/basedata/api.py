"""Base-data REST API (mounted at /api/basedata/): persons and houses (list, detail, create,
update) and read-only lists of organisations, places, risk points and things.

Everything is scoped (out of scope answers 404); ID numbers and phones are always masked. An
unmasked value is only available in the console, through a logged reveal with a reason.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status

from civicgrid.core.errors import DomainError

from . import selectors, services
from .models import House, Organisation, Person
from .schemas import (
    CaseLinkIn,
    CaseLinkOut,
    CollectIn,
    CollectOut,
    FieldVisitOut,
    HouseIn,
    HouseOut,
    HousePatch,
    PersonIn,
    PersonOut,
    PersonPage,
    PersonPatch,
    RecordOut,
    TagOut,
    VisitDueOut,
    VisitIn,
    VisitOut,
)

router = Router()
PAGE = selectors.ROSTER_PAGE


def person_out(p: Person, tags) -> dict:
    return {
        "id": p.pk, "name": p.name, "id_type": p.id_type, "id_number": p.id_number_mask,
        "phone": p.phone_mask, "gender": p.gender, "birth_date": p.birth_date,
        "hukou_region": p.hukou_region, "category": p.category,
        "political_status": p.political_status, "house_id": p.house_id,
        "employer_id": p.employer_id, "grid": p.scope_code, "address": p.address,
        "confirmed_at": p.confirmed_at,
        "tags": [TagOut(kind=t.kind.code, name=t.kind.name, sensitive=t.sensitive, data=t.data,
                        next_visit_due=t.next_visit_due) for t in tags],
    }  # fmt: skip


class PersonFilters(Schema):
    area: str = ""
    q: str = ""
    id_number: str = ""
    address: str = ""
    tag: str = ""
    category: str = ""
    page: int = 1


@router.get("/persons", response=PersonPage, summary="Persons in my scope (masked), 50 a page")
def person_list(request: HttpRequest, filters: Query[PersonFilters]):
    f = filters.dict()
    page = max(1, f.pop("page"))
    qs = selectors.person_list_for(request.user, **{k: str(v)[:100] for k, v in f.items()})
    rows = list(qs[(page - 1) * PAGE : page * PAGE])
    tags = selectors.tags_for(request.user, rows)
    return {"count": qs.count(), "page": page, "results": [person_out(p, tags[p.pk]) for p in rows]}


@router.get("/persons/{pk}", response=PersonOut, summary="One person (masked)")
def person_detail(request: HttpRequest, pk: int):
    p = selectors.person_get_for(request.user, pk)
    return person_out(p, selectors.tags_for(request.user, [p])[p.pk])


def _refs(user, data: dict) -> dict:
    if data.get("house_id") is not None:
        data["house"] = selectors.record_get_for(user, "house", data.pop("house_id"))
    else:
        data.pop("house_id", None)
    if data.get("employer_id") is not None:
        data["employer"] = selectors.record_get_for(user, "organisation", data.pop("employer_id"))
    else:
        data.pop("employer_id", None)
    return data


@router.post(
    "/persons",
    response={201: PersonOut, 200: PersonOut},
    summary="Register a person, or update the one with this ID number",
)
def person_create(request: HttpRequest, payload: PersonIn):
    data = _refs(request.user, payload.dict())
    if data.get("lat") is None:
        data.pop("lat"), data.pop("lng"), data.pop("crs"), data.pop("address")
    p, created = services.person_upsert(actor=request.user, data=data)
    return Status(
        201 if created else 200, person_out(p, selectors.tags_for(request.user, [p])[p.pk])
    )


@router.patch("/persons/{pk}", response=PersonOut, summary="Change a person's fields")
def person_update(request: HttpRequest, pk: int, payload: PersonPatch):
    p = selectors.person_get_for(request.user, pk)
    data = _refs(request.user, payload.dict(exclude_unset=True))
    p = services.person_update(person=p, actor=request.user, data=data)
    return person_out(p, selectors.tags_for(request.user, [p])[p.pk])


def house_out(h: House) -> dict:
    return {"id": h.pk, "address": h.address, "building": h.building, "unit": h.unit,
            "room": h.room, "use": h.use, "grid": h.scope_code, "lat": h.lat, "lng": h.lng,
            "landlord_id": h.landlord_id}  # fmt: skip


@router.get("/houses", response=list[HouseOut], summary="Houses in my scope, 50 a page")
def house_list(request: HttpRequest, area: str = "", q: str = "", page: int = 1):
    page = max(1, page)
    qs = selectors.record_list_for(request.user, "house", area=area[:17], q=q[:50])
    return [house_out(h) for h in qs[(page - 1) * PAGE : page * PAGE]]


@router.get("/houses/{pk}", response=HouseOut)
def house_detail(request: HttpRequest, pk: int):
    return house_out(selectors.record_get_for(request.user, "house", pk))


@router.post("/houses", response={201: HouseOut}, summary="Register a house (located in a grid)")
def house_create(request: HttpRequest, payload: HouseIn):
    h = services.house_create(actor=request.user, **payload.dict())
    return Status(201, house_out(h))


@router.patch("/houses/{pk}", response=HouseOut)
def house_update(request: HttpRequest, pk: int, payload: HousePatch):
    h = selectors.record_get_for(request.user, "house", pk)
    return house_out(
        services.house_update(house=h, actor=request.user, **payload.dict(exclude_unset=True))
    )


def record_out(entity: str, o) -> dict:
    extra: dict = {}
    if isinstance(o, Organisation):
        extra = {"uscc": o.uscc, "staff_count": o.staff_count, "has_party_org": o.has_party_org}
    elif entity == "riskpoint":
        extra = {"level": o.level, "check_in_days": o.check_in_days}
    elif entity == "place":
        extra = {"check_in_days": o.check_in_days}
    elif entity == "thing":
        extra = {"state": o.state, "owner_department_id": o.owner_department_id}
    name = o.code if entity == "thing" else o.name
    return {"id": o.pk, "name": name, "kind": o.kind, "grid": o.scope_code, "address": o.address,
            "lat": o.lat, "lng": o.lng, "extra": extra}  # fmt: skip


@router.get(
    "/records/{entity}",
    response=list[RecordOut],
    summary="Organisations, places, risk points or things in my scope, 50 a page",
)
def record_list(request: HttpRequest, entity: str, area: str = "", q: str = "", page: int = 1):
    if entity not in selectors.MODELS or entity == "house":
        raise DomainError("not_found", "entity: unknown", field="entity", status=404)
    qs = selectors.record_list_for(request.user, entity, area=area[:17], q=q[:50])
    page = max(1, page)
    return [record_out(entity, o) for o in qs[(page - 1) * PAGE : page * PAGE]]


@router.get("/records/{entity}/{pk}", response=RecordOut)
def record_detail(request: HttpRequest, entity: str, pk: int):
    if entity not in selectors.MODELS or entity == "house":
        raise DomainError("not_found", "entity: unknown", field="entity", status=404)
    return record_out(entity, selectors.record_get_for(request.user, entity, pk))


@router.get(
    "/visits/due",
    response=list[VisitDueOut],
    summary="Tagged persons whose visit is due within N days or overdue (the worker's list)",
)
def visits_due(request: HttpRequest, within: int = 7, area: str = ""):
    from django.utils import timezone

    today = timezone.localdate()
    qs = selectors.visits_due_for(request.user, area=area[:17], within_days=max(0, min(within, 90)))
    return [
        {"tag_id": t.pk, "person_id": t.person_id, "name": t.person.name,
         "id_number": t.person.id_number_mask, "address": t.person.address, "kind": t.kind.code,
         "kind_name": t.kind.name, "next_visit_due": t.next_visit_due,
         "overdue": bool(t.next_visit_due and t.next_visit_due < today)}
        for t in qs[:200]
    ]  # fmt: skip


@router.post(
    "/visits",
    response={201: VisitOut, 200: VisitOut},
    summary="Record a visit (idempotent by client_id: a retry answers 200 with the first)",
)
def visit_create(request: HttpRequest, payload: VisitIn):
    from civicgrid.field.services import parse_uuid

    from .models import PersonTag

    user = request.user
    person = selectors.person_get_for(user, payload.person_id) if payload.person_id else None
    house = selectors.record_get_for(user, "house", payload.house_id) if payload.house_id else None
    tag = None
    if payload.tag_id:
        tag = PersonTag.objects.filter(selectors.tag_visible_q(user), pk=payload.tag_id).first()
        if tag is None:
            raise DomainError("not_found", "tag not found", status=404)
    v, created = services.visit_record(
        actor=user, client_id=parse_uuid(payload.client_id), person=person, house=house, tag=tag,
        at=payload.at, note=payload.note, findings=payload.findings, lat=payload.lat, lng=payload.lng,
    )  # fmt: skip
    out = {"id": v.pk, "client_id": str(v.client_id), "person_id": v.person_id,
           "house_id": v.house_id, "tag_id": v.tag_id, "at": v.at, "was_overdue": v.was_overdue}  # fmt: skip
    return Status(201 if created else 200, out)


# --- field work: one-form collection, visits with photo and findings, case links ---------------


@router.post(
    "/collect",
    response={201: CollectOut, 200: CollectOut},
    summary="House, household, persons and tags in one go (idempotent by client_id)",
)
def collect(request: HttpRequest, payload: CollectIn):
    """``house``: ``{"id"}`` of a house in scope, or ``{lat, lng, crs, address, building, unit,
    room, use}`` to register one (an address already on file is reused). ``persons``: each
    ``{id?, name, id_type, id_number, phone, category, political_status, hukou_region,
    relation, tags: [{kind, data}]}``; a person on file (same ID number) is updated, never
    doubled. A retry with the same ``client_id`` answers 200 with the first result."""
    from . import fieldwork

    result, created = fieldwork.collect_submit(
        actor=request.user,
        client_id=payload.client_id,
        house=payload.house,
        persons=payload.persons,
    )
    return Status(201 if created else 200, {**result, "created": created})


def _field_visit_out(v, created: bool) -> dict:
    return {
        "id": v.pk, "client_id": str(v.client_id), "person_id": v.person_id,
        "house_id": v.house_id, "tag_id": v.tag_id, "at": v.at, "was_overdue": v.was_overdue,
        "has_photo": bool(v.photo), "case_id": v.case_id,
        "tracking_code": v.case.tracking_code if v.case_id else "", "created": created,
    }  # fmt: skip


@router.post(
    "/visits/field",
    response={201: FieldVisitOut, 200: FieldVisitOut},
    summary="A visit from the phone (multipart: photo; findings may raise a case; once per "
    "client_id)",
)
def visit_field(request: HttpRequest):
    """Fields: client_id, tag_id or person_id or house_id, note, findings, case_category
    (raise a case with the findings), lat, lng, at; file ``photo``."""
    from civicgrid.field.services import client_time

    from . import fieldwork
    from .models import PersonTag

    user, data = request.user, request.POST

    def num(name: str) -> int | None:
        v = (data.get(name) or "").strip()
        if not v:
            return None
        if not v.isdigit():
            raise DomainError("invalid", f"{name}: a record number", field=name)
        return int(v)

    tag = None
    person = house = None
    if num("tag_id"):
        tag = (
            PersonTag.objects.filter(selectors.tag_visible_q(user), pk=num("tag_id"))
            .select_related("person")
            .first()
        )
        if tag is None:
            raise DomainError("not_found", "tag not found", status=404)
        person = selectors.person_get_for(user, tag.person_id)
    elif num("person_id"):
        person = selectors.person_get_for(user, num("person_id"))
    if num("house_id"):
        house = selectors.record_get_for(user, "house", num("house_id"))
    v, created = fieldwork.visit_submit(
        actor=user, client_id=data.get("client_id", ""), person=person, house=house, tag=tag,
        at=client_time(data.get("at"), "at") if data.get("at") else None,
        note=data.get("note", ""), findings=data.get("findings", ""),
        lat=data.get("lat") or None, lng=data.get("lng") or None,
        photo=request.FILES.get("photo"), case_category=data.get("case_category", ""),
    )  # fmt: skip
    return Status(201 if created else 200, _field_visit_out(v, created))


@router.get(
    "/cases/{case_id}/links",
    response=list[CaseLinkOut],
    summary="Base-data records a case names (those I may see; masked)",
)
def case_links(request: HttpRequest, case_id: int):
    from civicgrid.cases.selectors import case_get_for
    from civicgrid.people.access import principal_of

    from . import fieldwork

    principal = principal_of(request)
    case = case_get_for(principal, case_id)
    return [
        {"id": r["link"].pk, "case_id": case.pk, "tracking_code": case.tracking_code,
         "entity": r["link"].entity, "object_id": r["link"].object_id, "label": str(r["record"])}
        for r in fieldwork.links_for_case(principal, case)
    ]  # fmt: skip


@router.post(
    "/cases/{case_id}/links",
    response={201: CaseLinkOut, 200: CaseLinkOut},
    summary="Name a base-data record on a case (both must be in my scope)",
)
def case_link_create(request: HttpRequest, case_id: int, payload: CaseLinkIn):
    from civicgrid.cases.selectors import case_get_for
    from civicgrid.people.access import principal_of

    from . import fieldwork

    principal = principal_of(request)
    case = case_get_for(principal, case_id)
    link, created = fieldwork.case_link_add(
        case=case, entity=payload.entity, object_id=payload.object_id, actor=request.user
    )
    record = fieldwork.record_for(principal, link.entity, link.object_id)
    return Status(
        201 if created else 200,
        {"id": link.pk, "case_id": case.pk, "tracking_code": case.tracking_code,
         "entity": link.entity, "object_id": link.object_id, "label": str(record)},
    )  # fmt: skip
