"""Console reads, one module per screen: ``queues`` (the workbench), ``overview`` (leaders),
``lists`` (case list, supervisions, teams, workers), ``map``, ``choices`` (selects) and
``presentation``; ``common`` holds what they share.

Every read starts from the principal (``civicgrid.people.access``) and the cases selectors, so
visibility has one definition; what is added here is only the shape a screen needs. The names
are re-exported so views import ``queries`` once.
"""

from .choices import (
    area_choices,
    category_choices,
    department_choices_for,
    department_choices_for_case,
    worker_choices_for_case,
)
from .common import COUNT_CAP, PAGE_SIZE, bounded_count, data_stamp, day_start, month_start
from .lists import (
    DEFAULT_SORT,
    SLA_FILTERS,
    SORTS,
    SUPERVISION_SORT,
    case_filter_qs,
    case_page,
    page_of,
    supervision_qs,
    team_summary,
    worker_qs,
)
from .map import MAP_LIMIT, map_points, parse_bbox, scope_bounds
from .overview import leader_areas, leader_overview, open_by_category, recent_supervisions
from .presentation import sla_light
from .queues import (
    FIELD_QUEUES,
    HANDLER_QUEUES,
    OPERATOR_QUEUES,
    QUEUES,
    Queue,
    base_q,
    field_base_q,
    handler_base_q,
    home_kinds,
    operator_base_q,
    queue_cases,
    queue_counts,
    queue_q,
    recent_activity,
    today_figures,
)

__all__ = [
    "COUNT_CAP",
    "DEFAULT_SORT",
    "FIELD_QUEUES",
    "HANDLER_QUEUES",
    "MAP_LIMIT",
    "OPERATOR_QUEUES",
    "PAGE_SIZE",
    "QUEUES",
    "SLA_FILTERS",
    "SORTS",
    "SUPERVISION_SORT",
    "Queue",
    "area_choices",
    "base_q",
    "bounded_count",
    "case_filter_qs",
    "case_page",
    "category_choices",
    "data_stamp",
    "day_start",
    "department_choices_for",
    "department_choices_for_case",
    "field_base_q",
    "handler_base_q",
    "home_kinds",
    "leader_areas",
    "leader_overview",
    "map_points",
    "month_start",
    "open_by_category",
    "operator_base_q",
    "page_of",
    "parse_bbox",
    "queue_cases",
    "queue_counts",
    "queue_q",
    "recent_activity",
    "recent_supervisions",
    "scope_bounds",
    "sla_light",
    "supervision_qs",
    "team_summary",
    "today_figures",
    "worker_choices_for_case",
    "worker_qs",
]
