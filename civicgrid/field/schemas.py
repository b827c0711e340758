"""Ninja schemas of the field API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Schema


class FieldPatrolStartIn(Schema):
    uuid: str
    started_at: Any = None


class FieldPatrolStopIn(Schema):
    ended_at: Any = None


class FieldPointsIn(Schema):
    # Items are checked one by one in civicgrid.field.tracks so that one bad point is rejected
    # with its reason instead of failing the whole batch.
    points: list[Any]
    crs: str = "wgs84"
    # A UUID made on the phone per batch: a retried delivery gets the first answer back.
    batch_id: str | None = None


class FieldRejectedOut(Schema):
    index: int
    reason: str
    field: str = "t"
    message: str
    t: Any = None


class FieldPatrolOut(Schema):
    id: int
    uuid: str
    worker_id: int
    worker_name: str
    state: str
    state_label: str
    scope_code: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    duration_s: int
    tracked_s: int
    distance_km: float
    point_count: int
    rejected_count: int
    own_grid_s: int
    grids: list[dict]


class FieldIngestOut(Schema):
    accepted: int
    duplicates: int
    rejected: list[FieldRejectedOut]
    patrol: FieldPatrolOut
    replayed: bool = False


class FieldTrackOut(Schema):
    patrol: FieldPatrolOut
    crs: str
    points: list[list[Any]]


class FieldCheckInIn(Schema):
    client_id: str
    place: int
    lat: float
    lng: float
    crs: str = "wgs84"
    accuracy: float | None = None
    checked_at: Any = None
    note: str = ""


class FieldCheckInOut(Schema):
    id: int
    client_id: str
    place_id: int
    place_name: str
    worker_name: str
    checked_at: dt.datetime
    distance_m: float
    radius_m: int
    within: bool
    created: bool = False


class FieldPlaceIn(Schema):
    grid: str
    name: str
    lat: float
    lng: float
    crs: str = "wgs84"
    kind: str = "key_place"
    address: str = ""
    radius_m: int = 100
    note: str = ""


class FieldPlaceOut(Schema):
    id: int
    name: str
    kind: str
    kind_label: str
    grid_code: str
    grid_name: str
    lat: float
    lng: float
    address: str
    radius_m: int
    distance_m: float | None = None


class FieldActionOut(Schema):
    action: str
    case_id: int
    tracking_code: str
    state: str
    state_label: str
    replayed: bool = False


class FieldReportOut(Schema):
    case_id: int
    tracking_code: str
    state: str
    state_label: str
    created: bool
    self_close_error: dict | None = None


class FieldTaskDoneOut(Schema):
    task_id: int
    state: str
    title: str
    replayed: bool = False


class FieldSummaryRow(Schema):
    grid_code: str | None
    grid_name: str
    patrols: int
    hours: float
    km: float
