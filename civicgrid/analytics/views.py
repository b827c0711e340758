"""Pages: the one-screen dashboard, exports with progress bars, the grid-worker assessment.

The dashboard page is a shell: ``dashboard.js`` fetches /api/analytics/dashboard (the same
call the API offers) and refreshes it. Exports are HTMX: the request form posts, each row of the
list polls its own fragment until the worker is done and then shows the download link.
"""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET, require_POST

from civicgrid.cases.models import Category, Source
from civicgrid.core.errors import DomainError, Forbidden
from civicgrid.core.files import serve_file
from civicgrid.ops.replica import replica_reads
from civicgrid.people.models import Department

from .assessment import FIELD_KEYS, SORT_KEYS, month_of, worker_assessment
from .dashboard import current_area
from .models import Export, ExportFormat, ExportKind, ExportState
from .periods import KINDS
from .selectors import analytics_prefixes, can_view_analytics, resolve_filters
from .services import export_request

REFRESH_SECONDS = 60


def _refuse(request, exc: DomainError):
    if exc.status == 404:
        raise Http404(exc.message)
    return render(request, "analytics/refused.html", {"message": exc.message}, status=exc.status)


def _departments(user):
    prefixes = analytics_prefixes(user)
    qs = Department.objects.filter(is_active=True).select_related("area")
    if prefixes is None:
        return list(qs)
    # Departments serving anything in the user's scope: their area contains or is inside it.
    return [
        d
        for d in qs
        if any(d.area.code.startswith(p) or p.startswith(d.area.prefix) for p in prefixes)
    ]


@login_required
@require_GET
@replica_reads()
def dashboard(request):
    g = request.GET
    try:
        filters = resolve_filters(
            request.user,
            area=g.get("area", ""),
            category=g.get("category", ""),
            source=g.get("source", ""),
            department=g.get("department", ""),
        )
    except DomainError as exc:
        return _refuse(request, exc)
    node = current_area(request.user, filters)
    config = {
        "api": {
            "dashboard": reverse("api:analytics_dashboard"),
            "map": reverse("api:analytics_map"),
            "exports": reverse("api:analytics_exports"),
        },
        "exportsPage": reverse("analytics:exports"),
        "refreshSeconds": REFRESH_SECONDS,
        "params": {
            "period": g.get("period", "month"),
            "date": g.get("date", ""),
            "start": g.get("start", ""),
            "end": g.get("end", ""),
            **filters.as_params(),
        },
        "bigscreen": g.get("screen") == "big",
        "root": node.code if node is not None else "",
        "i18n": _js_strings(),
    }
    return render(
        request,
        "analytics/dashboard.html",
        {
            "config": config,
            "periods": [(k, _period_label(k)) for k in KINDS if k != "custom"],
            "categories": Category.objects.filter(parent__isnull=True, is_active=True),
            "sources": Source.choices,
            "departments": _departments(request.user),
            "filters": filters,
            "params": config["params"],
        },
    )


def _period_label(kind: str) -> str:
    return {
        "day": _("Today"),
        "week": _("This week"),
        "month": _("This month"),
        "quarter": _("This quarter"),
        "year": _("This year"),
    }.get(kind, kind)


def _js_strings() -> dict[str, str]:
    return {
        "vsPrevious": _("vs prev."),
        "vsYearAgo": _("vs last yr"),
        "noData": _("No data"),
        "received": pgettext("analytics", "Received"),
        "filed": pgettext("analytics", "Filed"),
        "closed": pgettext("analytics", "Closed"),
        "closedOnTime": pgettext("analytics", "Closed on time"),
        "overdue": pgettext("analytics", "Overdue"),
        "open": pgettext("analytics", "Open"),
        "onTimeCloseRate": _("On-time close rate"),
        "closeRate": _("Close rate"),
        "hours": _("h"),
        "workHours": _("working h"),
        "p90": _("P90"),
        "mean": _("mean"),
        "updated": _("Updated"),
        "drill": _("Click to drill down"),
        "mapOpen": pgettext("analytics", "Open cases"),
        "mapOverdue": pgettext("analytics", "Overdue cases"),
        "noWarnings": _("No early warnings today."),
        "noOverdue": _("No overdue cases."),
        "warningText": _("%(n)s today, usually %(b)s a day (p = %(p)s)"),
        "exportQueued": _("Export queued — follow its progress on the exports page."),
        "loadFailed": _("Could not load the dashboard; retrying."),
        "score": pgettext("analytics", "Score"),
        "cases": _("cases"),
        "overdueHours": _("h overdue"),
    }


@login_required
@require_GET
def exports(request):
    if not can_view_analytics(request.user):
        return _refuse(request, Forbidden(_("No access.")))
    rows = Export.objects.filter(user=request.user)[:30]
    return render(
        request,
        "analytics/exports.html",
        {"rows": rows, "kinds": ExportKind.choices, "formats": ExportFormat.choices},
    )


@login_required
@require_POST
def export_new(request):
    params = {k: v for k, v in request.POST.items() if k not in ("csrfmiddlewaretoken",)}
    kind = params.pop("kind", "")
    fmt = params.pop("fmt", "xlsx")
    try:
        export = export_request(kind=kind, fmt=fmt, params=params, actor=request.user)
    except DomainError as exc:
        if exc.status == 404:
            raise Http404(exc.message) from None
        return HttpResponse(f'<div class="msg msg-error">{exc.message}</div>', status=exc.status)
    export.refresh_from_db()
    if request.htmx and request.htmx.target == "export-rows":
        return render(request, "analytics/_export_row.html", {"e": export, "new": True})
    return render(request, "analytics/_export_queued.html", {"e": export})


EXPORT_TYPES = {
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ExportFormat.CSV: "text/csv; charset=utf-8",
}


def _own_export(request, pk: int) -> Export:
    export = Export.objects.filter(pk=pk, user=request.user).first()
    if export is None:  # someone else's export does not exist for this user
        raise Http404("export")
    return export


@login_required
@require_GET
def export_row(request, pk: int):
    return render(request, "analytics/_export_row.html", {"e": _own_export(request, pk)})


@login_required
@require_GET
def export_download(request, pk: int):
    export = _own_export(request, pk)
    if export.state != ExportState.DONE or not export.file:
        raise Http404("export")
    return serve_file(
        request,
        export.file,
        content_type=EXPORT_TYPES.get(export.fmt, "application/octet-stream"),
        filename=export.filename or None,
        as_attachment=True,
        cache_seconds=0,
    )


@login_required
@require_GET
def assessment(request):
    g = request.GET
    try:
        filters = resolve_filters(request.user, area=g.get("area", ""))
        month = month_of(g.get("month"))
    except DomainError as exc:
        return _refuse(request, exc)
    sort = g.get("sort", "name")
    sort = sort if sort in SORT_KEYS else "name"
    desc = g.get("desc") == "1"
    data = worker_assessment(request.user, month, filters, sort=sort, descending=desc)
    template = "analytics/_assessment_table.html" if request.htmx else "analytics/assessment.html"
    return render(
        request,
        template,
        {
            "data": data,
            "month": month,
            "sort": sort,
            "desc": desc,
            "area": filters.area,
            "field_keys": FIELD_KEYS,
            "config_json": json.dumps({}),
        },
    )
