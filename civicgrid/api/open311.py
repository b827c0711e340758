"""Open311 GeoReport v2 over our categories and cases, mounted at /api/open311/v2/.

Every endpoint answers in XML (the specification's primary format) and JSON, chosen by the
extension (``services.xml`` / ``services.json``); every endpoint accepts ``jurisdiction_id``
(ours is CIVICGRID["OPEN311_JURISDICTION"], default the code of the top-level area; any other
value answers 404). Errors are the specification's error arrays in the same format:
``[{"code": 403, "description": "…"}]`` / ``<errors><error><code>…``.

- ``GET discovery``: the endpoint, its formats and the specification.
- ``GET services``: the active leaf categories (service_code = category code).
- ``GET services/{code}``: the service definition (we ask for no extra attributes).
- ``POST requests``: a report (source ``api``), form-encoded. Needs an ``api_key``.
- ``GET requests/{id}``: by tracking code, what the citizen tracking page shows; by a square-map
  id (``M…``), the public square-map projection.
- ``GET requests``: with ``service_request_id`` (comma list) per id as above; with an
  ``api_key``, a search in the key owner's scope; without a key, the public square map
  (public.selectors.square_map_list): coarsened points, no names, phones, descriptions,
  addresses or notes, never a private category, the last 90 days unless dates are given.

Not supported: ``address_string``-only requests (no geocoder), ``media_url`` (we never fetch
remote URLs; upload photos through /api/cases/attachments instead), tokens (the id is returned
at once).
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
import xml.etree.ElementTree as ET
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from ninja import Form, Query, Router, Schema

from civicgrid.cases import services as case_services
from civicgrid.cases.models import OPEN_STATES, Case, Category, Source, State
from civicgrid.cases.selectors import case_list_for, case_timeline
from civicgrid.core.conf import options
from civicgrid.core.errors import DomainError
from civicgrid.public import selectors as public_selectors

from .auth import _user_for_token

router = Router(auth=None)

CLOSED_STATES = (State.CLOSED, State.REJECTED, State.MERGED)
MAX_IDS = 50  # per call; each request's public notes cost one query
SEARCH_DAYS = 90  # GeoReport: a search range may not span more than 90 days
FORMATS = {"json": "application/json", "xml": "text/xml"}
SPEC_URL = "http://wiki.open311.org/GeoReport_v2"
# XML names of list items: <services><service>, <endpoints><endpoint>, ...
XML_ITEMS = {
    "services": "service",
    "service_requests": "request",
    "endpoints": "endpoint",
    "formats": "format",
    "attributes": "attribute",
    "values": "value",
    "errors": "error",
}


class Open311Error(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


# --- rendering -----------------------------------------------------------------------------------


def _xml_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _xml_fill(parent: ET.Element, value: Any, item_name: str) -> None:
    if isinstance(value, dict):
        for key, sub in value.items():
            child = ET.SubElement(parent, key)
            _xml_fill(child, sub, XML_ITEMS.get(key, "item"))
    elif isinstance(value, list):
        for sub in value:
            child = ET.SubElement(parent, item_name)
            _xml_fill(child, sub, XML_ITEMS.get(item_name, "item"))
    else:
        parent.text = _xml_text(value)


def to_xml(root: str, value: Any) -> bytes:
    element = ET.Element(root)
    _xml_fill(element, value, XML_ITEMS.get(root, "item"))
    return ET.tostring(element, encoding="utf-8", xml_declaration=True)


def render(fmt: str, root: str, value: Any, status: int = 200) -> HttpResponse:
    """``value`` as JSON, or as XML under the element ``root`` (lists: one child per item)."""
    if fmt == "xml":
        return HttpResponse(
            to_xml(root, value), status=status, content_type="text/xml; charset=utf-8"
        )
    return JsonResponse(value, status=status, safe=False, json_dumps_params={"ensure_ascii": False})


def _format_of(request: HttpRequest) -> str:
    return "xml" if request.path.endswith(".xml") else "json"


def error_response(request: HttpRequest, status: int, description: str) -> HttpResponse:
    """GeoReport's error array in the format the request asked for."""
    return render(
        _format_of(request), "errors", [{"code": status, "description": description}], status
    )


