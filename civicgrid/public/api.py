"""Public API, mounted at /api/public/: no account needed (``auth=None`` on every operation).

Citizen reports (multipart, idempotent by client_id, rate-limited per IP and phone), the public
timeline and rating by tracking code, grid boards, and the one-key emergency call of registered
devices (authenticated by the device token, not by a user).
"""

import datetime as dt
from typing import Literal

import shapely
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from shapely.geometry import mapping

from civicgrid.cases.engine import state_label
from civicgrid.core.errors import DomainError
from civicgrid.territory import spatial
from civicgrid.territory.models import Area, Grid

from . import selectors, services
from .views import client_ip

router = Router(auth=None)


class PublicReportOut(Schema):
    tracking_code: str
    state: str
    state_label: str
    created: bool
    track_url: str


class PublicRateIn(Schema):
    score: int
    text: str = ""


class PublicCallOut(Schema):
    tracking_code: str
    state: str
    created: bool
    presses: int
    message: str


def _track_url(request: HttpRequest, code: str) -> str:
    from django.urls import reverse

    return request.build_absolute_uri(reverse("public:track", args=[code]))


@router.get("/categories", auth=None, summary="Categories a citizen may report")
def categories(request: HttpRequest):
    return [
        {"code": c.code, "name": c.name, "class_code": c.parent.code, "class_name": c.parent.name}
        for c in selectors.public_categories()
    ]


@router.post(
    "/reports",
    auth=None,
    response={200: PublicReportOut, 201: PublicReportOut},
    summary="Report a problem (multipart; idempotent by client_id; rate-limited)",
)
def report(request: HttpRequest):
    """Fields: client_id, category, description, lat, lng, crs, grid, address, phone, name;
    files ``photos``. 429 ``rate_limited`` when this IP or phone sent too many."""
    data = request.POST
    case, created = services.citizen_report(
        ip=client_ip(request),
        category=data.get("category", ""),
        description=data.get("description", ""),
        lat=data.get("lat"),
        lng=data.get("lng"),
        crs=data.get("crs") or "wgs84",
        grid_code=data.get("grid", ""),
        address=data.get("address", ""),
        phone=data.get("phone", ""),
        name=data.get("name", ""),
        client_id=data.get("client_id", ""),
        attachments=request.FILES.getlist("photos"),
        # Anonymous even with a session cookie: this endpoint has no CSRF check, so a signed-in
        # citizen reports in their own name through the HTML form only.
        actor=None,
    )
    return Status(
        201 if created else 200,
        {
            "tracking_code": case.tracking_code,
            "state": case.state,
            "state_label": state_label(case.state, case.flow),
            "created": created,
            "track_url": _track_url(request, case.tracking_code),
        },
    )


@router.get("/track/{code}", auth=None, summary="Public timeline of a report")
def track(request: HttpRequest, code: str):
    pc = selectors.tracking_get(code)
    c = pc.case
    return {
        "tracking_code": c.tracking_code,
        "state": c.state,
        "state_label": state_label(c.state, c.flow),
        "hint": pc.hint,
        "category": c.category.name,
        "description": c.description,
        "address": c.address,
        "reported_at": c.reported_at,
        "closed_at": c.closed_at,
        "department": pc.department,
        "result": c.result if c.state == "closed" else "",
        "satisfaction": c.satisfaction,
        "can_rate": pc.can_rate,
        "matter": _matter(pc.matter),
        "timeline": pc.timeline,
    }


def _matter(matter: dict | None) -> dict | None:
    if matter is None:
        return None
    steps = [{k: v for k, v in row.items() if k != "note"} for row in matter["timeline"]]
    return {**matter, "timeline": steps}


@router.post("/track/{code}/rate", auth=None, summary="Rate a closed report (1–5)")
def rate(request: HttpRequest, code: str, payload: PublicRateIn):
    services.citizen_rate(tracking_code=code, score=payload.score, text=payload.text)
    return {"ok": True}


@router.get("/grids/{code}", auth=None, summary="A grid's public board")
def board(request: HttpRequest, code: str):
    b = selectors.board_get(code)

    return {
        "code": b.grid.code,
        "name": b.grid.name,
        "kind": b.grid.kind,
        "areas": [{"code": a.code, "name": a.name} for a in b.chain],
        "households": b.grid.households,
        "geometry": mapping(b.geometry) if b.geometry is not None else None,
        "members": b.members,
        "advisers": b.advisers,
        "duties": b.duties,
        "hotlines": [{"label": label, "number": n} for label, n in b.hotlines],
    }


@router.get("/locate", auth=None, summary="Which grid a point lies in (code and name only)")
def locate(request: HttpRequest, lat: float, lng: float, crs: str = "wgs84"):
    res = spatial.locate(lat, lng, crs)
    grid = Grid.objects.select_related("area").filter(code=res.grid_code).first()
    return {
        "found": grid is not None,
        "lat": res.lat,
        "lng": res.lng,
        "grid_code": grid.code if grid else None,
        "grid_name": grid.name if grid else None,
        "area_name": grid.area.name if grid else None,
    }


