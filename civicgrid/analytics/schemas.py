"""Ninja In/Out schemas of the analytics API."""

from __future__ import annotations

from typing import Any, Literal

from ninja import Field, Schema

PERIOD_HELP = "day, week, month, quarter, year or custom (with start and end)"


class Params(Schema):
    """The filters every analytics call shares (the dashboard's filter bar)."""

    period: str = Field("month", description=PERIOD_HELP)
    date: str | None = Field(None, description="a day inside the period, default today")
    start: str | None = Field(None, description="first day of a custom period")
    end: str | None = Field(None, description="last day of a custom period")
    area: str = Field("", description="area (12 digits) or grid (15 digits) code in your scope")
    category: str = Field("", description="category class (2 digits) or item (4 digits)")
    source: str = ""
    department: str = Field("", description="department code")


class IndicatorParams(Params):
    compare: bool = Field(True, description="include 环比 and 同比")


class BreakdownParams(Params):
    by: Literal["area", "category", "department", "source"] = "area"


class ScoreParams(Params):
    w_on_time: float | None = Field(None, description="weight of 按期结案率 (default 40)")
    w_close: float | None = Field(None, description="weight of 结案率 (default 30)")
    w_rework: float | None = Field(None, description="weight of 1 − 返工率 (default 20)")
    w_dispatch: float | None = Field(None, description="weight of 准确派遣率 (default 10)")
    w_supervision: float | None = Field(
        None, description="points off per unanswered supervision (default 0.5)"
    )


class IndicatorMeta(Schema):
    key: str
    label: str
    unit: str
    higher_is_better: bool | None


class PeriodOut(Schema):
    kind: str
    label: str
    first: str
    last: str
    start: str
    end: str
    until: str
    running: bool


Values = dict[str, float | int | None]


class IndicatorReport(Schema):
    period: PeriodOut
    filters: dict[str, str]
    indicators: list[IndicatorMeta]
    values: Values
    previous_period: PeriodOut | None = None
    year_ago_period: PeriodOut | None = None
    previous: Values | None = None
    year_ago: Values | None = None
    change_previous: dict[str, float | None] | None = None
    change_year_ago: dict[str, float | None] | None = None


class BreakdownRow(Schema):
    key: str | None
    name: str
    values: Values


class BreakdownOut(Schema):
    period: PeriodOut
    by: str
    rows: list[BreakdownRow]


class DepartmentScore(Schema):
    department: str
    name: str
    score: float | None
    on_time_close_rate: float | None
    close_rate: float | None
    rework_rate: float | None
    dispatch_accuracy: float | None
    unanswered_supervisions: int
    due: int
    closed: int
    dispatches: int
    returns: int
    parts: int = 0  # 协办 parts due in the period
    parts_on_time: int = 0
    late_parts: int = 0
    report_ins: int = 0  # 吹哨报到 calls due in the period
    report_ins_on_time: int = 0
    late_report_ins: int = 0


class ScoresOut(Schema):
    period: PeriodOut
    weights: dict[str, float]
    rows: list[DepartmentScore]


class TrendOut(Schema):
    bucket: str
    labels: list[str]
    received: list[int]
    filed: list[int]
    closed: list[int]
    closed_on_time: list[int]


class OverdueRow(Schema):
    tracking_code: str
    category: str
    area: str
    department: str
    state: str
    state_label: str
    due: str | None
    overdue_hours: float | None


class WarningRow(Schema):
    day: str
    category: str
    category_name: str
    area: str
    area_name: str
    count: int
    baseline: float
    p_value: float


class FeatureCollection(Schema):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[dict[str, Any]]


class ExportIn(Schema):
    kind: Literal["cases", "indicators", "assessment"]
    fmt: Literal["xlsx", "csv"] = "xlsx"
    params: dict[str, str] = Field(default_factory=dict, description="the filters, as in Params")


class ExportOut(Schema):
    id: int
    kind: str
    fmt: str
    state: str
    total: int
    done: int
    percent: int
    filename: str
    error: str
    created_at: Any
    finished_at: Any | None
    download_url: str | None


class AssessmentRow(Schema):
    user_id: int
    name: str
    grids: list[str]
    reports: int
    valid_share: float | None
    verifications: int
    verified_on_time_share: float | None
    tasks_done: int
    tasks_on_time_share: float | None
    patrol_km: float | None
    patrol_coverage: float | None
    checkins: int | None
    base_data_touched: int | None
    visits_on_time_share: float | None = None
    records_confirmed_share: float | None = None


class AssessmentOut(Schema):
    month: str
    field_data: bool
    rows: list[AssessmentRow]