def _both_formats(method: str, path: str, **options):
    """Register ``fn(request, fmt, ...)`` as ``path.json`` and ``path.xml``; our errors become
    GeoReport error arrays and ``jurisdiction_id`` is checked on each."""

    def decorator(fn):
        sig = inspect.signature(fn)
        params = [p for name, p in sig.parameters.items() if name != "fmt"]
        for fmt in FORMATS:

            def endpoint(request, *args, _fmt=fmt, **kwargs):
                try:
                    _check_jurisdiction(request)
                    return fn(request, _fmt, *args, **kwargs)
                except Open311Error as exc:
                    return error_response(request, exc.status, exc.description)
                except DomainError as exc:
                    field = exc.details.get("field")
                    text = f"{field}: {exc.message}" if field else exc.message
                    return error_response(request, exc.status, text)

            functools.update_wrapper(endpoint, fn)
            del endpoint.__wrapped__  # ninja must read the signature below, without fmt
            endpoint.__signature__ = sig.replace(parameters=params)
            endpoint.__name__ = f"{fn.__name__}_{fmt}"
            getattr(router, method)(
                f"{path}.{fmt}",
                operation_id=f"open311_{fn.__name__}_{fmt}",
                url_name=f"open311_{fn.__name__}_{fmt}",
                **options,
            )(endpoint)
        return fn

    return decorator


def jurisdiction_id() -> str:
    configured = options().OPEN311_JURISDICTION
    if configured:
        return str(configured)
    from civicgrid.territory.models import Area

    root = Area.objects.filter(parent__isnull=True).order_by("code").values_list("code", flat=True)
    return root.first() or "civicgrid"


def _check_jurisdiction(request: HttpRequest) -> None:
    value = (request.GET.get("jurisdiction_id") or "").strip()
    if not value and request.method == "POST":
        value = (request.POST.get("jurisdiction_id") or "").strip()
    if value and value != jurisdiction_id():
        raise Open311Error(404, f"jurisdiction_id {value} is not served here")


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


# --- discovery and services ------------------------------------------------------------------------


class Open311Jurisdiction(Schema):
    jurisdiction_id: str | None = None


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


@_both_formats("get", "/discovery", summary="GeoReport: discovery (endpoint, formats)")
def discovery(request: HttpRequest, fmt: str, params: Query[Open311Jurisdiction]):
    base = request.build_absolute_uri(reverse("api:open311_services_json"))
    base = base.rsplit("/", 1)[0]
    contact = options().OPEN311_CONTACT
    changeset = "2026-12-01T00:00:00Z"
    return render(
        fmt,
        "discovery",
        {
            "changeset": changeset,
            "contact": contact,
            "key_service": "API keys are issued by the service center (manage.py issue_token).",
            "endpoints": [
                {
                    "specification": SPEC_URL,
                    "url": base,
                    "changeset": changeset,
                    "type": "production",
                    "formats": list(FORMATS.values()),
                }
            ],
        },
    )


def _leaf_categories():
    cats = list(Category.objects.filter(is_active=True).select_related("parent").order_by("code"))
    parents = {c.parent_id for c in cats if c.parent_id}
    return [c for c in cats if c.pk not in parents]