@router.get("/grids", auth=None, summary="Grid outlines in a box, for the report map")
def grids_in_box(request: HttpRequest, bbox: str):
    """``bbox=min_lng,min_lat,max_lng,max_lat`` (WGS-84), at most 0.2° wide; ≤ 400 grids."""
    try:
        x0, y0, x1, y1 = (float(v) for v in bbox.split(","))
    except ValueError:
        raise DomainError(
            "invalid", _("bbox must be min_lng,min_lat,max_lng,max_lat."), field="bbox"
        ) from None
    if not (x0 < x1 and y0 < y1) or x1 - x0 > 0.2 or y1 - y0 > 0.2:
        raise DomainError("invalid", _("bbox must be at most 0.2° wide."), field="bbox")
    rows = (
        Grid.objects.filter(min_lng__lte=x1, max_lng__gte=x0, min_lat__lte=y1, max_lat__gte=y0)
        .exclude(boundary=None)
        .order_by("code")
        .values_list("code", "name", "boundary")[:400]
    )
    features = []
    for code, name, wkb in rows:
        geom = shapely.from_wkb(bytes(wkb)).simplify(0.00002, preserve_topology=True)
        features.append(
            {
                "type": "Feature",
                "properties": {"code": code, "name": name},
                "geometry": mapping(geom),
            }
        )
    return {"type": "FeatureCollection", "features": features}


@router.get("/areas", auth=None, summary="Outlines of the districts and streets (the report map)")
def area_outlines(request: HttpRequest, level: int = 3):
    """Simplified outlines of every area of ``level`` (2 districts, 3 streets/townships)."""
    if level not in (2, 3):
        raise DomainError("invalid", _("level must be 2 or 3."), field="level")
    rows = (
        Area.objects.filter(level=level)
        .exclude(boundary=None)
        .order_by("code")
        .values_list("code", "name", "boundary")[:2000]
    )
    features = []
    for code, name, wkb in rows:
        geom = shapely.from_wkb(bytes(wkb)).simplify(0.0002, preserve_topology=True)
        features.append(
            {
                "type": "Feature",
                "properties": {"code": code, "name": name},
                "geometry": mapping(geom),
            }
        )
    return {"type": "FeatureCollection", "features": features}


class PublicSquareFilters(Schema):
    category: str | None = Field(
        None, max_length=200, pattern=r"^\d{2,4}(,\d{2,4})*$", description="class/item codes"
    )
    status: Literal["open", "closed"] | None = None
    date_from: dt.date | None = Field(None, description="default: 90 days before date_to")
    date_to: dt.date | None = Field(None, description="default: today")
    bbox: str | None = Field(None, max_length=100, description="min_lng,min_lat,max_lng,max_lat")


def _day_start(day: dt.date) -> dt.datetime:
    from django.utils import timezone

    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


@router.get(
    "/square",
    auth=None,
    url_name="public_square",
    summary="The public square map (广场地图): GeoJSON points",
)
def square(request: HttpRequest, filters: Query[PublicSquareFilters]):
    """Public matters of the last 90 days (or the dates given): category, time, progress, and a
    point coarsened to a ~100 m cell; never a private category. At most 1000, newest first."""
    bbox = None
    if filters.bbox:
        try:
            bbox = tuple(float(v) for v in filters.bbox.split(","))
        except ValueError:
            bbox = ()
        if len(bbox) != 4:
            raise DomainError(
                "invalid", _("bbox must be min_lng,min_lat,max_lng,max_lat."), field="bbox"
            )
    start = _day_start(filters.date_from) if filters.date_from else None
    end = _day_start(filters.date_to + dt.timedelta(days=1)) if filters.date_to else None
    if start and end and end <= start:
        raise DomainError("invalid", _("date_to is before date_from."), field="date_to")
    if start and end and (end - start).days > selectors.SQUARE_DAYS + 1:
        raise DomainError("invalid", _("At most 90 days at a time."), field="date_to")
    items = selectors.square_map_list(
        date_from=start,
        date_to=end,
        categories=filters.category.split(",") if filters.category else None,
        status=filters.status,
        bbox=bbox,
    )
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [i.lng, i.lat]},
                "properties": {
                    "id": i.public_id,
                    "category": i.category_name,
                    "category_code": i.category_code,
                    "class": i.class_name,
                    "state": i.state,
                    "state_label": i.state_label,
                    "status": i.status,
                    "reported_at": i.reported_at,
                    "area": i.area_name,
                },
            }
            for i in items
        ],
    }


def _device_token(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("device "):
        return header[7:].strip()
    return request.headers.get("X-Device-Token", "")


@router.post(
    "/emergency",
    auth=None,
    response={200: PublicCallOut, 201: PublicCallOut},
    summary="One-key emergency call from a registered device (Authorization: Device <token>)",
)
def emergency(request: HttpRequest):
    """201 with a new urgent case; 200 when the press joined the open case of a recent press."""
    result = services.emergency_call(token=_device_token(request))

    return Status(
        201 if result.created else 200,
        {
            "tracking_code": result.case.tracking_code,
            "state": result.case.state,
            "created": result.created,
            "presses": result.presses,
            "message": _("Help is on the way. The service center has been alerted."),
        },
    )
