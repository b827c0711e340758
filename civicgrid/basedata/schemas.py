"""ninja schemas for the base-data API. Persons come out masked; there is no unmasked field."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Schema


class TagOut(Schema):
    kind: str
    name: str
    sensitive: bool
    data: dict[str, Any]
    next_visit_due: dt.date | None


class PersonOut(Schema):
    id: int
    name: str
    id_type: str
    id_number: str  # masked
    phone: str  # masked
    gender: str
    birth_date: dt.date | None
    hukou_region: str
    category: str
    political_status: str
    house_id: int | None
    employer_id: int | None
    grid: str
    address: str
    tags: list[TagOut]
    confirmed_at: dt.datetime | None


class PersonPage(Schema):
    count: int
    page: int
    results: list[PersonOut]


class PersonIn(Schema):
    name: str
    id_type: str = "resident"
    id_number: str
    phone: str = ""
    hukou_region: str = ""
    category: str = "registered"
    political_status: str = "masses"
    house_id: int | None = None
    employer_id: int | None = None
    lat: float | None = None
    lng: float | None = None
    crs: str = "wgs84"
    address: str | None = None


class PersonPatch(Schema):
    name: str | None = None
    phone: str | None = None
    hukou_region: str | None = None
    category: str | None = None
    political_status: str | None = None
    house_id: int | None = None
    employer_id: int | None = None


class HouseOut(Schema):
    id: int
    address: str
    building: str
    unit: str
    room: str
    use: str
    grid: str
    lat: float
    lng: float
    landlord_id: int | None


class HouseIn(Schema):
    address: str
    building: str
    unit: str = ""
    room: str
    use: str = "own"
    lat: float
    lng: float
    crs: str = "wgs84"


class HousePatch(Schema):
    address: str | None = None
    building: str | None = None
    unit: str | None = None
    room: str | None = None
    use: str | None = None


class RecordOut(Schema):
    id: int
    name: str
    kind: str
    grid: str
    address: str
    lat: float
    lng: float
    extra: dict[str, Any]


class VisitDueOut(Schema):
    tag_id: int
    person_id: int
    name: str
    id_number: str  # masked
    address: str
    kind: str
    kind_name: str
    next_visit_due: dt.date | None
    overdue: bool


class VisitIn(Schema):
    client_id: str
    person_id: int | None = None
    house_id: int | None = None
    tag_id: int | None = None
    at: dt.datetime | None = None
    note: str = ""
    findings: str = ""
    lat: float | None = None
    lng: float | None = None


class VisitOut(Schema):
    id: int
    client_id: str
    person_id: int | None
    house_id: int | None
    tag_id: int | None
    at: dt.datetime
    was_overdue: bool


class CollectIn(Schema):
    client_id: str
    house: dict[str, Any]
    persons: list[dict[str, Any]] = []


class CollectOut(Schema):
    house_id: int
    house: str
    house_created: bool
    household_id: int | None
    persons: list[dict[str, Any]]
    created: bool


class FieldVisitOut(Schema):
    id: int
    client_id: str
    person_id: int | None
    house_id: int | None
    tag_id: int | None
    at: dt.datetime
    was_overdue: bool
    has_photo: bool
    case_id: int | None
    tracking_code: str
    created: bool


class CaseLinkIn(Schema):
    entity: str
    object_id: int


class CaseLinkOut(Schema):
    id: int
    case_id: int
    tracking_code: str
    entity: str
    object_id: int
    label: str
