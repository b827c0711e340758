"""Field work on base data: the one-form collection, visits with photo and findings, case links.

- ``collect_submit``: a house (found or registered), its household, persons and their tags in
  one transaction, once per client id (the phone's outbox may send it twice: the second call
  answers with the first result and writes nothing).
- ``visit_submit``: a 走访记录 with an optional photo (cleaned like every upload, through
  ``cases.attachments``) and findings; findings with a category raise a case through the case
  engine's creation (``cases.services.case_report``, idempotent by a client id derived from the
  visit's), and the case is linked to the person and house visited.
- ``case_link_add`` / ``case_link_remove``: a case names the records it is about; both sides
  must be visible to the actor.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.cases import services as case_services
from civicgrid.cases.attachments import attachment_prepare
from civicgrid.cases.models import Case, Source
from civicgrid.core.errors import DomainError, NotFound
from civicgrid.field.services import parse_uuid
from civicgrid.people.access import Principal

from . import selectors, services
from .models import (
    CaseLink,
    Collection,
    House,
    Household,
    HouseholdMember,
    Person,
    PersonTag,
    TagKind,
    Visit,
)

MAX_PERSONS = 20
HOUSE_KEYS = {"id", "lat", "lng", "crs", "address", "building", "unit", "room", "use"}
PERSON_KEYS = {
    "id",
    "name",
    "id_type",
    "id_number",
    "phone",
    "gender",
    "birth_date",
    "hukou_region",
    "category",
    "political_status",
    "relation",
    "tags",
}


def _prefixed(exc: DomainError, prefix: str) -> DomainError:
    field = f"{prefix}.{exc.field}" if exc.field else prefix
    message = exc.message if exc.message.startswith(prefix) else f"{prefix}.{exc.message}"
    return DomainError(
        exc.code,
        message,
        field=field,
        details={k: v for k, v in exc.details.items() if k != "field"},
        status=exc.status,
    )


# --- collection -------------------------------------------------------------------------------


def _house(actor, principal: Principal, data: dict[str, Any]) -> tuple[House, bool]:
    unknown = set(data) - HOUSE_KEYS
    if unknown:
        raise services._err("unknown_field", f"house.{sorted(unknown)[0]}", _("not a field"))
    if data.get("id"):
        house = selectors.record_get_for(principal, "house", data["id"])
        changes = {k: data[k] for k in ("use",) if data.get(k) and data[k] != house.use}
        if changes:
            services.house_update(house=house, actor=actor, **changes)
        else:  # seen and checked during the collection
            services._check_write(actor, house.scope_code)
            House.objects.filter(pk=house.pk).update(confirmed_at=timezone.now())
        return house, False
    fields = {k: v for k, v in data.items() if k != "id"}
    try:
        return services.house_create(actor=actor, **fields), True
    except DomainError as exc:
        if exc.code == "duplicate" and exc.details.get("house"):
            # The room is on file (registered by a colleague meanwhile): collect into it.
            return selectors.record_get_for(principal, "house", exc.details["house"]), False
        raise
    except TypeError:
        raise services._err("required", "house", _("a house id or its location")) from None


def _tags(actor, person: Person, tags: Any, prefix: str) -> list[str]:
    if tags in (None, ""):
        return []
    if not isinstance(tags, list):
        raise services._err("invalid", prefix, _("a list of tags"))
    codes = [str((t or {}).get("kind", "")) for t in tags if isinstance(t, dict)]
    kinds = {k.code: k for k in TagKind.objects.filter(code__in=codes)}
    out = []
    for i, t in enumerate(tags):
        if not isinstance(t, dict):
            raise services._err("invalid", f"{prefix}[{i}]", _("a tag"))
        kind = kinds.get(str(t.get("kind", "")))
        if kind is None:
            raise services._err("unknown_tag", f"{prefix}[{i}].kind", _("unknown tag kind"))
        try:
            services.tag_add(person=person, kind=kind, data=t.get("data") or {}, actor=actor)
        except DomainError as exc:
            raise _prefixed(exc, f"{prefix}[{i}]") from None
        out.append(kind.code)
    return out


def _person(actor, principal: Principal, house: House, data: dict[str, Any]) -> tuple[Person, bool]:
    unknown = set(data) - PERSON_KEYS
    if unknown:
        raise services._err("unknown_field", sorted(unknown)[0], _("not a field of a person"))
    # Only what was typed in: an empty phone field leaves the phone on file alone.
    fields = {
        k: v for k, v in data.items() if k not in ("id", "relation", "tags") and v not in (None, "")
    }
    fields["house"] = house
    if data.get("id"):
        person = selectors.person_get_for(principal, data["id"])
        if "id_number" not in fields:
            fields.pop("id_type", None)
        return services.person_update(person=person, actor=actor, data=fields), False
    return services.person_upsert(actor=actor, data=fields)


def _household(actor, house: House, members: list[tuple[Person, str]]) -> Household | None:
    if not members:
        return None
    hh = Household.objects.filter(house=house).order_by("pk").first()
    heads = [p for p, r in members if r == HouseholdMember.Relation.HEAD]
    if len(heads) > 1:
        raise services._err("invalid", "persons", _("a household has one head"))
    if hh is None:
        head = heads[0] if heads else None
        if head is None:
            raise services._err(
                "required", "persons", _("name the head of the household (relation: head)")
            )
        current = HouseholdMember.objects.filter(person=head).select_related("household").first()
        if current is not None and current.household.house_id != house.pk:
            current.delete()  # moved house: the person leaves the old household
        hh = (
            current.household
            if current is not None and current.household.house_id == house.pk
            else services.household_create(house=house, head=head, actor=actor)
        )
    for person, relation in members:
        if relation == HouseholdMember.Relation.HEAD:
            if hh.head_id != person.pk:
                raise services._err("invalid", "persons", _("this household already has a head"))
            continue
        current = HouseholdMember.objects.filter(person=person).select_related("household").first()
        if current is not None and current.household_id != hh.pk:
            if current.relation == HouseholdMember.Relation.HEAD:
                raise services._err(
                    "invalid",
                    "persons",
                    _("%(n)s heads another household") % {"n": person.name},
                )
            current.delete()
        services.household_add_member(
            household=hh, person=person, relation=relation or "other", actor=actor
        )
    return hh


def collect_submit(
    *, actor, client_id: Any, house: dict[str, Any], persons: list[dict[str, Any]]
) -> tuple[dict[str, Any], bool]:
    """House, household, persons and tags in one go; once per ``client_id``.

    Returns (result, created). ``result`` lists the house id and each person's id and whether
    they were new; a repeated client id returns the stored result of the first call.
    """
    cid = parse_uuid(client_id)
    principal = Principal.of(actor)
    done = Collection.objects.filter(client_id=cid).first()
    if done is not None:
        if done.worker_id != actor.pk:
            raise services._err(
                "duplicate", "client_id", _("this client id was used by someone else")
            )
        return done.result, False
    if not isinstance(house, dict):
        raise services._err("required", "house", _("a house id or its location"))
    if not isinstance(persons, list) or len(persons) > MAX_PERSONS:
        raise services._err(
            "invalid", "persons", _("a list of at most %(n)d persons") % {"n": MAX_PERSONS}
        )
    try:
        with transaction.atomic():
            try:
                h, house_new = _house(actor, principal, dict(house))
            except DomainError as exc:
                raise _prefixed(exc, "house") from None
            rows, members = [], []
            for i, data in enumerate(persons):
                prefix = f"persons[{i}]"
                if not isinstance(data, dict):
                    raise services._err("invalid", prefix, _("a person"))
                try:
                    p, new = _person(actor, principal, h, dict(data))
                    relation = str(data.get("relation") or "").strip()
                    if relation:
                        relation = services._choice(
                            relation, HouseholdMember.Relation.choices, "relation"
                        )
                except DomainError as exc:
                    raise _prefixed(exc, prefix) from None
                tags = _tags(actor, p, data.get("tags"), f"{prefix}.tags")
                if relation:
                    members.append((p, relation))
                rows.append({"id": p.pk, "name": p.name, "created": new, "tags": tags})
            hh = _household(actor, h, members)
            result = {
                "house_id": h.pk,
                "house": str(h),
                "house_created": house_new,
                "household_id": hh.pk if hh else None,
                "persons": rows,
            }
            with transaction.atomic():
                Collection.objects.create(
                    client_id=cid, worker=actor, house=h, result=result, scope_code=h.scope_code
                )
    except IntegrityError:
        done = Collection.objects.filter(client_id=cid).first()
        if done is None:
            raise
        return done.result, False
    return result, True


# --- visits -----------------------------------------------------------------------------------


def visit_submit(
    *,
    actor,
    client_id: Any,
    person: Person | None = None,
    house: House | None = None,
    tag: PersonTag | None = None,
    at: dt.datetime | None = None,
    note: str = "",
    findings: str = "",
    lat: Any = None,
    lng: Any = None,
    photo=None,
    case_category: str = "",
) -> tuple[Visit, bool]:
    """A visit from the phone (once per client id), with its photo and, when findings carry
    a category, a case raised through the case engine and linked to the person and house."""
    cid = parse_uuid(client_id)
    done = Visit.objects.filter(client_id=cid).first()
    if done is not None:
        if done.worker_id != actor.pk:
            raise services._err(
                "duplicate", "client_id", _("this client id was used by someone else")
            )
        return done, False
    case_category = str(case_category or "").strip()
    if case_category and not str(findings or "").strip():
        raise services._err("required", "findings", _("describe what was found"))
    prepared = attachment_prepare(photo, field="photo") if photo else None
    if prepared is not None and prepared.kind != "image":
        raise services._err("invalid_file", "photo", _("a photo is expected"))
    with transaction.atomic():
        file = ContentFile(prepared.content, name=f"visit{prepared.ext}") if prepared else None
        visit, created = services.visit_record(
            actor=actor,
            client_id=cid,
            person=person,
            house=house,
            tag=tag,
            at=at,
            note=note,
            findings=findings,
            lat=lat,
            lng=lng,
            photo=file,
        )
        if created and case_category:
            record = person or house
            case = case_services.case_report(
                actor=actor,
                category=case_category,
                description=str(findings).strip(),
                lat=record.lat,
                lng=record.lng,
                source=Source.GRID_WORKER,
                address=record.address,
                client_id=f"visit-{cid}",
                attachments=[prepared.content] if prepared else [],
            )
            Visit.objects.filter(pk=visit.pk).update(case=case)
            visit.case = case
            if person is not None:
                _link(case, CaseLink.Entity.PERSON, person, actor)
            h = house or (person.house if person is not None and person.house_id else None)
            if h is not None:
                _link(case, CaseLink.Entity.HOUSE, h, actor)
    return visit, created


# --- case links -------------------------------------------------------------------------------

ENTITY_SELECTOR = {
    CaseLink.Entity.PERSON: "person",
    CaseLink.Entity.HOUSE: "house",
    CaseLink.Entity.PLACE: "place",
    CaseLink.Entity.RISKPOINT: "riskpoint",
    CaseLink.Entity.ORGANISATION: "organisation",
    CaseLink.Entity.THING: "thing",
}


def _link(case: Case, entity: str, record, actor) -> CaseLink:
    link, _created = CaseLink.objects.get_or_create(
        case=case,
        entity=entity,
        object_id=record.pk,
        defaults={
            "scope_code": record.scope_code,
            "created_by": actor if getattr(actor, "pk", None) else None,
        },
    )
    return link


def record_for(principal: Principal, entity: str, pk: Any):
    """The record ``entity``/``pk`` if the principal may see it, else NotFound."""
    if entity not in ENTITY_SELECTOR:
        raise services._err("invalid_choice", "entity", _("unknown record kind"))
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise services._err("invalid", "object_id", _("a record number")) from None
    if entity == CaseLink.Entity.PERSON:
        return selectors.person_get_for(principal, pk)
    return selectors.record_get_for(principal, ENTITY_SELECTOR[entity], pk)


def case_link_add(*, case: Case, entity: str, object_id: Any, actor) -> tuple[CaseLink, bool]:
    """Name a record on a case; the actor must see both (else NotFound)."""
    principal = Principal.of(actor)
    if not principal.can_view(case):
        raise NotFound("case")
    record = record_for(principal, entity, object_id)
    with transaction.atomic():
        existing = CaseLink.objects.filter(case=case, entity=entity, object_id=record.pk).first()
        if existing is not None:
            return existing, False
        link = _link(case, entity, record, actor)
        services._log(entity, record, actor, "case_link", {"case_id": [None, case.pk]})
    return link, True


def case_link_remove(*, link: CaseLink, actor) -> None:
    principal = Principal.of(actor)
    if not principal.can_view(link.case):
        raise NotFound("case")
    record = record_for(principal, link.entity, link.object_id)
    with transaction.atomic():
        services._log(link.entity, record, actor, "case_unlink", {"case_id": [link.case_id, None]})
        link.delete()


def links_for_case(principal: Principal, case: Case) -> list[dict[str, Any]]:
    """The records named on ``case`` that the principal may see (masked), by kind."""
    links = list(CaseLink.objects.filter(case=case).order_by("entity", "object_id"))
    out = []
    by_entity: dict[str, list[int]] = {}
    for link in links:
        by_entity.setdefault(link.entity, []).append(link.object_id)
    found: dict[tuple[str, int], Any] = {}
    for entity, ids in by_entity.items():
        if entity == CaseLink.Entity.PERSON:
            qs: QuerySet = selectors.person_list_for(principal).filter(pk__in=ids)
        else:
            qs = selectors.record_list_for(principal, ENTITY_SELECTOR[entity]).filter(pk__in=ids)
        for obj in qs:
            found[(entity, obj.pk)] = obj
    for link in links:
        obj = found.get((link.entity, link.object_id))
        if obj is not None:
            out.append({"link": link, "record": obj, "entity_label": link.get_entity_display()})
    return out


def cases_for_record(principal: Principal, entity: str, pk: int) -> QuerySet[Case]:
    """Cases naming this record that the principal may see, newest first."""
    return (
        Case.objects.filter(principal.case_visible_q())
        .filter(basedata_links__entity=entity, basedata_links__object_id=pk)
        .select_related("category")
        .order_by("-reported_at")
        .distinct()
    )
