"""Every write to base data. Services are ``<entity>_<verb>(*, ..., actor)``.

Each one validates first (a ``DomainError`` naming the field, nothing changed), locates the
record in a grid, checks the actor may write there, saves inside ``transaction.atomic()`` and
appends a ``ChangeLog`` row (PII appears masked in it).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.core.errors import DomainError, Forbidden, NotFound
from civicgrid.people.models import Role
from civicgrid.people.scoping import in_scope
from civicgrid.territory import spatial
from civicgrid.territory.models import Area, Grid

from . import crypto
from .models import (
    ChangeLog,
    House,
    Household,
    HouseholdMember,
    Organisation,
    Person,
    PersonTag,
    Place,
    RegionCode,
    RevealLog,
    RiskPoint,
    TagKind,
    Thing,
    Visit,
    VisitRule,
)
from .validators import IdNumberError, check_phone, check_uscc, parse_resident_id

WRITE_ROLES = (Role.GRID_WORKER, Role.GRID_CHIEF, Role.OPERATOR, Role.ADMIN)


def _err(code: str, field: str, message: str) -> DomainError:
    return DomainError(code, f"{field}: {message}", field=field)


# --- location, scope, history -----------------------------------------------------------------


def locate_grid(lat: Any, lng: Any, *, crs: str = "wgs84") -> tuple[float, float, Grid]:
    """The WGS-84 point and the grid containing it; outside every grid is an error."""
    try:
        lat, lng = float(lat), float(lng)
    except (TypeError, ValueError):
        raise _err("invalid", "lat", _("a point (lat, lng) is required")) from None
    res = spatial.locate(lat, lng, crs)
    if not res.found:
        near = ""
        if res.nearest_grid_code:
            near = _(" (nearest grid %(code)s, %(m)d m away)") % {
                "code": res.nearest_grid_code,
                "m": res.distance_m or 0,
            }
        raise _err("outside_grids", "location", _("the point lies outside every grid") + near)
    return res.lat, res.lng, Grid.objects.get(pk=res.grid_id)


def _check_write(actor, code: str) -> None:
    if actor is None or not in_scope(actor, code, roles=WRITE_ROLES):
        raise Forbidden(
            _("You may not write base data in grid %(g)s.") % {"g": code},
            code="out_of_scope",
            field="location",
        )


def _place(obj, actor, *, lat, lng, crs, address) -> None:
    la, ln, grid = locate_grid(lat, lng, crs=crs)
    _check_write(actor, grid.code)
    obj.lat, obj.lng, obj.grid, obj.scope_code = la, ln, grid, grid.code
    if address is not None:
        obj.address = address.strip()[:200]


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if hasattr(value, "pk"):
        return value.pk
    return value if value is None or isinstance(value, bool | int | float | str) else str(value)


def _snapshot(obj, fields: list[str]) -> dict[str, Any]:
    return {f: _plain(getattr(obj, f if not f.endswith("_id") else f)) for f in fields}


def _log(entity: str, obj, actor, action: str, changes: dict) -> None:
    ChangeLog.objects.create(
        entity=entity,
        object_id=obj.pk,
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        changes=changes,
        scope_code=getattr(obj, "scope_code", ""),
    )


def _diff(before: dict, after: dict) -> dict:
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


def _choice(value: Any, choices, field: str, default: str | None = None) -> str:
    v = (value or "").strip() if isinstance(value, str) else value
    if v in (None, ""):
        if default is not None:
            return default
        raise _err("required", field, _("this field is required"))
    values = {c[0] for c in choices}
    labels = {str(c[1]): c[0] for c in choices}
    if v in values:
        return v
    if str(v) in labels:
        return labels[str(v)]
    raise _err("invalid_choice", field, _("unknown value %(v)s") % {"v": v})


def _text(value: Any, field: str, max_len: int, *, required: bool = False) -> str:
    v = str(value or "").strip()
    if required and not v:
        raise _err("required", field, _("this field is required"))
    if len(v) > max_len:
        raise _err("too_long", field, _("at most %(n)d characters") % {"n": max_len})
    return v


# --- houses -----------------------------------------------------------------------------------

HOUSE_FIELDS = [
    "address",
    "building",
    "unit",
    "room",
    "use",
    "landlord_id",
    "grid_id",
    "lat",
    "lng",
]


def house_create(
    *,
    actor,
    lat: Any,
    lng: Any,
    address: str,
    building: str,
    room: str,
    unit: str = "",
    use: str = House.Use.OWN,
    landlord: Person | None = None,
    crs: str = "wgs84",
) -> House:
    house = House(
        building=_text(building, "building", 40, required=True),
        unit=_text(unit, "unit", 20),
        room=_text(room, "room", 20, required=True),
        use=_choice(use, House.Use.choices, "use", House.Use.OWN),
        landlord=landlord,
        confirmed_at=timezone.now(),
    )
    _place(
        house,
        actor,
        lat=lat,
        lng=lng,
        crs=crs,
        address=_text(address, "address", 200, required=True),
    )
    if house.use != House.Use.RENTED and landlord is not None:
        raise _err("invalid", "landlord", _("only a rented house has a landlord"))
    with transaction.atomic():
        existing = House.objects.filter(
            grid=house.grid,
            address=house.address,
            building=house.building,
            unit=house.unit,
            room=house.room,
        ).first()
        if existing:
            raise DomainError(
                "duplicate",
                _("room: this room is already registered (house %(pk)s)") % {"pk": existing.pk},
                field="room",
                details={"house": existing.pk},
                status=409,
            )
        house.save()
        _log("house", house, actor, "create", _snapshot(house, HOUSE_FIELDS))
    return house


def house_update(*, house: House, actor, **changes: Any) -> House:
    _check_write(actor, house.scope_code)
    before = _snapshot(house, HOUSE_FIELDS)
    if "lat" in changes or "lng" in changes:
        _place(
            house,
            actor,
            lat=changes.pop("lat", house.lat),
            lng=changes.pop("lng", house.lng),
            crs=changes.pop("crs", "wgs84"),
            address=changes.pop("address", None),
        )
    for f, n in (("address", 200), ("building", 40), ("unit", 20), ("room", 20)):
        if f in changes:
            setattr(house, f, _text(changes.pop(f), f, n, required=f != "unit"))
    if "use" in changes:
        house.use = _choice(changes.pop("use"), House.Use.choices, "use")
    if "landlord" in changes:
        house.landlord = changes.pop("landlord")
    if changes:
        raise _err("unknown_field", next(iter(changes)), _("not a field of a house"))
    if house.use != House.Use.RENTED and house.landlord_id:
        raise _err("invalid", "landlord", _("only a rented house has a landlord"))
    with transaction.atomic():
        house.confirmed_at = timezone.now()
        house.save()
        diff = _diff(before, _snapshot(house, HOUSE_FIELDS))
        if diff:
            _log("house", house, actor, "update", diff)
    return house


def house_set_tenants(*, house: House, tenants: list[Person], actor) -> House:
    _check_write(actor, house.scope_code)
    if tenants and house.use != House.Use.RENTED:
        raise _err("invalid", "tenants", _("only a rented house has tenants"))
    with transaction.atomic():
        before = sorted(house.tenants.values_list("pk", flat=True))
        house.tenants.set(tenants)
        after = sorted(p.pk for p in tenants)
        if before != after:
            _log("house", house, actor, "update", {"tenants": [before, after]})
    return house


# --- persons ----------------------------------------------------------------------------------

PERSON_FIELDS = [
    "name",
    "id_type",
    "id_number_mask",
    "phone_mask",
    "gender",
    "birth_date",
    "hukou_region",
    "house_id",
    "category",
    "political_status",
    "employer_id",
    "grid_id",
]


def check_region(code: Any, field: str = "hukou_region") -> str:
    """A 6-digit region code known to the region table or to the territory."""
    v = str(code or "").strip()
    if not v:
        return ""
    if len(v) != 6 or not v.isdigit():
        raise _err("invalid", field, _("a region code has 6 digits"))
    # The table ships the provinces; a province whose finer codes were loaded (basedata_regions)
    # is checked exactly, one without them by its province part only.
    if (
        RegionCode.objects.filter(code=v).exists()
        or Area.objects.filter(code__startswith=v).exists()
        or (
            RegionCode.objects.filter(code=v[:2] + "0000").exists()
            and not RegionCode.objects.filter(code__startswith=v[:2])
            .exclude(code=v[:2] + "0000")
            .exists()
        )
    ):
        return v
    raise _err("unknown_region", field, _("unknown region code %(c)s") % {"c": v})


def _clean_id(
    id_type: str, id_number: Any, *, field: str = "id_number"
) -> tuple[str, dt.date | None, str]:
    raw = str(id_number or "").strip().upper()
    if not raw:
        raise _err("required", field, _("this field is required"))
    if id_type == Person.IdType.RESIDENT:
        try:
            return parse_resident_id(raw, today=timezone.localdate())
        except IdNumberError as exc:
            code = {
                "checksum": "bad_checksum",
                "birth_date": "impossible_birth_date",
                "region": "unknown_region",
            }.get(exc.code, "invalid")
            raise _err(code, field, _(str(exc))) from None
    v = crypto.normalise(raw)
    if not (5 <= len(v) <= 20) or not v.isalnum():
        raise _err("invalid", field, _("5 to 20 letters and digits"))
    return v, None, ""


def id_index(id_number: str) -> str:
    return crypto.blind_index(id_number, context=Person.ID_CONTEXT)


def phone_index(phone: str) -> str:
    return crypto.blind_index(phone, context=Person.PHONE_CONTEXT)


def person_find(id_number: str) -> Person | None:
    """The person with this ID number (any type), through the blind index; not scoped."""
    return Person.objects.filter(id_number_bidx=id_index(id_number)).first()


def _set_id(person: Person, number: str) -> None:
    person.id_number_enc = crypto.encrypt(number, context=Person.ID_CONTEXT)
    person.id_number_bidx = id_index(number)
    person.id_number_mask = crypto.mask_id(number)


def _set_phone(person: Person, phone: Any) -> None:
    raw = str(phone or "").strip()
    if not raw:
        person.phone_enc = person.phone_bidx = person.phone_mask = ""
        return
    try:
        v = check_phone(raw)
    except ValueError as exc:
        raise _err("invalid", "phone", _(str(exc))) from None
    person.phone_enc = crypto.encrypt(v, context=Person.PHONE_CONTEXT)
    person.phone_bidx = phone_index(v)
    person.phone_mask = crypto.mask_phone(v)


def _apply_person(person: Person, data: dict[str, Any], actor) -> None:
    if "name" in data:
        person.name = _text(data.pop("name"), "name", 50, required=True)
    if "id_type" in data or "id_number" in data:
        id_type = _choice(
            data.pop("id_type", person.id_type),
            Person.IdType.choices,
            "id_type",
            Person.IdType.RESIDENT,
        )
        number, birth, gender = _clean_id(
            id_type, data.pop("id_number", None) or (person.reveal_id_number() if person.pk else "")
        )
        person.id_type = id_type
        _set_id(person, number)
        if birth:
            person.birth_date, person.gender = birth, gender
    if "phone" in data:
        _set_phone(person, data.pop("phone"))
    if "gender" in data:
        g = data.pop("gender")
        if g and person.id_type != Person.IdType.RESIDENT:
            person.gender = _choice(g, Person.Gender.choices, "gender")
    if "birth_date" in data:
        b = data.pop("birth_date")
        if b and person.id_type != Person.IdType.RESIDENT:
            if isinstance(b, str):
                try:
                    b = dt.date.fromisoformat(b)
                except ValueError:
                    raise _err("invalid", "birth_date", _("a date YYYY-MM-DD")) from None
            if b > timezone.localdate():
                raise _err("impossible_birth_date", "birth_date", _("in the future"))
            person.birth_date = b
    if "hukou_region" in data:
        person.hukou_region = check_region(data.pop("hukou_region"))
    if "category" in data:
        person.category = _choice(
            data.pop("category"), Person.Category.choices, "category", Person.Category.REGISTERED
        )
    if "political_status" in data:
        person.political_status = _choice(
            data.pop("political_status"),
            Person.Political.choices,
            "political_status",
            Person.Political.MASSES,
        )
    if "employer" in data:
        person.employer = data.pop("employer")
    if person.category == Person.Category.OVERSEAS and person.id_type == Person.IdType.RESIDENT:
        raise _err("invalid", "id_type", _("an overseas person has a passport or a permit"))
    house = data.pop("house", person.house if person.house_id else None)
    lat, lng, crs = data.pop("lat", None), data.pop("lng", None), data.pop("crs", "wgs84")
    address = data.pop("address", None)
    if data:
        raise _err("unknown_field", next(iter(data)), _("not a field of a person"))
    if house is not None:
        _check_write(actor, house.scope_code)
        person.house = house
        person.lat, person.lng, person.grid_id, person.scope_code = (
            house.lat,
            house.lng,
            house.grid_id,
            house.scope_code,
        )
        person.address = str(house)[:200]
    elif lat is not None or lng is not None:
        _place(person, actor, lat=lat, lng=lng, crs=crs, address=address)
    elif not person.pk:
        raise _err("required", "house", _("a current house or a point is required"))


def person_create(*, actor, data: dict[str, Any]) -> Person:
    """Register a person; an ID number already on file is refused (use ``person_upsert``)."""
    data = dict(data)
    person = Person(confirmed_at=timezone.now())
    data.setdefault("id_type", Person.IdType.RESIDENT)
    _apply_person(person, data, actor)
    with transaction.atomic():
        other = Person.objects.filter(id_number_bidx=person.id_number_bidx).first()
        if other is not None:
            raise DomainError(
                "duplicate",
                _("id_number: this ID number is already registered"),
                field="id_number",
                details={"person": other.pk},
                status=409,
            )
        try:
            with transaction.atomic():
                person.save()
        except IntegrityError:
            raise DomainError(
                "duplicate",
                _("id_number: this ID number is already registered"),
                field="id_number",
                status=409,
            ) from None
        _log("person", person, actor, "create", _snapshot(person, PERSON_FIELDS))
    return person


def person_update(*, person: Person, actor, data: dict[str, Any]) -> Person:
    _check_write(actor, person.scope_code)
    before = _snapshot(person, PERSON_FIELDS)
    _apply_person(person, dict(data), actor)
    with transaction.atomic():
        clash = Person.objects.filter(id_number_bidx=person.id_number_bidx).exclude(pk=person.pk)
        if clash.exists():
            raise DomainError(
                "duplicate",
                _("id_number: this ID number is already registered"),
                field="id_number",
                status=409,
            )
        person.confirmed_at = timezone.now()
        person.save()
        diff = _diff(before, _snapshot(person, PERSON_FIELDS))
        if diff:
            _log("person", person, actor, "update", diff)
        if "scope_code" in diff or before.get("grid_id") != person.grid_id:
            PersonTag.objects.filter(person=person).update(scope_code=person.scope_code)
    return person


def person_upsert(*, actor, data: dict[str, Any]) -> tuple[Person, bool]:
    """Find the person by ID number and update them, or register them: never a duplicate."""
    number = str(data.get("id_number") or "").strip()
    existing = person_find(number) if number else None
    if existing is None:
        try:
            return person_create(actor=actor, data=data), True
        except DomainError as exc:
            if exc.code != "duplicate":
                raise
            existing = person_find(number)  # a concurrent create won
            if existing is None:
                raise
    rest = {k: v for k, v in data.items() if k not in ("id_number", "id_type")}
    return person_update(person=existing, actor=actor, data=rest), False


def person_reveal(*, person: Person, actor, reason: str, ip: str | None) -> dict[str, str]:
    """The unmasked ID number and phone, for an actor holding the permission; always logged."""
    if not actor.has_perm("basedata.reveal_personal_data"):
        raise Forbidden(_("You may not view unmasked personal data."), code="forbidden")
    reason = (reason or "").strip()
    if len(reason) < 4:
        raise _err("required", "reason", _("state why you need the unmasked data"))
    RevealLog.objects.create(
        user=actor, person=person, fields="id_number,phone", reason=reason[:200], ip=ip or None
    )
    return {"id_number": person.reveal_id_number(), "phone": person.reveal_phone()}


# --- households -------------------------------------------------------------------------------


def household_create(*, house: House, head: Person, actor) -> Household:
    _check_write(actor, house.scope_code)
    with transaction.atomic():
        if HouseholdMember.objects.filter(person=head).exists():
            raise _err("duplicate", "head", _("this person already belongs to a household"))
        hh = Household.objects.create(house=house, head=head, scope_code=house.scope_code)
        HouseholdMember.objects.create(
            household=hh, person=head, relation=HouseholdMember.Relation.HEAD
        )
        _log("household", hh, actor, "create", {"house_id": house.pk, "head_id": head.pk})
    return hh


def household_add_member(
    *, household: Household, person: Person, relation: str, actor
) -> HouseholdMember:
    _check_write(actor, household.scope_code)
    relation = _choice(relation, HouseholdMember.Relation.choices, "relation")
    if relation == HouseholdMember.Relation.HEAD:
        raise _err("invalid", "relation", _("a household has one head"))
    with transaction.atomic():
        m, created = HouseholdMember.objects.get_or_create(
            person=person, defaults={"household": household, "relation": relation}
        )
        if not created and m.household_id != household.pk:
            raise _err("duplicate", "person", _("this person already belongs to another household"))
        if not created and m.relation != relation:
            m.relation = relation
            m.save(update_fields=["relation"])
        _log("household", household, actor, "update", {"member": [None, [person.pk, relation]]})
    return m


# --- tags and visits ---------------------------------------------------------------------------


def clean_tag_data(kind: TagKind, data: dict[str, Any]) -> dict[str, Any]:
    """Validate a tag's fields against its kind's definitions; errors name ``data.<field>``."""
    out: dict[str, Any] = {}
    defs = {f["name"]: f for f in kind.fields}
    for name in data:
        if name not in defs:
            raise _err(
                "unknown_field", f"data.{name}", _("not a field of tag %(t)s") % {"t": kind.name}
            )
    for name, f in defs.items():
        field = f"data.{name}"
        v = data.get(name)
        if v in (None, ""):
            if f.get("required"):
                raise _err("required", field, _("%(l)s is required") % {"l": f.get("label", name)})
            continue
        t = f.get("type", "text")
        if t == "int":
            try:
                v = int(v)
            except (TypeError, ValueError):
                raise _err("invalid", field, _("a whole number")) from None
            if "min" in f and v < f["min"] or "max" in f and v > f["max"]:
                raise _err(
                    "out_of_range",
                    field,
                    _("between %(a)s and %(b)s") % {"a": f.get("min"), "b": f.get("max")},
                )
        elif t == "date":
            if isinstance(v, dt.datetime):
                v = v.date()
            if isinstance(v, dt.date):
                v = v.isoformat()
            try:
                dt.date.fromisoformat(str(v))
            except ValueError:
                raise _err("invalid", field, _("a date YYYY-MM-DD")) from None
            v = str(v)
        elif t == "choice":
            if str(v) not in f.get("choices", []):
                raise _err(
                    "invalid_choice",
                    field,
                    _("one of %(c)s") % {"c": "、".join(f.get("choices", []))},
                )
            v = str(v)
        else:
            v = _text(v, field, 200)
        out[name] = v
    return out


def visit_interval(
    kind: TagKind, data: dict[str, Any], today: dt.date, rules: list[VisitRule] | None = None
) -> int:
    """Days between visits for a tag: the first matching rule of its kind, else the default."""
    for r in rules if rules is not None else kind.rules.all():
        ok = True
        if r.field:
            try:
                ok = r.min_value is not None and int(data.get(r.field)) >= r.min_value
            except (TypeError, ValueError):
                ok = False
        if ok and r.date_field:
            try:
                d = dt.date.fromisoformat(str(data.get(r.date_field)))
                ok = r.within_days is not None and 0 <= (today - d).days <= r.within_days
            except ValueError:
                ok = False
        if ok:
            return r.interval_days
    return kind.visit_days


def _schedule(tag: PersonTag, today: dt.date) -> None:
    base = timezone.localdate(tag.last_visit_at) if tag.last_visit_at else (tag.since or today)
    tag.next_visit_due = base + dt.timedelta(days=visit_interval(tag.kind, tag.data, today))


def tag_add(
    *,
    person: Person,
    kind: TagKind,
    data: dict[str, Any] | None = None,
    since: dt.date | None = None,
    actor,
) -> PersonTag:
    """Tag a person (or update the fields of the tag they already have)."""
    _check_write(actor, person.scope_code)
    clean = clean_tag_data(kind, data or {})
    today = timezone.localdate()
    with transaction.atomic():
        tag, created = PersonTag.objects.select_for_update().get_or_create(
            person=person,
            kind=kind,
            defaults={
                "data": clean,
                "since": since or today,
                "scope_code": person.scope_code,
                "sensitive": kind.sensitive,
            },
        )
        before = dict(tag.data)
        if not created:
            tag.data = clean
            if since:
                tag.since = since
        _schedule(tag, today)
        tag.save()
        _log(
            "person",
            person,
            actor,
            "tag" if created else "tag_update",
            {"tag": kind.code, "data": [None if created else before, clean]},
        )
    return tag


def tag_remove(*, tag: PersonTag, actor) -> None:
    _check_write(actor, tag.scope_code)
    with transaction.atomic():
        _log("person", tag.person, actor, "untag", {"tag": tag.kind.code})
        tag.delete()


def visit_record(
    *,
    actor,
    client_id,
    person: Person | None = None,
    house: House | None = None,
    tag: PersonTag | None = None,
    at: dt.datetime | None = None,
    note: str = "",
    findings: str = "",
    lat: Any = None,
    lng: Any = None,
    photo=None,
) -> tuple[Visit, bool]:
    """Record a visit once per ``client_id`` (an offline retry returns the first one)."""
    if person is None and house is None:
        raise _err("required", "person", _("a person or a house is required"))
    scope = (person or house).scope_code
    _check_write(actor, scope)
    if tag is not None and (person is None or tag.person_id != person.pk):
        raise _err("invalid", "tag", _("the tag does not belong to this person"))
    done = Visit.objects.filter(client_id=client_id).first()
    if done is not None:
        if done.worker_id != actor.pk:
            raise _err("duplicate", "client_id", _("this client id was used by someone else"))
        return done, False
    now = timezone.now()
    at = at or now
    if at > now + dt.timedelta(minutes=5):
        raise _err("future_time", "at", _("in the future; check the phone's clock"))
    with transaction.atomic():
        tags = (
            [tag]
            if tag is not None
            else list(PersonTag.objects.select_for_update().filter(person=person))
            if person
            else []
        )
        overdue = any(t.next_visit_due and timezone.localdate(at) > t.next_visit_due for t in tags)
        try:
            with transaction.atomic():
                v = Visit.objects.create(
                    client_id=client_id,
                    worker=actor,
                    person=person,
                    house=house,
                    tag=tag,
                    at=at,
                    note=_text(note, "note", 2000),
                    findings=_text(findings, "findings", 2000),
                    lat=float(lat) if lat not in (None, "") else None,
                    lng=float(lng) if lng not in (None, "") else None,
                    photo=photo or "",
                    was_overdue=overdue,
                    scope_code=scope,
                )
        except IntegrityError:
            return Visit.objects.get(client_id=client_id), False
        for t in tags:
            t.last_visit_at = at
            _schedule(t, timezone.localdate(at))
            t.save(update_fields=["last_visit_at", "next_visit_due"])
        if person is not None:
            Person.objects.filter(pk=person.pk).update(confirmed_at=now)
    return v, True


# --- organisations, places, risk points, things ------------------------------------------------

ORG_FIELDS = [
    "name",
    "uscc",
    "kind",
    "legal_rep_id",
    "staff_count",
    "has_party_org",
    "grid_id",
    "address",
]


def organisation_create(
    *,
    actor,
    name: str,
    uscc: str,
    lat: Any,
    lng: Any,
    address: str = "",
    kind: str = Organisation.Kind.ENTERPRISE,
    legal_rep: Person | None = None,
    staff_count: Any = 0,
    has_party_org: bool = False,
    crs: str = "wgs84",
) -> Organisation:
    try:
        code = check_uscc(uscc)
    except IdNumberError as exc:
        raise _err(
            "bad_checksum" if exc.code == "checksum" else "invalid", "uscc", _(str(exc))
        ) from None
    try:
        staff = int(staff_count or 0)
        if staff < 0:
            raise ValueError
    except (TypeError, ValueError):
        raise _err("invalid", "staff_count", _("a whole number ≥ 0")) from None
    org = Organisation(
        name=_text(name, "name", 100, required=True),
        uscc=code,
        kind=_choice(kind, Organisation.Kind.choices, "kind", Organisation.Kind.ENTERPRISE),
        legal_rep=legal_rep,
        staff_count=staff,
        has_party_org=bool(has_party_org),
        confirmed_at=timezone.now(),
    )
    _place(org, actor, lat=lat, lng=lng, crs=crs, address=address)
    with transaction.atomic():
        if Organisation.objects.filter(uscc=code).exists():
            raise DomainError(
                "duplicate",
                _("uscc: this credit code is already registered"),
                field="uscc",
                status=409,
            )
        org.save()
        _log("organisation", org, actor, "create", _snapshot(org, ORG_FIELDS))
    return org


def organisation_update(*, organisation: Organisation, actor, **changes: Any) -> Organisation:
    _check_write(actor, organisation.scope_code)
    before = _snapshot(organisation, ORG_FIELDS)
    for k, v in changes.items():
        if k == "name":
            organisation.name = _text(v, "name", 100, required=True)
        elif k == "staff_count":
            try:
                organisation.staff_count = max(0, int(v))
            except (TypeError, ValueError):
                raise _err("invalid", "staff_count", _("a whole number ≥ 0")) from None
        elif k == "has_party_org":
            organisation.has_party_org = bool(v)
        elif k == "legal_rep":
            organisation.legal_rep = v
        elif k == "kind":
            organisation.kind = _choice(v, Organisation.Kind.choices, "kind")
        else:
            raise _err("unknown_field", k, _("not a field of an organisation"))
    with transaction.atomic():
        organisation.confirmed_at = timezone.now()
        organisation.save()
        diff = _diff(before, _snapshot(organisation, ORG_FIELDS))
        if diff:
            _log("organisation", organisation, actor, "update", diff)
    return organisation


def place_create(
    *,
    actor,
    name: str,
    kind: str,
    lat: Any,
    lng: Any,
    address: str = "",
    responsible: Person | None = None,
    check_in_days: int = 30,
    crs: str = "wgs84",
) -> Place:
    p = Place(
        name=_text(name, "name", 100, required=True),
        kind=_choice(kind, Place.Kind.choices, "kind"),
        responsible=responsible,
        check_in_days=max(1, int(check_in_days or 30)),
        confirmed_at=timezone.now(),
    )
    _place(p, actor, lat=lat, lng=lng, crs=crs, address=address)
    with transaction.atomic():
        p.save()
        _log("place", p, actor, "create", {"name": p.name, "kind": p.kind, "grid_id": p.grid_id})
    return p


def riskpoint_create(
    *,
    actor,
    name: str,
    kind: str,
    level: Any,
    lat: Any,
    lng: Any,
    address: str = "",
    responsible: Person | None = None,
    check_in_days: int = 7,
    crs: str = "wgs84",
) -> RiskPoint:
    try:
        lvl = int(level)
        RiskPoint.Level(lvl)
    except (TypeError, ValueError):
        raise _err("invalid_choice", "level", _("a level from 1 to 4")) from None
    r = RiskPoint(
        name=_text(name, "name", 100, required=True),
        kind=_choice(kind, RiskPoint.Kind.choices, "kind"),
        level=lvl,
        responsible=responsible,
        check_in_days=max(1, int(check_in_days or 7)),
        confirmed_at=timezone.now(),
    )
    _place(r, actor, lat=lat, lng=lng, crs=crs, address=address)
    with transaction.atomic():
        r.save()
        _log(
            "riskpoint",
            r,
            actor,
            "create",
            {"name": r.name, "kind": r.kind, "level": lvl, "grid_id": r.grid_id},
        )
    return r


def thing_create(
    *,
    actor,
    code: str,
    kind: str,
    lat: Any,
    lng: Any,
    owner_department=None,
    state: str = Thing.State.OK,
    address: str = "",
    crs: str = "wgs84",
) -> Thing:
    t = Thing(
        code=_text(code, "code", 30, required=True),
        kind=_choice(kind, Thing.Kind.choices, "kind"),
        owner_department=owner_department,
        state=_choice(state, Thing.State.choices, "state", Thing.State.OK),
        confirmed_at=timezone.now(),
    )
    _place(t, actor, lat=lat, lng=lng, crs=crs, address=address)
    with transaction.atomic():
        if Thing.objects.filter(code=t.code).exists():
            raise DomainError(
                "duplicate",
                _("code: this component code is already registered"),
                field="code",
                status=409,
            )
        t.save()
        _log(
            "thing",
            t,
            actor,
            "create",
            {"code": t.code, "kind": t.kind, "state": t.state, "grid_id": t.grid_id},
        )
    return t


def thing_set_state(*, thing: Thing, state: str, actor) -> Thing:
    _check_write(actor, thing.scope_code)
    new = _choice(state, Thing.State.choices, "state")
    if new != thing.state:
        with transaction.atomic():
            old, thing.state = thing.state, new
            thing.confirmed_at = timezone.now()
            thing.save(update_fields=["state", "confirmed_at", "updated_at"])
            _log("thing", thing, actor, "update", {"state": [old, new]})
    return thing


def get_or_404(qs, pk, what: str):
    obj = qs.filter(pk=pk).first()
    if obj is None:
        raise NotFound(what)
    return obj
