"""Public pages (no account): report form, tracking page, grid public board (公示牌)."""

from __future__ import annotations

import uuid

import segno
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from shapely.geometry import mapping

from civicgrid.cases.engine import state_label
from civicgrid.core.conf import options
from civicgrid.core.errors import DomainError, NotFound
from civicgrid.security import net
from civicgrid.territory.models import Area, Grid

from . import selectors, services


def client_ip(request: HttpRequest) -> str:
    """The caller's address (settings.CLIENT_IP_HEADER names a trusted proxy's header)."""
    return net.client_ip(request)


def public_url(request: HttpRequest, path: str) -> str:
    """Absolute URL for printed QR codes: CIVICGRID["PUBLIC_BASE_URL"] when the signs are
    printed from an internal address, else the address of this request."""
    base = options().PUBLIC_BASE_URL
    if base:
        return base.rstrip("/") + path
    return request.build_absolute_uri(path)


def _map_settings() -> dict:
    return {
        "tiles": getattr(settings, "MAP_TILE_URL", ""),
        "attribution": getattr(settings, "MAP_TILE_ATTRIBUTION", ""),
    }


def _home_bounds() -> list[float] | None:
    """The bounding box of the top-level area, where the map opens without a grid."""
    row = (
        Area.objects.filter(parent__isnull=True, min_lng__isnull=False)
        .order_by("code")
        .values_list("min_lng", "min_lat", "max_lng", "max_lat")
        .first()
    )
    return list(row) if row else None


def _grouped_categories() -> list[tuple[str, list]]:
    groups: dict[str, tuple[str, list]] = {}
    for c in selectors.public_categories():
        groups.setdefault(c.parent.code, (c.parent.name, []))[1].append(c)
    return [groups[k] for k in sorted(groups)]


@never_cache
@ensure_csrf_cookie
def report(request: HttpRequest) -> HttpResponse:
    """The citizen report form; POST files the report and opens its tracking page."""
    grid_code = (request.GET.get("grid") or request.POST.get("grid") or "").strip()
    grid = Grid.objects.select_related("area").filter(code=grid_code).first() if grid_code else None
    error = None
    status = 200
    data = request.POST if request.method == "POST" else {}
    if request.method == "POST":
        try:
            case, _created = services.citizen_report(
                ip=client_ip(request),
                category=data.get("category", ""),
                description=data.get("description", ""),
                lat=data.get("lat") or None,
                lng=data.get("lng") or None,
                crs=data.get("crs") or "wgs84",
                grid_code=grid.code if grid else "",
                address=data.get("address", ""),
                phone=data.get("phone", ""),
                name=data.get("name", ""),
                client_id=data.get("client_id", ""),
                attachments=request.FILES.getlist("photos"),
                actor=request.user,
            )
        except DomainError as exc:
            error = exc
            status = exc.status if exc.status in (400, 403, 404, 409, 429) else 400
        else:
            return redirect(reverse("public:track", args=[case.tracking_code]) + "?new=1")
    context = {
        "categories": _grouped_categories(),
        "grid": grid,
        "grid_geojson": mapping(grid.geometry) if grid and grid.geometry else None,
        "home_bounds": _home_bounds(),
        "client_id": data.get("client_id") or str(uuid.uuid4()),
        "data": data,
        "error": error,
        "map": _map_settings(),
    }
    return render(request, "public/report.html", context, status=status)


def track_lookup(request: HttpRequest) -> HttpResponse:
    code = (request.GET.get("code") or "").strip().upper()
    if code:
        return redirect("public:track", code=code)
    return render(request, "public/track_lookup.html", {})


@never_cache
@ensure_csrf_cookie
def track(request: HttpRequest, code: str) -> HttpResponse:
    """Public timeline of a report; after closure the reporter may rate it once."""
    try:
        pc = selectors.tracking_get(code)
    except NotFound:
        return render(request, "public/track_lookup.html", {"missing": code}, status=404)
    rate_error = None
    if request.method == "POST":
        try:
            services.citizen_rate(
                tracking_code=pc.case.tracking_code,
                score=request.POST.get("score"),
                text=request.POST.get("text", ""),
                actor=request.user,
            )
        except DomainError as exc:
            rate_error = exc.message
        else:
            return redirect(reverse("public:track", args=[pc.case.tracking_code]) + "?rated=1")
    return render(
        request,
        "public/track.html",
        {
            "pc": pc,
            "case": pc.case,
            "steps": _service_steps()
            if pc.case.flow == "service"
            else [
                pgettext("progress step", "Reported"),
                pgettext("progress step", "Filed"),
                pgettext("progress step", "Assigned"),
                pgettext("progress step", "Handling"),
                pgettext("progress step", "Checking"),
            ],
            "state_text": state_label(pc.case.state, pc.case.flow),
            "is_new": request.GET.get("new") == "1",
            "rated": request.GET.get("rated") == "1",
            "rate_error": rate_error,
            "scores": [5, 4, 3, 2, 1],
        },
    )


