"""Open311 GeoReport v2 (JSON) over our categories and cases, mounted at /api/open311/v2/.

- ``GET services.json``: the active leaf categories (service_code = category code).
- ``GET services/{code}.json``: the service definition (we ask for no extra attributes).
- ``POST requests.json``: a report (source ``api``), form-encoded as the spec says. Needs an
  ``api_key`` (a per-user token issued with ``manage.py issue_token``).
- ``GET requests/{id}.json``: one request by its service_request_id, which is our tracking code;
  public, like the citizen tracking page, and showing only what that page shows.
- ``GET requests.json``: with ``service_request_id`` (comma list) public per id; without, a search
  that needs an ``api_key`` and is limited to the key owner's scope.

Errors follow GeoReport: a JSON array ``[{"code": <http status>, "description": "…"}]``.
Not supported: XML, ``address_string``-only requests (no geocoder), ``media_url`` (we never
fetch remote URLs; upload photos through /api/cases/attachments instead).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from ninja import Form, Query, Router, Schema, Status

from civicgrid.cases import services as case_services
from civicgrid.cases.models import OPEN_STATES, Case, Category, Source, State
from civicgrid.cases.selectors import case_get_public, case_list_for, case_timeline
from civicgrid.core.errors import DomainError

from .auth import _user_for_token

router = Router(auth=None)

CLOSED_STATES = (State.CLOSED, State.REJECTED, State.MERGED)
MAX_IDS = 50  # per call; each request's public notes cost one query


class Open311Error(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _errors(status: int, description: str) -> JsonResponse:
    return JsonResponse([{"code": status, "description": description}], status=status, safe=False)


def _guard(fn):
    """Turn our errors into GeoReport's error array."""

    def wrapper(request, *args, **kwargs):
        try:
            return fn(request, *args, **kwargs)
        except Open311Error as exc:
            return _errors(exc.status, exc.description)
        except DomainError as exc:
            field = exc.details.get("field")
            text = f"{field}: {exc.message}" if field else exc.message
            return _errors(exc.status, text)

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    wrapper.__annotations__ = fn.__annotations__
    wrapper.__wrapped__ = fn
    return wrapper


def _key_user(request: HttpRequest, api_key: str | None):
    """The owner of the api_key (parameter, Bearer or X-API-Token header), or None."""
    token = (api_key or "").strip()
    if not token:
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("bearer "):
            token = header[7:].strip()
        else:
            token = request.headers.get("X-API-Token", "").strip()
    return _user_for_token(token) if token else None


def _iso(value: dt.datetime | None) -> str | None:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else None


# --- services ---------------------------------------------------------------------------------------


class Open311Service(Schema):
    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: str
    keywords: str
    group: str


class Open311ServiceDefinition(Schema):
    service_code: str
    attributes: list[dict[str, Any]]


def _leaf_categories():
    cats = list(Category.objects.filter(is_active=True).select_related("parent").order_by("code"))
    parents = {c.parent_id for c in cats if c.parent_id}
    return [c for c in cats if c.pk not in parents]


@router.get("/services.json", response=list[Open311Service], summary="GeoReport: service list")
def services(request: HttpRequest):
    return [
        {
            "service_code": c.code,
            "service_name": c.name,
            "description": c.name,
            "metadata": False,
            "type": "realtime",
            "keywords": "",
            "group": c.parent.name if c.parent_id else c.name,
        }
        for c in _leaf_categories()
    ]


@router.get(
    "/services/{service_code}.json",
    response=Open311ServiceDefinition,
    summary="GeoReport: service definition",
)
@_guard
def service_definition(request: HttpRequest, service_code: str):
    if service_code not in {c.code for c in _leaf_categories()}:
        raise Open311Error(404, f"service_code {service_code} not found")
    return {"service_code": service_code, "attributes": []}


# --- requests ---------------------------------------------------------------------------------------


class Open311Request(Schema):
    service_request_id: str
    status: str
    status_notes: str | None
    service_name: str
    service_code: str
    description: str
    agency_responsible: str
    service_notice: str | None
    requested_datetime: str
    updated_datetime: str | None
    expected_datetime: str | None
    address: str
    address_id: str | None
    zipcode: str | None
    lat: float | None
    long: float | None
    media_url: str | None


class Open311Created(Schema):
    service_request_id: str
    service_notice: str | None
    account_id: str | None


class Open311RequestForm(Schema):
    api_key: str | None = None
    service_code: str | None = None
    lat: str | None = None
    long: str | None = None
    address_string: str | None = None
    description: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    email: str | None = None
    device_id: str | None = None
    account_id: str | None = None
    media_url: str | None = None
    client_id: str | None = None  # our extension: a retry with the same id returns the first


class Open311RequestSearch(Schema):
    api_key: str | None = None
    service_request_id: str | None = None
    service_code: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    status: str | None = None


