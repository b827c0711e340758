"""Analytics REST API, mounted at /api/analytics/.

Every call takes the dashboard's filters (period, area, category, source, department) and is
computed by ``indicators.py`` for the caller's scope: leaders, operators, grid chiefs and
administrators see their area subtree; other roles get 403; an area outside the scope is 404.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Path, Query, Router

from civicgrid.api.params import Limit, ObjectId
from civicgrid.core.errors import NotFound
from civicgrid.core.files import file_url
from civicgrid.ops.replica import replica_reads

from . import dashboard, early_warning, indicators
from .assessment import SORT_KEYS, month_of, worker_assessment
from .models import Export
from .periods import Period, period_from
from .schemas import (
    AssessmentOut,
    BreakdownOut,
    BreakdownParams,
    ExportIn,
    ExportOut,
    FeatureCollection,
    IndicatorParams,
    IndicatorReport,
    OverdueRow,
    Params,
    ScoreParams,
    ScoresOut,
    TrendOut,
    WarningRow,
)
from .selectors import Filters, case_q, resolve_filters
from .services import export_request

router = Router()
router.add_decorator(replica_reads())  # every analytics read tolerates lag


def parse(request: HttpRequest, p: Params) -> tuple[Period, Filters]:
    filters = resolve_filters(
        request.user, area=p.area, category=p.category, source=p.source, department=p.department
    )
    return period_from(p.period, p.date, p.start, p.end), filters


def _meta() -> list[dict]:
    return [
        {
            "key": i.key,
            "label": str(i.label),
            "unit": i.unit,
            "higher_is_better": i.higher_is_better,
        }
        for i in indicators.INDICATORS
    ]


@router.get(
    "/indicators",
    url_name="analytics_indicators",
    response=IndicatorReport,
    summary="All indicators, with 环比 and 同比",
)
def get_indicators(request: HttpRequest, p: Query[IndicatorParams]):
    period, filters = parse(request, p)
    rep = indicators.report(request.user, period, filters, compare=p.compare)
    return {**rep, "filters": filters.as_params(), "indicators": _meta()}


@router.get(
    "/breakdown",
    url_name="analytics_breakdown",
    response=BreakdownOut,
    summary="Indicators per sub-area, category…",
)
def get_breakdown(request: HttpRequest, p: Query[BreakdownParams]):
    period, filters = parse(request, p)
    rows = []
    if p.by == "area":
        node = dashboard.current_area(request.user, filters)
        children, n = dashboard.children_of(node, request.user)
        got = (
            indicators.breakdown(request.user, period, filters, indicators.by_area(n))
            if children
            else {}
        )
        for child in children:
            v = got.get(child["code"][:n]) or indicators.Counts().values()
            rows.append({"key": child["code"], "name": child["name"], "values": v})
    else:
        group = {
            "category": indicators.BY_CATEGORY_CLASS,
            "department": indicators.BY_DEPARTMENT,
            "source": indicators.BY_SOURCE,
        }[p.by]
        got = indicators.breakdown(request.user, period, filters, group)
        names = _names(p.by, [k for k in got if k])
        for key, v in sorted(got.items(), key=lambda kv: str(kv[0])):
            rows.append({"key": key, "name": names.get(key, key or ""), "values": v})
    return {"period": period.as_dict(), "by": p.by, "rows": rows}


def _names(by: str, keys: list[str]) -> dict[str, str]:
    from civicgrid.cases.models import Category, Source
    from civicgrid.people.models import Department

    if by == "category":
        return dict(Category.objects.filter(code__in=keys).values_list("code", "name"))
    if by == "department":
        return dict(Department.objects.filter(code__in=keys).values_list("code", "name"))
    return {s.value: str(s.label) for s in Source}


@router.get(
    "/trend",
    url_name="analytics_trend",
    response=TrendOut,
    summary="Received, filed and closed per day or month",
)
def get_trend(request: HttpRequest, p: Query[Params]):
    period, filters = parse(request, p)
    return indicators.trend(request.user, period, filters)


@router.get(
    "/departments",
    url_name="analytics_departments",
    response=ScoresOut,
    summary="Department scores (综合评价)",
)
def get_departments(request: HttpRequest, p: Query[ScoreParams]):
    period, filters = parse(request, p)
    weights = indicators.score_weights(
        {
            "on_time_close_rate": p.w_on_time,
            "close_rate": p.w_close,
            "rework_rate": p.w_rework,
            "dispatch_accuracy": p.w_dispatch,
            "unanswered_supervision": p.w_supervision,
        }
    )
    rows = indicators.department_scores(request.user, period, filters, weights=weights)
    return {"period": period.as_dict(), "weights": weights, "rows": rows}


@router.get(
    "/overdue",
    url_name="analytics_overdue",
    response=list[OverdueRow],
    summary="Open cases past their deadline now",
)
def get_overdue(request: HttpRequest, p: Query[Params], limit: Limit = 50):
    _period, filters = parse(request, p)
    return dashboard.overdue_rows(request.user, filters, limit=limit)


@router.get(
    "/warnings",
    url_name="analytics_warnings",
    response=list[WarningRow],
    summary="Early warnings today",
)
def get_warnings(request: HttpRequest, p: Query[Params]):
    _period, filters = parse(request, p)
    signals = early_warning.detect(scope=case_q(request.user, filters))
    return early_warning.describe(signals)


@router.get(
    "/map",
    url_name="analytics_map",
    response=FeatureCollection,
    summary="Grids with open and overdue cases now",
)
def get_map(request: HttpRequest, p: Query[Params]):
    _period, filters = parse(request, p)
    return dashboard.grid_map(request.user, filters)


@router.get(
    "/dashboard",
    url_name="analytics_dashboard",
    summary="Everything the one-screen dashboard shows",
)
def get_dashboard(request: HttpRequest, p: Query[Params]) -> dict:
    period, filters = parse(request, p)
    return dashboard.screen(request.user, period, filters)


@router.get(
    "/mediation",
    url_name="analytics_mediation",
    summary="Mediation indicators (docs/mediation.md), with 环比 and 同比",
)
def get_mediation(request: HttpRequest, p: Query[Params]) -> dict:
    from civicgrid.mediation.indicators import report

    period, filters = parse(request, p)
    return {**report(request.user, period, filters.prefix), "filters": filters.as_params()}


@router.get(
    "/assessment",
    url_name="analytics_assessment",
    response=AssessmentOut,
    summary="Grid-worker assessment per month",
)
def get_assessment(
    request: HttpRequest,
    month: str | None = None,
    area: str = "",
    sort: str = "name",
    desc: bool = False,
):
    filters = resolve_filters(request.user, area=area)
    sort = sort if sort in SORT_KEYS else "name"
    return worker_assessment(request.user, month_of(month), filters, sort=sort, descending=desc)


# --- exports --------------------------------------------------------------------------------


def export_out(e: Export) -> dict:
    return {
        "id": e.pk,
        "kind": e.kind,
        "fmt": e.fmt,
        "state": e.state,
        "total": e.total,
        "done": e.done,
        "percent": e.percent,
        "filename": e.filename,
        "error": e.error,
        "created_at": e.created_at,
        "finished_at": e.finished_at,
        "download_url": (file_url(e) if e.state == "done" else None),
    }


@router.post(
    "/exports",
    url_name="analytics_exports",
    response={202: ExportOut},
    summary="Queue an export with these filters",
)
def post_export(request: HttpRequest, payload: ExportIn):
    e = export_request(
        kind=payload.kind, fmt=payload.fmt, params=payload.params, actor=request.user
    )
    e.refresh_from_db()
    return 202, export_out(e)


@router.get(
    "/exports",
    url_name="analytics_export_list",
    response=list[ExportOut],
    summary="My recent exports",
)
def list_exports(request: HttpRequest):
    return [export_out(e) for e in Export.objects.filter(user=request.user)[:20]]


@router.get(
    "/exports/{export_id}",
    url_name="analytics_export",
    response=ExportOut,
    summary="One of my exports",
)
def get_export(request: HttpRequest, export_id: Path[ObjectId]):
    e = Export.objects.filter(pk=export_id, user=request.user).first()
    if e is None:
        raise NotFound("export")
    return export_out(e)
