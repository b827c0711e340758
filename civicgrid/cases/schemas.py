"""Ninja In/Out schemas of the cases API.

Every action has its own input schema; all of them carry the case ``version`` the client last
saw (optimistic locking: a stale version answers 409) and may name the ``role`` to act in when
the caller holds several capacities on the case.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from ninja import Field, Schema

StateName = Literal[
    "reported",
    "filed",
    "assigned",
    "in_progress",
    "handled",
    "closed",
    "rejected",
    "merged",
    "suspended",
]
SourceName = Literal["grid_worker", "citizen", "hotline", "department", "patrol", "one_key", "api"]
Crs = Literal["wgs84", "gcj02", "bd09"]
Capacity = Literal[
    "operator",
    "handler",
    "assignee",
    "grid_worker",
    "grid_chief",
    "leader",
    "reporter",
    "co_handler",
    "called",
]

TEXT = 4000


# --- references -----------------------------------------------------------------------------------


class CaseCategoryRef(Schema):
    code: str
    name: str


class CaseCenterRef(Schema):
    id: int
    name: str
    area_code: str


class CaseDepartmentRef(Schema):
    id: int
    code: str
    name: str


class CaseUserRef(Schema):
    id: int
    name: str


class CaseCategoryOut(Schema):
    code: str
    name: str
    parent_code: str | None
    handling_level: int
    handling_level_label: str
    default_department: str | None = Field(None, description="department code")
    priority: int
    response_limit_hours: float
    handling_limit_hours: float
    sla_unit: Literal["natural", "working"]
    self_closable: bool
    photo_required: bool


# --- list -------------------------------------------------------------------------------------------


class CaseFilters(Schema):
    state: str | None = Field(None, description="one state or a comma-separated list")
    category: str | None = Field(None, description="class code (01) or item code (0103); list ok")
    area: str | None = Field(None, description="12-digit area code of any level: cases below it")
    grid: str | None = Field(None, description="grid code (or its prefix)")
    source: str | None = Field(None, description="one source or a comma-separated list")
    department: int | None = Field(None, description="assigned department id")
    overdue: bool | None = Field(None, description="true: open and past the running deadline")
    sla_state: Literal["normal", "warning", "overdue"] | None = None
    flow: Literal["case", "service"] | None = None
    date_from: dt.date | None = Field(None, description="reported on or after (local date)")
    date_to: dt.date | None = Field(None, description="reported on or before (local date)")
    q: str | None = Field(None, max_length=100, description="tracking code or text")
    queue: bool = Field(False, description="my centers' default queue (operators)")
    cursor: str | None = Field(None, description="next_cursor of the previous page")
    limit: int = Field(50, ge=1, le=200)


class CaseSummary(Schema):
    id: int
    tracking_code: str
    flow: str
    state: str
    state_label: str
    category: CaseCategoryRef
    description: str
    address: str
    lat: float | None
    lng: float | None
    grid_code: str | None
    area_code: str
    source: str
    priority: int
    department: CaseDepartmentRef | None
    worker: CaseUserRef | None
    reported_at: dt.datetime
    sla_state: str
    sla_due_at: dt.datetime | None
    overdue: bool
    version: int


class CasePage(Schema):
    items: list[CaseSummary]
    next_cursor: str | None = Field(None, description="pass as `cursor`; null on the last page")


# --- detail -----------------------------------------------------------------------------------------


class CaseAttachmentOut(Schema):
    id: int
    kind: str
    content_type: str
    size: int
    width: int | None
    height: int | None
    url: str
    thumbnail_url: str | None
    action_id: int | None
    created_at: dt.datetime


class CaseTimelineEntry(Schema):
    id: int
    action: str
    label: str
    role: str
    role_label: str
    actor: str | None
    from_state: str
    to_state: str
    to_state_label: str
    note: str
    data: dict[str, Any]
    created_at: dt.datetime


class CaseDetail(CaseSummary):
    scope_code: str
    owner: CaseCenterRef
    reporter: str
    reporter_phone: str = Field(
        description="masked (full only for the reporter); staff use POST /{key}/reveal-phone"
    )
    response_due: dt.datetime | None
    handling_due: dt.datetime | None
    final_due: dt.datetime | None
    filed_at: dt.datetime | None
    dispatched_at: dt.datetime | None
    signed_at: dt.datetime | None
    handled_at: dt.datetime | None
    closed_at: dt.datetime | None
    suspended_review_date: dt.date | None
    result: str
    satisfaction: int | None
    rating_text: str
    merged_into: str | None = Field(
        None, description="tracking code of the surviving case (staff only; null for reporters)"
    )
    counters: dict[str, int]
    capacities: list[str] = Field(description="what the caller is for this case")
    allowed_actions: list[str]
    attachments: list[CaseAttachmentOut] = []
    timeline: list[CaseTimelineEntry] = []


class CasePhonesOut(Schema):
    reporter_phone: str
    contact_name: str = Field("", description="one-key calls: the device's emergency contact")
    contact_phone: str = ""


class CaseActionOut(Schema):
    id: int
    action: str
    role: str
    from_state: str
    to_state: str
    note: str
    created_at: dt.datetime


class CaseActionResult(Schema):
    action: CaseActionOut
    case: CaseDetail


class CaseDuplicateOut(Schema):
    distance_m: float
    case: CaseSummary


# --- report -----------------------------------------------------------------------------------------


class CaseReportIn(Schema):
    category: str = Field(description="category code, e.g. 0401")
    description: str = Field(min_length=1, max_length=TEXT)
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)
    crs: Crs = "wgs84"
    source: SourceName | None = Field(
        None,
        description="default from the caller's roles; one_key and api have their own channels",
    )
    flow: Literal["case", "service"] = "case"
    address: str = Field("", max_length=200)
    priority: int | None = Field(None, ge=1, le=4, description="operators only")
    reporter_name: str = Field("", max_length=50)
    reporter_phone: str = Field("", max_length=20)
    client_id: str | None = Field(
        None,
        min_length=8,
        max_length=64,
        description="generated by the device; a retry with the same id returns the first case",
    )
    attachments: list[int] = Field(
        [], description="ids from POST /api/cases/attachments, uploaded by the same user"
    )


# --- actions ----------------------------------------------------------------------------------------


class CaseActionIn(Schema):
    version: int = Field(ge=1, description="the case version the client last saw")
    role: Capacity | None = Field(None, description="capacity to act in, when holding several")


# The per-action input schemas are built from the action table (``registry.CASES``): each
# input's kind gives its type and constraints. Actions declaring the same ``schema`` name
# share one class (and one OpenAPI component).
_KIND_TYPES: dict[str, Any] = {
    "datetime": dt.datetime,
    "date": dt.date,
    "score": int,
    "int": int,
    "checkbox": bool,
    "files": list[int],
}


def _field(i) -> tuple[Any, Any]:
    desc = {"description": str(i.help)} if i.help else {}
    if i.kind in ("text", "textarea"):
        size = {"max_length": i.max_length or TEXT}
        if i.required:
            return str, Field(min_length=1, **size, **desc)
        return str, Field("", **size, **desc)
    if i.kind == "files":
        return list[int], Field([], **desc)
    if i.kind == "checkbox":
        return bool, Field(bool(i.default), **desc)
    typ = _KIND_TYPES.get(i.kind, i.value_type)
    bounds = {}
    if i.kind == "score":
        bounds = {"ge": 1, "le": 5}
    elif i.minimum is not None or i.maximum is not None:
        bounds = {k: v for k, v in (("ge", i.minimum), ("le", i.maximum)) if v is not None}
    if i.required:
        return typ, Field(**bounds, **desc)
    return typ | None, Field(None, **bounds, **desc)


def schema_name(action) -> str:
    return action.schema or "Case" + "".join(p.title() for p in action.name.split("_")) + "In"


_SCHEMAS: dict[str, tuple[type[Schema], tuple]] = {}


def action_input_schema(action, base: type[Schema] | None = None) -> type[Schema]:
    """The ninja input schema of one action of the table (built once per schema name);
    ``base`` is the schema carrying ``version`` (cases by default)."""
    from pydantic import create_model

    fields: dict[str, Any] = {n: _field(i) for i in action.inputs for n in [i.name]}
    if action.version_optional:
        # A comment changes nothing on the case, so a stale version is no reason to refuse it.
        fields["version"] = (
            int | None,
            Field(None, ge=1, description="optional: the action changes nothing on the case"),
        )
    shape = tuple((n, repr(f[0])) for n, f in fields.items())
    name = schema_name(action)
    known = _SCHEMAS.get(name)
    if known is not None:
        if known[1] != shape:
            raise ValueError(f"actions sharing schema {name} declare different inputs")
        return known[0]
    cls = create_model(name, __base__=base or CaseActionIn, __module__=__name__, **fields)
    _SCHEMAS[name] = (cls, shape)
    return cls


# --- 主办/协办 parts and 吹哨报到 calls ------------------------------------------------------------


class CasePartActionIn(Schema):
    version: int = Field(ge=1, description="the part version the client last saw")


class WhistleCallActionIn(Schema):
    version: int = Field(ge=1, description="the whistle call version the client last saw")


class CasePartOut(Schema):
    id: int
    department: CaseDepartmentRef
    state: str
    state_label: str
    version: int
    due_at: dt.datetime | None
    signed_at: dt.datetime | None
    submitted_at: dt.datetime | None
    result: str
    rework_count: int
    allowed_actions: list[str]


class CasePartsOut(Schema):
    lead: CaseDepartmentRef | None
    parts: list[CasePartOut]


class CasePartActionResult(Schema):
    action: CaseActionOut
    part: CasePartOut


class WhistleCallOut(Schema):
    id: int
    whistle_id: int
    department: CaseDepartmentRef
    state: str
    state_label: str
    version: int
    report_due: dt.datetime
    reported_at: dt.datetime | None
    late: bool
    overdue: bool = Field(description="not reported in and past the report-in deadline")
    done_at: dt.datetime | None
    supervised_at: dt.datetime | None
    result: str
    allowed_actions: list[str]


class WhistleOut(Schema):
    id: int
    center: str | None
    blown_by: str | None
    role: str
    reason: str
    report_due: dt.datetime
    created_at: dt.datetime
    calls: list[WhistleCallOut]


class WhistleCallActionResult(Schema):
    action: CaseActionOut
    call: WhistleCallOut


class WhistleBoardRow(Schema):
    case_id: int
    tracking_code: str
    category: str
    reason: str
    center: str | None
    call: WhistleCallOut