def _public(case: Case) -> dict:
    public_steps = case_timeline(case, public=True)
    notes = [s["note"] for s in public_steps if s["note"]]
    status = "closed" if case.state in CLOSED_STATES else "open"
    if case.department_id:
        agency = case.department.name
    else:
        agency = case.owner.name
    expected = None
    if case.state in OPEN_STATES:
        expected = case.final_due or case.response_due
    return {
        "service_request_id": case.tracking_code,
        "status": status,
        "status_notes": notes[-1] if notes else None,
        "service_name": case.category.name,
        "service_code": case.category.code,
        "description": case.description,
        "agency_responsible": agency,
        "service_notice": str(State(case.state).label),
        "requested_datetime": _iso(case.reported_at),
        "updated_datetime": _iso(case.updated_at),
        "expected_datetime": _iso(expected),
        "address": case.address,
        "address_id": None,
        "zipcode": None,
        "lat": case.lat,
        "long": case.lng,
        "media_url": None,
    }


def _full_name(first: str, last: str) -> str:
    """王 + 小明 → 王小明 (family name first, no space); John + Smith → John Smith."""
    first, last = first.strip(), last.strip()
    if all(ord(ch) >= 0x2E80 for ch in first + last):
        return last + first
    return " ".join(p for p in (first, last) if p)


def _float(value: str | None, name: str) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise Open311Error(400, f"{name} is required and must be a number") from None


@router.post(
    "/requests.json",
    response={201: list[Open311Created]},
    summary="GeoReport: create a service request (form-encoded)",
)
@_guard
def create_request(request: HttpRequest, form: Form[Open311RequestForm]):
    user = _key_user(request, form.api_key)
    if user is None:
        raise Open311Error(403, "a valid api_key is required")
    if not form.service_code:
        raise Open311Error(400, "service_code is required")
    if form.lat is None and form.long is None and form.address_string:
        raise Open311Error(400, "lat and long are required; address lookup is not supported")
    lat, lng = _float(form.lat, "lat"), _float(form.long, "long")
    name = _full_name(form.first_name or "", form.last_name or "")
    case = case_services.case_report(
        actor=user,
        category=form.service_code,
        description=form.description or "",
        lat=lat,
        lng=lng,
        source=Source.API,
        address=form.address_string or "",
        reporter_name=name,
        reporter_phone=form.phone or "",
        client_id=form.client_id or None,
    )
    created = {
        "service_request_id": case.tracking_code,
        "service_notice": str(State(case.state).label),
        "account_id": form.account_id,
    }
    return Status(201, [created])


@router.get(
    "/requests/{service_request_id}.json",
    response=list[Open311Request],
    summary="GeoReport: one service request by id (our tracking code)",
)
@_guard
def get_request(request: HttpRequest, service_request_id: str):
    try:
        return [_public(_with_relations(case_get_public(service_request_id)))]
    except DomainError:
        raise Open311Error(404, f"service_request_id {service_request_id} not found") from None


def _with_relations(case: Case) -> Case:
    return Case.objects.select_related("category", "department", "owner").get(pk=case.pk)


def _date(value: str | None, name: str) -> dt.datetime | None:
    if not value:
        return None
    parsed = parse_datetime(value)
    if parsed is None:
        raise Open311Error(400, f"{name} must be a W3C date-time, e.g. 2026-05-01T08:00:00+08:00")
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


@router.get(
    "/requests.json",
    response=list[Open311Request],
    summary="GeoReport: service requests by id (public) or by search (api_key, scoped)",
)
@_guard
def list_requests(request: HttpRequest, params: Query[Open311RequestSearch]):
    if params.service_request_id:
        codes = [c.strip() for c in params.service_request_id.split(",") if c.strip()][:MAX_IDS]
        rows = Case.objects.select_related("category", "department", "owner").filter(
            tracking_code__in=[c.upper() for c in codes]
        )
        by_code = {c.tracking_code: c for c in rows}
        return [_public(by_code[c.upper()]) for c in codes if c.upper() in by_code]
    user = _key_user(request, params.api_key)
    if user is None:
        raise Open311Error(403, "searching requests needs an api_key; ask by service_request_id")
    if params.status not in (None, "", "open", "closed"):
        raise Open311Error(400, "status must be open or closed")
    start = _date(params.start_date, "start_date")
    end = _date(params.end_date, "end_date")
    state = None
    if params.status == "open":
        state = ",".join(OPEN_STATES)
    elif params.status == "closed":
        state = ",".join(CLOSED_STATES)
    page = case_list_for(
        user,
        limit=MAX_IDS,
        state=state,
        category=params.service_code or None,
        date_from=start,
        date_to=end,
    )
    ids = [c.pk for c in page.items]
    rows = Case.objects.select_related("category", "department", "owner").in_bulk(ids)
    return [_public(rows[i]) for i in ids]
