"""The grid workers' mobile app (/field/): server-rendered pages, actions through the field API.

Pages are plain HTML; every write goes through the phone's outbox (IndexedDB, see
static/civicgrid/js/field.js) to /api/field/, so an action taken without network is kept and
sent later. The service worker (sw.js) keeps the pages and assets available offline.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET
from shapely.geometry import mapping

from civicgrid.cases.engine import allowed_actions, capacities, state_label
from civicgrid.cases.models import Attachment, State
from civicgrid.cases.selectors import case_get_for
from civicgrid.people.access import principal_of
from civicgrid.public.selectors import public_categories

from . import selectors, services
from .models import Patrol, PatrolState

field_login = login_required(login_url=reverse_lazy("field:login"))


def _page(view):
    """A field page: signed in, never cached by the browser (the service worker caches)."""
    return field_login(never_cache(ensure_csrf_cookie(view)))


class LoginView(auth_views.LoginView):
    template_name = "field/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self):
        return reverse("field:home")


def _map_settings() -> dict:
    return {
        "tiles": getattr(settings, "MAP_TILE_URL", ""),
        "attribution": getattr(settings, "MAP_TILE_ATTRIBUTION", ""),
    }


def _grid_shapes(grids, *, neighbours: bool = False) -> dict:
    """My grids as GeoJSON (``mine``), with the other grids of my communities for context:
    without a tile server the outlines are the only base map, and the page works offline."""
    mine = {g.pk for g in grids}
    shown = list(grids)
    if neighbours and grids:
        from civicgrid.territory.models import Grid

        shown += list(
            Grid.objects.filter(area_id__in={g.area_id for g in grids})
            .exclude(pk__in=mine)
            .order_by("code")[:80]
        )
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": g.code, "name": g.name, "mine": g.pk in mine},
                "geometry": mapping(g.geometry.simplify(0.00001, preserve_topology=True)),
            }
            for g in shown
            if g.geometry is not None
        ],
    }


@_page
def home(request: HttpRequest) -> HttpResponse:
    grids = selectors.my_grids(request.user)
    box = selectors.worker_inbox(request.user, limit=5)
    active = Patrol.objects.filter(worker=request.user, state=PatrolState.ACTIVE).first()
    today = timezone.localdate()
    start = timezone.make_aware(dt.datetime.combine(today, dt.time.min))
    today_patrols = Patrol.objects.filter(worker=request.user, started_at__gte=start)
    km_today = sum(p.distance_m for p in today_patrols) / 1000
    hour = timezone.localtime().hour
    greeting = (
        _("Good morning") if hour < 11 else _("Good afternoon") if hour < 18 else _("Good evening")
    )
    return render(
        request,
        "field/home.html",
        {
            "tab": "home",
            "grids": grids,
            "box": box,
            "todo": len(box.dispatched) + len(box.tasks),
            "active_patrol": active,
            "km_today": km_today,
            "greeting": greeting,
            "is_worker": services.is_field_worker(request.user),
            "recent": selectors.my_reports(request.user, limit=5),
        },
    )


@_page
def tasks(request: HttpRequest) -> HttpResponse:
    tab = request.GET.get("tab", "dispatched")
    if tab not in ("dispatched", "verify", "self", "grid"):
        tab = "dispatched"
    return render(
        request,
        "field/tasks.html",
        {"tab": "tasks", "seg": tab, "box": selectors.worker_inbox(request.user, limit=100)},
    )


@_page
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    principal = principal_of(request)
    case = case_get_for(principal, pk)
    caps = capacities(principal, case)
    actions = set(allowed_actions(principal, case, caps))
    photos = list(Attachment.objects.filter(case=case).order_by("id"))
    return render(
        request,
        "field/case.html",
        {
            "tab": "tasks",
            "case": case,
            "state_label": state_label(case.state, case.flow),
            "actions": actions,
            "can_verify": "verify" in actions and case.worker_id != request.user.pk,
            # 吹哨: a grid chief calls departments serving the case's location.
            "whistle_departments": _serving_departments(case) if "whistle" in actions else [],
            "photos": photos,
            "timeline": _timeline(case),
            "is_handled": case.state == State.HANDLED,
        },
    )


def _serving_departments(case) -> list:
    from civicgrid.people.models import Department

    depts = (
        Department.objects.filter(is_active=True)
        .select_related("area")
        .defer("area__boundary")
        .order_by("area__code", "code")
    )
    return [d for d in depts if case.scope_code.startswith(d.area.prefix)]


def _timeline(case) -> list[dict]:
    from civicgrid.cases.selectors import case_timeline

    return list(reversed(case_timeline(case)))


@_page
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    task = selectors.grid_task_get_for(request.user, pk)
    return render(request, "field/task.html", {"tab": "tasks", "task": task})


@_page
def report(request: HttpRequest) -> HttpResponse:
    grids = selectors.my_grids(request.user)
    cats = public_categories()
    groups: dict[str, tuple[str, list]] = {}
    for c in cats:
        groups.setdefault(c.parent.code, (c.parent.name, []))[1].append(c)
    return render(
        request,
        "field/report.html",
        {
            "tab": "report",
            "groups": [groups[k] for k in sorted(groups)],
            "self_closable": [c.code for c in cats if c.self_closable],
            "photo_required": [c.code for c in cats if c.photo_required],
            "grids_geojson": _grid_shapes(grids, neighbours=True),
            "map": _map_settings(),
        },
    )


@_page
def patrol(request: HttpRequest) -> HttpResponse:
    grids = selectors.my_grids(request.user)
    recent = selectors.patrol_list_for(request.user, worker=request.user.pk, limit=10)
    return render(
        request,
        "field/patrol.html",
        {
            "tab": "patrol",
            "grids_geojson": _grid_shapes(grids, neighbours=True),
            "recent": recent,
            "map": _map_settings(),
            "can_patrol": bool(grids),
        },
    )


@_page
def patrol_detail(request: HttpRequest, key: str) -> HttpResponse:
    p = selectors.patrol_get_for(request.user, key)
    from civicgrid.territory.models import Grid

    codes = [c for c in (p.grid_stats or {}) if c]
    grids = list(Grid.objects.filter(code__in=codes))
    names = {g.code: g.name for g in grids}
    rows = [
        {
            "code": code,
            "name": names.get(code, code) if code else _("Outside every grid"),
            "seconds": secs,
            "km": metres / 1000,
        }
        for code, (secs, metres) in sorted((p.grid_stats or {}).items(), key=lambda kv: -kv[1][0])
    ]
    checkins = list(p.checkins.select_related("place").order_by("checked_at"))
    return render(
        request,
        "field/replay.html",
        {
            "tab": "patrol",
            "p": p,
            "rows": rows,
            "grids_geojson": _grid_shapes(grids),
            "map": _map_settings(),
            "checkins": checkins,
            # Names reach the page as JSON (json_script) and the map as text nodes.
            "replay_conf": {
                "track": f"/api/field/patrols/{p.pk}/track",
                "checkins": [
                    {"lat": c.place.lat, "lng": c.place.lng, "name": c.place.name} for c in checkins
                ],
            },
        },
    )


@_page
def checkin(request: HttpRequest) -> HttpResponse:
    places = selectors.keyplace_list_for(request.user)
    recent = selectors.checkin_list_for(request.user, limit=20, worker=request.user.pk)
    return render(
        request,
        "field/checkin.html",
        {
            "tab": "patrol",
            "places": [
                {
                    "id": p.pk,
                    "name": p.name,
                    "kind": str(p.get_kind_display()),
                    "grid": p.grid.name,
                    "lat": p.lat,
                    "lng": p.lng,
                    "radius": p.radius_m,
                    "address": p.address,
                }
                for p, _d in places
            ],
            "recent": recent,
        },
    )


@_page
def outbox(request: HttpRequest) -> HttpResponse:
    return render(request, "field/outbox.html", {"tab": "me"})


@_page
def me(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "field/me.html",
        {
            "tab": "me",
            "grids": selectors.my_grids(request.user),
            "recent": selectors.my_reports(request.user, limit=10),
        },
    )


def offline(request: HttpRequest) -> HttpResponse:
    return render(request, "field/offline.html", {})


# --- PWA plumbing ----------------------------------------------------------------------------

SHELL_ASSETS = [
    "civicgrid/css/mobile.css",
    "civicgrid/js/field.js",
    "civicgrid/js/field-report.js",
    "civicgrid/js/field-case.js",
    "civicgrid/js/field-patrol.js",
    "civicgrid/js/field-replay.js",
    "civicgrid/img/field-icon-192.png",
    "civicgrid/img/field-icon-512.png",
    "vendor/leaflet/leaflet.js",
    "vendor/leaflet/leaflet.css",
    # the other apps' pages under /field/ (base-data collection and visits, disputes and 回访)
    "basedata/css/field.css",
    "basedata/js/field-collect.js",
    "basedata/js/field-visits.js",
    "mediation/field.css",
    "mediation/field-mediation.js",
]
# URL names of the pages kept for offline use: the field app's own and the pages other apps mount
# under /field/ (within the worker's scope).
SHELL_PAGES = [
    *(f"field:{n}" for n in ("home", "report", "patrol", "tasks", "checkin", "outbox", "me")),
    "basedata_field:collect",
    "basedata_field:visits",
    "mediation_field:home",
    "mediation_field:new",
    "field:offline",
]


def _assets() -> list[str]:
    out = []
    for a in SHELL_ASSETS:
        try:
            out.append(static(a))
        except ValueError:  # not collected yet (manifest storage): skip rather than fail
            continue
    return out


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker, scoped to /field/; its version changes with the asset URLs."""
    assets = _assets()
    pages = [reverse(n) for n in SHELL_PAGES]
    version = hashlib.sha256(json.dumps([assets, pages]).encode()).hexdigest()[:12]
    body = render(
        request,
        "field/sw.js",
        {
            "version": version,
            "assets": json.dumps(assets),
            "pages": json.dumps(pages),
            "offline": reverse("field:offline"),
            "scope": reverse("field:home"),
            "static_url": settings.STATIC_URL,
        },
        content_type="application/javascript; charset=utf-8",
    )
    body["Cache-Control"] = "no-cache"
    body["Service-Worker-Allowed"] = reverse("field:home")
    return body


@require_GET
def manifest(request: HttpRequest) -> JsonResponse:
    data = {
        "name": _("civicgrid field app"),
        "short_name": _("Grid worker"),
        "description": _("Report, patrol and check in as a grid worker, online or offline."),
        "lang": "zh-CN",
        "start_url": reverse("field:home"),
        "scope": reverse("field:home"),
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#f3f5f9",
        "theme_color": "#1668dc",
        "icons": [
            {
                "src": static("civicgrid/img/field-icon-192.png"),
                "sizes": "192x192",
                "type": "image/png",
                "purpose": "any",
            },
            {
                "src": static("civicgrid/img/field-icon-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "any",
            },
            {
                "src": static("civicgrid/img/field-icon-maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
        "shortcuts": [
            {"name": _("Report an event"), "url": reverse("field:report")},
            {"name": pgettext("mobile", "Patrol"), "url": reverse("field:patrol")},
        ],
    }
    resp = JsonResponse(data, json_dumps_params={"ensure_ascii": False})
    resp["Content-Type"] = "application/manifest+json"
    return resp
