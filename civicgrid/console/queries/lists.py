"""The console's lists: cases (filters, sorts, keyset pages), supervisions, grid teams and
workers. Pages come from the shared pager (``civicgrid.core.keyset``)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicgrid.cases.models import Case, Supervision, open_q
from civicgrid.cases.selectors import case_queryset_for
from civicgrid.core.errors import DomainError
from civicgrid.core.keyset import KeysetPage, Sort, keyset_page
from civicgrid.people.access import Principal
from civicgrid.people.models import GridMember, User

from .common import PAGE_SIZE, bounded_count, hydrate, prefixed
from .queues import QUEUES, base_q, queue_q

SORTS = {
    s.key: s
    for s in [
        Sort("newest", gettext_lazy("Newest first"), "reported_at", True),
        Sort("oldest", gettext_lazy("Oldest first"), "reported_at", False),
        Sort("deadline", gettext_lazy("Deadline soonest"), "sla_due_at", False, nullable=True),
        Sort("priority", gettext_lazy("Priority highest"), "priority", True),
        Sort("updated", gettext_lazy("Recently updated"), "updated_at", True),
    ]
}
DEFAULT_SORT = "newest"
SLA_FILTERS = ("normal", "due_soon", "overdue")


def page_of(
    qs: QuerySet,
    sort: Sort,
    *,
    after=None,
    before=None,
    limit=PAGE_SIZE,
    hydrate=None,
    branches=(),
):
    """A console page: the shared pager with the console's wording for a broken link."""
    return keyset_page(
        qs,
        sort,
        after=after,
        before=before,
        limit=limit,
        hydrate=hydrate,
        message=_("The page link is not valid."),
        branches=branches,
    )


def case_filter_qs(who, f: dict, *, now=None) -> QuerySet[Case]:
    """The case list's filters (already cleaned) on top of the cases selector."""
    p = Principal.of(who)
    now = now or timezone.now()
    state = f.get("state") or None
    open_only = state == "open"
    qs = case_queryset_for(
        p,
        state=None if open_only else state,
        category=f.get("category") or None,
        area=f.get("area") or None,
        grid=f.get("grid") or None,
        source=f.get("source") or None,
        department=f.get("department") or None,
        flow=f.get("flow") or None,
        date_from=f.get("date_from"),
        date_to=f.get("date_to"),
        text=f.get("q") or None,
    )
    if open_only:
        qs = qs.open()
    sla = f.get("sla")
    if sla == "overdue":
        qs = qs.overdue(now)
    elif sla == "due_soon":
        qs = qs.due_soon(now)
    elif sla == "normal":
        qs = qs.open().filter(Q(sla_warn_at__gt=now) | Q(sla_warn_at__isnull=True))
    if f.get("supervised"):
        qs = qs.filter(queue_q("supervised", now))
    queue = f.get("queue")
    if queue:
        kind, _sep, key = queue.partition(":")
        if kind not in QUEUES or key not in {q.key for q in QUEUES[kind]}:
            raise DomainError("invalid_queue", _("Unknown queue."), field="queue")
        qs = qs.filter(base_q(p, kind, f.get("scope") or "all")).filter(queue_q(key, now, p, kind))
    return qs


def case_page(who, f: dict, *, after=None, before=None, limit: int = PAGE_SIZE) -> KeysetPage:
    sort = SORTS.get(f.get("sort") or DEFAULT_SORT, SORTS[DEFAULT_SORT])
    qs = case_filter_qs(who, f)
    branches = Principal.of(who).case_visible_branches()
    page = page_of(
        qs, sort, after=after, before=before, limit=limit, hydrate=hydrate, branches=branches
    )
    page.extra["total"] = bounded_count(qs)
    return page


def supervision_qs(who, f: dict) -> QuerySet[Supervision]:
    p = Principal.of(who)
    qs = (
        Supervision.objects.filter(prefixed(p.case_visible_q(), "case__"))
        .select_related("case", "case__category", "case__grid", "department", "by")
        .defer("case__grid__boundary")
    )
    status = f.get("status")
    if status == "open":
        qs = qs.filter(answered_at__isnull=True).filter(prefixed(open_q(), "case__"))
    elif status == "answered":
        qs = qs.filter(answered_at__isnull=False)
    if f.get("kind"):
        qs = qs.filter(kind=f["kind"])
    if f.get("department"):
        qs = qs.filter(department_id=f["department"])
    return qs


SUPERVISION_SORT = Sort("created", gettext_lazy("Newest first"), "created_at", True)


def team_summary(grid_ids: Iterable[int]) -> dict[int, dict]:
    """Per grid: members (leader first) and a count per worker type."""
    out: dict[int, dict] = {}
    for m in (
        GridMember.objects.filter(grid_id__in=list(grid_ids))
        .select_related("user")
        .order_by("grid_id", "-is_leader", "worker_type", "user__full_name")
    ):
        row = out.setdefault(m.grid_id, {"members": [], "types": {}})
        row["members"].append(m)
        label = str(m.get_worker_type_display())
        row["types"][label] = row["types"].get(label, 0) + 1
    return out


def worker_qs(who, f: dict) -> QuerySet[User]:
    """Users with a grid membership in the caller's scope, with their memberships."""
    members = GridMember.objects.filter(Principal.of(who).scope_q("grid__code"))
    if f.get("type"):
        members = members.filter(worker_type=f["type"])
    if f.get("area"):
        members = members.filter(grid__code__startswith=f["area"])
    qs = User.objects.filter(pk__in=members.values("user_id"), is_active=True)
    text = (f.get("q") or "").strip()
    if text:
        qs = qs.filter(Q(full_name__icontains=text) | Q(username__icontains=text))
    return qs.order_by("full_name", "pk")
