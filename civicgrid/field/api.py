"""Field API for the grid workers' phone app, mounted at /api/field/.

Reads go through ``selectors`` (scoped; out of scope answers 404), writes through ``services``
(case changes through the cases services). Actions queued offline carry a ``client_id``; see
``services`` for how each is made idempotent. Multipart endpoints take ``photos``/``audio``
(and ``result_photos``) files next to ordinary form fields.
"""

import datetime as dt

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Path, Router, Status

from civicgrid.api.params import Limit, ObjectId
from civicgrid.cases.models import Case
from civicgrid.cases.selectors import case_get_for
from civicgrid.core.errors import DomainError
from civicgrid.territory import crs as crs_mod
from civicgrid.territory.models import Grid
from civicgrid.territory.selectors import grid_get_for

from . import selectors, services
from .models import CheckIn, KeyPlace, Patrol
from .schemas import (
    FieldActionOut,
    FieldCheckInIn,
    FieldCheckInOut,
    FieldIngestOut,
    FieldPatrolOut,
    FieldPatrolStartIn,
    FieldPatrolStopIn,
    FieldPlaceIn,
    FieldPlaceOut,
    FieldPointsIn,
    FieldReportOut,
    FieldSummaryRow,
    FieldTaskDoneOut,
    FieldTrackOut,
)

router = Router()


# --- output builders -------------------------------------------------------------------------


def patrol_out(p: Patrol, names: dict[str, str] | None = None) -> dict:
    stats = p.grid_stats or {}
    if names is None:
        names = dict(
            Grid.objects.filter(code__in=[c for c in stats if c]).values_list("code", "name")
        )
    grids = [
        {
            "code": code or None,
            "name": names.get(code, code) if code else _("Outside every grid"),
            "minutes": round(secs / 60, 1),
            "km": round(metres / 1000, 3),
        }
        for code, (secs, metres) in sorted(stats.items(), key=lambda kv: -kv[1][0])
    ]
    return {
        "id": p.pk,
        "uuid": str(p.uuid),
        "worker_id": p.worker_id,
        "worker_name": p.worker.display_name,
        "state": p.state,
        "state_label": str(p.get_state_display()),
        "scope_code": p.scope_code,
        "started_at": p.started_at,
        "ended_at": p.ended_at,
        "duration_s": p.duration_s,
        "tracked_s": p.tracked_s,
        "distance_km": p.distance_km,
        "point_count": p.point_count,
        "rejected_count": p.rejected_count,
        "own_grid_s": p.own_grid_s,
        "grids": grids,
    }


def checkin_out(c: CheckIn, created: bool = False) -> dict:
    return {
        "id": c.pk,
        "client_id": str(c.client_id),
        "place_id": c.place_id,
        "place_name": c.place.name,
        "worker_name": c.worker.display_name,
        "checked_at": c.checked_at,
        "distance_m": c.distance_m,
        "radius_m": c.place.radius_m,
        "within": c.within,
        "created": created,
    }


def place_out(p: KeyPlace, distance: float | None = None) -> dict:
    return {
        "id": p.pk,
        "name": p.name,
        "kind": p.kind,
        "kind_label": str(p.get_kind_display()),
        "grid_code": p.grid.code,
        "grid_name": p.grid.name,
        "lat": p.lat,
        "lng": p.lng,
        "address": p.address,
        "radius_m": p.radius_m,
        "distance_m": round(distance, 1) if distance is not None else None,
    }


def _files(request: HttpRequest, *names: str) -> list:
    out = []
    for name in names:
        out.extend(request.FILES.getlist(name))
    return out


def _flag(value) -> bool:
    return str(value or "").strip().lower() in {"1", "true", "on", "yes"}


# --- reports and case actions ------------------------------------------------------------------


@router.post(
    "/reports",
    response={200: FieldReportOut, 201: FieldReportOut},
    summary="Report an event from the field (multipart; idempotent by client_id)",
)
def report(request: HttpRequest):
    """Fields: client_id, category, description, lat, lng, crs, address; files photos, audio.

    With ``self_close=1``, ``result`` and ``result_photos`` the worker closes the matter on the
    spot (自办自结); if that is refused the report still stands and ``self_close_error`` says why.
    """
    data = request.POST
    case, created, error = services.field_report(
        actor=request.user,
        category=data.get("category", ""),
        description=data.get("description", ""),
        lat=data.get("lat"),
        lng=data.get("lng"),
        crs=data.get("crs") or "wgs84",
        address=data.get("address", ""),
        client_id=data.get("client_id", ""),
        attachments=_files(request, "photos", "audio"),
        self_close=_flag(data.get("self_close")),
        result=data.get("result", ""),
        result_attachments=_files(request, "result_photos"),
    )
    case.refresh_from_db(fields=["state"])
    return Status(
        201 if created else 200,
        {
            "case_id": case.pk,
            "tracking_code": case.tracking_code,
            "state": case.state,
            "state_label": str(case.get_state_display()),
            "created": created,
            "self_close_error": error,
        },
    )