@_both_formats("get", "/services", response=list[Open311Service], summary="GeoReport: service list")
def services(request: HttpRequest, fmt: str, params: Query[Open311Jurisdiction]):
    rows = [
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
    return render(fmt, "services", rows)


@_both_formats(
    "get",
    "/services/{service_code}",
    response=Open311ServiceDefinition,
    summary="GeoReport: service definition",
)
def service_definition(
    request: HttpRequest, fmt: str, service_code: str, params: Query[Open311Jurisdiction]
):
    if service_code not in {c.code for c in _leaf_categories()}:
        raise Open311Error(404, f"service_code {service_code} not found")
    return render(fmt, "service_definition", {"service_code": service_code, "attributes": []})


# --- requests ---------------------------------------------------------------------------------------


class Open311Request(Schema):
    service_request_id: str
    status: str
    status_notes: str | None
    service_name: str
    service_code: str
    description: str | None
    agency_responsible: str | None
    service_notice: str | None
    requested_datetime: str
    updated_datetime: str | None
    expected_datetime: str | None
    address: str | None
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
    jurisdiction_id: str | None = None
    service_code: str | None = None
    lat: str | None = None
    long: str | None = None
    address_string: str | None = None
    address_id: str | None = None
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
    jurisdiction_id: str | None = None
    service_request_id: str | None = None
    service_code: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    status: str | None = None


def _public(case: Case) -> dict:
    """What the citizen tracking page shows of a case, to whoever holds its tracking code."""
    notes = [s["note"] for s in case_timeline(case, public=True) if s["note"]]
    status = "closed" if case.state in CLOSED_STATES else "open"
    agency = case.department.name if case.department_id else case.owner.name
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


def _square(item: public_selectors.SquareItem) -> dict:
    """The public square-map projection as a GeoReport request."""
    return {
        "service_request_id": item.public_id,
        "status": item.status,
        "status_notes": None,
        "service_name": item.category_name,
        "service_code": item.category_code,
        "description": None,
        "agency_responsible": None,
        "service_notice": item.state_label,
        "requested_datetime": _iso(item.reported_at),
        "updated_datetime": _iso(item.updated_at),
        "expected_datetime": None,
        "address": item.area_name,
        "address_id": None,
        "zipcode": None,
        "lat": item.lat,
        "long": item.lng,
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
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise Open311Error(400, f"{name} is required and must be a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise Open311Error(400, f"{name} must be a finite number")
    return number


@_both_formats(
    "post",
    "/requests",
    response={201: list[Open311Created]},
    summary="GeoReport: create a service request (form-encoded)",
)
def create_request(request: HttpRequest, fmt: str, form: Form[Open311RequestForm]):
    user = _key_user(request, form.api_key)
    if user is None:
        raise Open311Error(403, "a valid api_key is required")
    if not form.service_code:
        raise Open311Error(400, "service_code is required")
    if form.lat is None and form.long is None and (form.address_string or form.address_id):
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
    return render(fmt, "service_requests", [created], status=201)


def _with_relations(codes: list[str]) -> dict[str, Case]:
    rows = Case.objects.select_related("category", "department", "owner").filter(
        tracking_code__in=codes
    )
    return {c.tracking_code: c for c in rows}


def _by_ids(ids: list[str]) -> list[dict]:
    """Each id: a tracking code (the tracking page's view) or a square-map id (the map's)."""
    cases = _with_relations([i.upper() for i in ids])
    out = []
    for raw in ids:
        key = raw.upper()
        if key in cases:
            out.append(_public(cases[key]))
            continue
        try:
            out.append(_square(public_selectors.square_map_get(key)))
        except DomainError:
            continue
    return out


@_both_formats(
    "get",
    "/requests/{service_request_id}",
    response=list[Open311Request],
    summary="GeoReport: one service request (tracking code, or square-map id M…)",
)
def get_request(
    request: HttpRequest, fmt: str, service_request_id: str, params: Query[Open311Jurisdiction]
):
    rows = _by_ids([service_request_id.strip()]) if len(service_request_id) <= 20 else []
    if not rows:
        raise Open311Error(404, f"service_request_id {service_request_id} not found")
    return render(fmt, "service_requests", rows)


def _date(value: str | None, name: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = parse_datetime(value.strip())
    except ValueError:
        parsed = None
    if parsed is None:
        raise Open311Error(400, f"{name} must be a W3C date-time, e.g. 2026-05-01T08:00:00+08:00")
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


def _window(start: dt.datetime | None, end: dt.datetime | None):
    """GeoReport's date rules: default the last 90 days; a range spans at most 90 days."""
    if start and end:
        if end < start:
            raise Open311Error(400, "end_date is before start_date")
        if end - start > dt.timedelta(days=SEARCH_DAYS):
            raise Open311Error(400, f"start_date to end_date may span at most {SEARCH_DAYS} days")
        return start, end
    if start:
        return start, start + dt.timedelta(days=SEARCH_DAYS)
    end = end or timezone.now()
    return end - dt.timedelta(days=SEARCH_DAYS), end


@_both_formats(
    "get",
    "/requests",
    response=list[Open311Request],
    summary="GeoReport: requests by id, by search (api_key: scoped) or the public square map",
)
def list_requests(request: HttpRequest, fmt: str, params: Query[Open311RequestSearch]):
    if params.service_request_id:
        ids = [c.strip() for c in params.service_request_id.split(",") if c.strip()][:MAX_IDS]
        return render(fmt, "service_requests", _by_ids([i for i in ids if len(i) <= 20]))
    statuses = [s.strip() for s in (params.status or "").split(",") if s.strip()]
    if not set(statuses) <= {"open", "closed"}:
        raise Open311Error(400, "status must be open or closed (comma list)")
    status = statuses[0] if len(set(statuses)) == 1 else None
    start, end = _window(_date(params.start_date, "start_date"), _date(params.end_date, "end_date"))
    codes = [c.strip() for c in (params.service_code or "").split(",") if c.strip()]
    if params.api_key or request.headers.get("Authorization") or request.headers.get("X-API-Token"):
        user = _key_user(request, params.api_key)
        if user is None:
            raise Open311Error(403, "the api_key is not valid")
        return render(fmt, "service_requests", _search(user, status, codes, start, end))
    items = public_selectors.square_map_list(
        date_from=start, date_to=end, categories=codes or None, status=status
    )
    return render(fmt, "service_requests", [_square(i) for i in items])


def _search(user, status, codes, start, end) -> list[dict]:
    state = None
    if status == "open":
        state = ",".join(OPEN_STATES)
    elif status == "closed":
        state = ",".join(CLOSED_STATES)
    page = case_list_for(
        user,
        limit=MAX_IDS,
        state=state,
        category=",".join(codes) or None,
        date_from=start,
        date_to=end,
    )
    ids = [c.pk for c in page.items]
    rows = Case.objects.select_related("category", "department", "owner").in_bulk(ids)
    return [_public(rows[i]) for i in ids]