def _service_steps() -> list[str]:
    """The 六联单 vocabulary of a service order's progress bar (docs/party.md)."""
    return [
        pgettext("service step", "Order placed"),
        pgettext("service step", "Order taken"),
        pgettext("service step", "Dispatched"),
        pgettext("service step", "Being fulfilled"),
        pgettext("service step", "Checking"),
    ]


def _qr_svg(url: str, scale: int = 4) -> str:
    qr = segno.make(url, error="m")
    return qr.svg_inline(scale=scale, border=2, dark="#0b2a5b")


def board(request: HttpRequest, code: str) -> HttpResponse:
    """网格公示牌: the grid's public board, printable on an A4 or A3 sign."""
    b = selectors.board_get(code)
    board_url = public_url(request, reverse("public:board", args=[b.grid.code]))
    report_url = public_url(request, reverse("public:report") + f"?grid={b.grid.code}")
    size = request.GET.get("size", "a4").lower()
    return render(
        request,
        "public/board.html",
        {
            "b": b,
            "grid": b.grid,
            "geojson": mapping(b.geometry) if b.geometry is not None else None,
            "board_url": board_url,
            "report_url": report_url,
            "qr_board": _qr_svg(board_url),
            "qr_report": _qr_svg(report_url),
            "size": size if size in ("a4", "a3") else "a4",
            "map": _map_settings(),
        },
    )


def square(request: HttpRequest) -> HttpResponse:
    """广场地图: public matters on a map with category and progress filters (mobile first)."""
    classes = {}
    for c in selectors.public_categories():
        if c.is_private or c.parent.is_private:
            continue
        classes.setdefault(c.parent.code, c.parent.name)
    return render(
        request,
        "public/square.html",
        {
            "classes": sorted(classes.items()),
            "config": {
                "data": reverse("api:public_square"),
                "bounds": _home_bounds(),
                "tiles": _map_settings()["tiles"],
                "attribution": _map_settings()["attribution"],
                "empty": _("No public matters here in the last 90 days."),
                "shown": _("public matters of the last 90 days on the map"),
            },
        },
    )


# --- the admission list (准入清单), published ------------------------------------------------


def _admission_rows(request: HttpRequest):
    from civicgrid.cases.admission import admitted_items

    qs = admitted_items()
    text = (request.GET.get("q") or "").strip()[:50]
    if text:
        qs = qs.filter(name__icontains=text) | qs.filter(department__name__icontains=text)
    return qs, text


def admission(request: HttpRequest) -> HttpResponse:
    """The current admission list: only admitted items, by department (no login)."""
    qs, text = _admission_rows(request)
    groups: dict[int, dict] = {}
    for item in qs:
        g = groups.setdefault(
            item.department_id,
            {"department": item.department, "area": item.department.area.name, "items": []},
        )
        g["items"].append(item)
    return render(
        request,
        "public/admission.html",
        {
            "groups": list(groups.values()),
            "q": text,
            "total": sum(len(g["items"]) for g in groups.values()),
        },
    )


def admission_export(request: HttpRequest) -> HttpResponse:
    """The same list as an Excel workbook (formula-safe cells)."""
    import io

    from openpyxl import Workbook

    from civicgrid.core.spreadsheets import xlsx_row

    qs, _text = _admission_rows(request)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=_("Admission list")[:31])
    ws.append(
        [
            _("Area"),
            _("Department"),
            _("Code"),
            _("Item"),
            _("Class"),
            _("Legal basis"),
            _("Why the grid"),
            _("Expected workload"),
            _("Admitted on"),
        ]
    )
    for item in qs:
        ws.append(
            xlsx_row(
                ws,
                [
                    item.department.area.name,
                    item.department.name,
                    item.code,
                    item.name,
                    item.item_class,
                    item.legal_basis,
                    item.why_grid,
                    item.workload,
                    timezone.localdate(item.decided_at).isoformat() if item.decided_at else "",
                ],
            )
        )
    buf = io.BytesIO()
    wb.save(buf)
    response = HttpResponse(
        buf.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = 'attachment; filename="admission-list.xlsx"'
    return response
