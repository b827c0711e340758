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
    "operator", "handler", "assignee", "grid_worker", "grid_chief", "leader", "reporter"
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


class CaseAcceptIn(CaseActionIn):
    category: str = Field(description="category code (may correct the reporter's)")
    priority: int = Field(ge=1, le=4)
    note: str = Field("", max_length=TEXT)


class CaseReasonIn(CaseActionIn):
    reason: str = Field(min_length=1, max_length=TEXT)


class CaseNoteIn(CaseActionIn):
    note: str = Field("", max_length=TEXT)


class CaseRequiredNoteIn(CaseActionIn):
    note: str = Field(min_length=1, max_length=TEXT)


class CaseMergeIn(CaseActionIn):
    target: str = Field(description="tracking code or id of the open case to merge into")
    note: str = Field("", max_length=TEXT)


class CaseResultIn(CaseActionIn):
    result: str = Field(min_length=1, max_length=TEXT)
    attachments: list[int] = Field([], description="attachment ids uploaded to this case")


class CaseDispatchIn(CaseActionIn):
    department: str | None = Field(None, description="department code or id")
    worker: int | None = Field(None, description="user id of a grid worker / handler")
    note: str = Field("", max_length=TEXT)


class CaseExtensionRequestIn(CaseActionIn):
    due: dt.datetime = Field(description="requested new final deadline")
    reason: str = Field(min_length=1, max_length=TEXT)


class CaseExtensionApproveIn(CaseActionIn):
    due: dt.datetime | None = Field(None, description="defaults to the requested deadline")
    note: str = Field("", max_length=TEXT)


class CaseSuspendRequestIn(CaseActionIn):
    reason: str = Field(min_length=1, max_length=TEXT)
    review_date: dt.date


class CaseCommentIn(CaseActionIn):
    # A comment changes nothing on the case, so a stale version is no reason to refuse it.
    version: int | None = Field(None, ge=1, description="optional for comments")
    text: str = Field(min_length=1, max_length=TEXT)
    internal: bool = Field(True, description="false: shown on the public tracking page")


class CaseRateIn(CaseActionIn):
    score: int = Field(ge=1, le=5)
    text: str = Field("", max_length=1000)