@router.post(
    "/cases/{case_id}/{action}",
    response=FieldActionOut,
    summary="Verify, rework, self-close, sign or submit a case (multipart; once per client_id)",
)
def case_action(request: HttpRequest, case_id: Path[ObjectId], action: str):
    """Fields: client_id, text (note, reason or result), departments (repeated, for a grid
    chief's whistle, 吹哨); files photos (evidence)."""
    case: Case = case_get_for(request.user, case_id)
    answer, replayed = services.field_case_act(
        actor=request.user,
        case=case,
        action=action.replace("-", "_"),
        client_id=request.POST.get("client_id", ""),
        text=request.POST.get("text", ""),
        attachments=_files(request, "photos", "audio"),
        departments=request.POST.getlist("departments"),
    )
    return {**answer, "replayed": replayed}


@router.post(
    "/tasks/{task_id}/complete",
    response=FieldTaskDoneOut,
    summary="Complete a grid task with evidence (multipart; once per client_id)",
)
def task_complete(request: HttpRequest, task_id: Path[ObjectId]):
    task = selectors.grid_task_get_for(request.user, task_id)
    answer, replayed = services.field_task_complete(
        actor=request.user,
        task=task,
        client_id=request.POST.get("client_id", ""),
        result=request.POST.get("result", ""),
        attachments=_files(request, "photos", "audio"),
    )
    return {**answer, "replayed": replayed}


@router.get("/inbox", summary="What waits for me: dispatched cases, checks, grid tasks")
def inbox(request: HttpRequest):
    box = selectors.worker_inbox(request.user)

    def case_row(c: Case) -> dict:
        return {
            "id": c.pk,
            "tracking_code": c.tracking_code,
            "state": c.state,
            "category": c.category.name,
            "description": c.description[:120],
            "grid": c.grid.name if c.grid_id else None,
            "sla_due_at": c.sla_due_at,
        }

    return {
        "dispatched": [case_row(c) for c in box.dispatched],
        "to_verify": [case_row(c) for c in box.to_verify],
        "to_self_close": [case_row(c) for c in box.to_self_close],
        "tasks": [
            {
                "id": t.pk,
                "title": t.title,
                "department": t.department.name,
                "item": t.item.name,
                "grid": t.grid.name,
                "deadline": t.deadline,
            }
            for t in box.tasks
        ],
        "count": box.count,
    }


# --- patrols ---------------------------------------------------------------------------------


@router.post(
    "/patrols",
    response={200: FieldPatrolOut, 201: FieldPatrolOut},
    summary="Start a patrol (idempotent by uuid)",
)
def patrol_start(request: HttpRequest, payload: FieldPatrolStartIn):
    patrol, created = services.patrol_start(
        actor=request.user, uuid=payload.uuid, started_at=payload.started_at
    )
    patrol.worker = request.user
    return Status(201 if created else 200, patrol_out(patrol))


@router.get("/patrols", response=list[FieldPatrolOut], summary="Patrols I may see, newest first")
def patrol_list(
    request: HttpRequest,
    worker: ObjectId | None = None,
    date: dt.date | None = None,
    grid: str | None = None,
    limit: Limit = 50,
):
    rows = selectors.patrol_list_for(request.user, worker=worker, date=date, grid=grid, limit=limit)
    codes = {c for p in rows for c in (p.grid_stats or {}) if c}
    names = dict(Grid.objects.filter(code__in=codes).values_list("code", "name"))
    return [patrol_out(p, names) for p in rows]


@router.get(
    "/patrols/summary", response=list[FieldSummaryRow], summary="Patrol hours and km per grid"
)
def patrol_summary(
    request: HttpRequest, date_from: dt.date, date_to: dt.date, grid: str | None = None
):
    start, end = date_from, date_to
    if end < start:
        raise DomainError("invalid", _("date_to is before date_from."), field="date_to")
    if (end - start).days > 366:
        raise DomainError("invalid", _("At most one year at a time."), field="date_to")
    return selectors.patrol_summary_for(request.user, date_from=start, date_to=end, grid=grid)


@router.get("/patrols/{key}", response=FieldPatrolOut, summary="One patrol (id or uuid)")
def patrol_get(request: HttpRequest, key: str):
    return patrol_out(selectors.patrol_get_for(request.user, key))


@router.post("/patrols/{key}/stop", response=FieldPatrolOut, summary="End a patrol (idempotent)")
def patrol_stop(request: HttpRequest, key: str, payload: FieldPatrolStopIn):
    patrol = selectors.patrol_get_for(request.user, key)
    patrol = services.patrol_stop(actor=request.user, patrol=patrol, ended_at=payload.ended_at)
    return patrol_out(patrol)


@router.post(
    "/patrols/{key}/points",
    response=FieldIngestOut,
    summary="Upload a batch of GPS points (late, out of order and repeated batches are fine)",
)
def patrol_points(request: HttpRequest, key: str, payload: FieldPointsIn):
    """Each point: ``{"t": epoch ms, "lat", "lng", "acc"}``. Every point is accepted, counted
    as a duplicate (already stored) or rejected with a reason (see ``rejected``)."""
    result = services.trackpoints_ingest(
        actor=request.user,
        patrol=key,
        points=payload.points,
        crs=payload.crs,
        batch_id=payload.batch_id,
    )
    patrol = result.patrol
    patrol.worker = request.user
    # Grid codes without names: a phone uploading all day needs the totals, not a lookup.
    return {
        "accepted": result.accepted,
        "duplicates": result.duplicates,
        "rejected": [r.as_dict() for r in result.rejected],
        "patrol": patrol_out(patrol, names={}),
        "replayed": result.replayed,
    }


@router.get("/patrols/{key}/track", response=FieldTrackOut, summary="A patrol's track for replay")
def patrol_track(request: HttpRequest, key: str, crs: str = "wgs84"):
    """Points as ``[epoch ms, lat, lng, accuracy]`` in time order; ``crs=gcj02`` converts for
    a map whose tiles use GCJ-02."""
    crs = crs_mod.check_crs(crs)
    patrol = selectors.patrol_get_for(request.user, key)
    pts = selectors.patrol_track(patrol)
    if crs != crs_mod.WGS84 and pts:
        lats, lngs = crs_mod.from_wgs84_array([p[1] for p in pts], [p[2] for p in pts], crs)
        pts = [(p[0], float(a), float(b), p[3]) for p, a, b in zip(pts, lats, lngs, strict=True)]
    return {"patrol": patrol_out(patrol), "crs": crs, "points": [list(p) for p in pts]}


@router.get("/workers/{worker_id}/track", summary="One worker's track over one day")
def worker_track(request: HttpRequest, worker_id: Path[ObjectId], date: dt.date):
    day = date
    rows = selectors.worker_day_track(request.user, worker_id, day)
    return {"worker_id": worker_id, "date": day, "points": [list(r) for r in rows]}


# --- places and check-ins --------------------------------------------------------------------


@router.get(
    "/places", response=list[FieldPlaceOut], summary="Key places of my grids, nearest first"
)
def place_list(
    request: HttpRequest, lat: float | None = None, lng: float | None = None, crs: str = "wgs84"
):
    if lat is not None and lng is not None:
        lat, lng = crs_mod.to_wgs84(lat, lng, crs)
    return [place_out(p, d) for p, d in selectors.keyplace_list_for(request.user, lat=lat, lng=lng)]


@router.post("/places", response={201: FieldPlaceOut}, summary="Register a key place or risk point")
def place_create(request: HttpRequest, payload: FieldPlaceIn):
    grid = grid_get_for(request.user, payload.grid)
    data = payload.dict()
    data.pop("grid")
    place = services.keyplace_create(actor=request.user, grid=grid, **data)
    return Status(201, place_out(place))


@router.post(
    "/checkins",
    response={200: FieldCheckInOut, 201: FieldCheckInOut},
    summary="Check in at a key place (idempotent by client_id)",
)
def checkin(request: HttpRequest, payload: FieldCheckInIn):
    place = selectors.keyplace_get_for(request.user, payload.place)
    data = payload.dict()
    data.pop("place")
    row, created = services.checkin_create(actor=request.user, place=place, **data)
    return Status(201 if created else 200, checkin_out(row, created))


@router.get("/checkins", response=list[FieldCheckInOut], summary="Recent check-ins I may see")
def checkin_list(request: HttpRequest, worker: ObjectId | None = None, limit: Limit = 50):
    rows = selectors.checkin_list_for(request.user, worker=worker, limit=limit)
    return [checkin_out(c) for c in rows]


# The patrol screen's JSON (/api/field/screen...), in a module of its own.
from .screen_api import router as _screen_router  # noqa: E402

router.add_router("/screen", _screen_router)
