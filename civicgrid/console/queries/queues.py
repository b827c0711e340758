"""The workbench's queues: each role's base set, each queue's condition, live counts, the first
rows of a queue, today's figures and the activity feed.

Every read starts from the principal's ``case_visible_q`` (``civicgrid.people.access``), so
visibility has one definition; a queue only narrows it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from civicgrid.cases.models import (
    Case,
    CaseAction,
    State,
    due_soon_q,
    open_q,
    overdue_q,
)
from civicgrid.core.errors import DomainError
from civicgrid.people.access import Principal
from civicgrid.people.models import Role

from .common import bounded_count, data_stamp, day_start, hydrate, prefixed


@dataclass(frozen=True)
class Queue:
    key: str
    label: Any
    tone: str  # the tile's colour: info, warn, danger, ok
    hint: Any = ""


OPERATOR_QUEUES = [
    Queue(
        "reported",
        pgettext_lazy("queue", "Awaiting acceptance"),
        "info",
        pgettext_lazy("queue", "Newly reported"),
    ),
    Queue(
        "filed",
        pgettext_lazy("queue", "Awaiting dispatch"),
        "info",
        pgettext_lazy("queue", "Filed or returned"),
    ),
    Queue(
        "in_progress",
        pgettext_lazy("queue", "Being handled"),
        "ok",
        pgettext_lazy("queue", "Assigned or signed"),
    ),
    Queue(
        "handled",
        pgettext_lazy("queue", "Awaiting verification"),
        "info",
        pgettext_lazy("queue", "Result in"),
    ),
    Queue(
        "due_soon",
        pgettext_lazy("queue", "Due soon"),
        "warn",
        pgettext_lazy("queue", "Past 80 % of the limit"),
    ),
    Queue(
        "overdue",
        pgettext_lazy("queue", "Overdue"),
        "danger",
        pgettext_lazy("queue", "Past the deadline"),
    ),
    Queue(
        "supervised",
        pgettext_lazy("queue", "Supervised"),
        "danger",
        pgettext_lazy("queue", "Supervised, still open"),
    ),
]
HANDLER_QUEUES = [
    Queue(
        "to_sign",
        pgettext_lazy("queue", "To sign for"),
        "info",
        pgettext_lazy("queue", "Dispatched to us"),
    ),
    Queue(
        "signed",
        pgettext_lazy("queue", "Being handled"),
        "ok",
        pgettext_lazy("queue", "Signed for"),
    ),
    Queue(
        "rework",
        pgettext_lazy("queue", "Sent back"),
        "warn",
        pgettext_lazy("queue", "Rework requested"),
    ),
    Queue(
        "handled",
        pgettext_lazy("queue", "Submitted"),
        "info",
        pgettext_lazy("queue", "Awaiting verification"),
    ),
    Queue(
        "co_parts",
        pgettext_lazy("queue", "Co-handling"),
        "info",
        pgettext_lazy("queue", "Our 协办 parts to sign or submit"),
    ),
    Queue(
        "whistles",
        pgettext_lazy("queue", "Whistles"),
        "warn",
        pgettext_lazy("queue", "Called: report in, then act"),
    ),
    Queue(
        "overdue",
        pgettext_lazy("queue", "Overdue"),
        "danger",
        pgettext_lazy("queue", "Past the deadline"),
    ),
    Queue(
        "supervised",
        pgettext_lazy("queue", "Supervised"),
        "danger",
        pgettext_lazy("queue", "Supervised, still open"),
    ),
]
FIELD_QUEUES = [
    Queue(
        "assigned_to_me",
        pgettext_lazy("queue", "Assigned to me"),
        "info",
        pgettext_lazy("queue", "To handle"),
    ),
    Queue(
        "to_verify",
        pgettext_lazy("queue", "To verify"),
        "warn",
        pgettext_lazy("queue", "Results in my grids"),
    ),
    Queue(
        "my_reports",
        pgettext_lazy("queue", "My open reports"),
        "ok",
        pgettext_lazy("queue", "Reported by me"),
    ),
    Queue(
        "overdue",
        pgettext_lazy("queue", "Overdue"),
        "danger",
        pgettext_lazy("queue", "In my grids"),
    ),
]
QUEUES = {
    "operator": OPERATOR_QUEUES,
    "handler": HANDLER_QUEUES,
    "field": FIELD_QUEUES,
}


# Handler queues about the cases our departments lead (or that are assigned to us); the two others
# are about cases where our departments co-handle (协办) or were called by a whistle (吹哨报到).
CO_QUEUES = {"co_parts", "whistles"}


def queue_q(key: str, now: dt.datetime, who=None, kind: str | None = None) -> Q:
    """The condition of one queue (on top of the role's base set)."""
    if kind == "handler" and key not in CO_QUEUES:
        return _queue_q(key, now, who) & _lead_q(Principal.of(who))
    return _queue_q(key, now, who)


def _queue_q(key: str, now: dt.datetime, who=None) -> Q:
    pk = Principal.of(who).pk if who is not None else None
    if key == "co_parts":
        return Principal.of(who).co_parts_waiting_q()
    if key == "whistles":
        return Principal.of(who).whistle_calls_waiting_q()
    if key in ("reported", "filed", "handled"):
        return Q(state=key)
    if key == "in_progress":
        return Q(state__in=[State.ASSIGNED, State.IN_PROGRESS])
    if key == "to_sign":
        return Q(state=State.ASSIGNED)
    if key == "signed":
        return Q(state=State.IN_PROGRESS)
    if key == "rework":
        # A case back in progress after a rework: the doer has to act on it again.
        return Q(state=State.IN_PROGRESS, rework_count__gt=0)
    if key == "due_soon":
        return due_soon_q(now)
    if key == "overdue":
        return overdue_q(now)
    if key == "supervised":
        # 督办件: supervised at least once and still open (whether the latest supervision was
        # answered is on the case page and in the supervision list). A counter on the case keeps
        # this a column test instead of a join over every supervision ever made.
        return open_q() & Q(supervision_count__gt=0)
    if key == "assigned_to_me":
        return Q(worker_id=pk, state__in=[State.ASSIGNED, State.IN_PROGRESS])
    if key == "to_verify":
        return Q(state=State.HANDLED)
    if key == "my_reports":
        return open_q() & Q(reporter_id=pk)
    raise DomainError("invalid_queue", _("Unknown queue “%(q)s”.") % {"q": key}, field="queue")


def operator_base_q(who, scope: str = "all") -> Q:
    """Operator queues: ``mine`` = owned by my centers; ``all`` = every case I may act on."""
    p = Principal.of(who)
    if p.is_superuser:
        return Q()
    if scope == "all":
        return p.scope_q("owner_code", roles=[Role.OPERATOR])
    return Q(owner_id__in=list(p.centers)) if p.centers else Q(pk__in=[])


def _lead_q(p: Principal) -> Q:
    """Cases dispatched to my departments (主办) within each assignment's area, or to me."""
    return Q(worker_id=p.pk) | p.handler_q()


def handler_base_q(who) -> Q:
    """The lead's cases (``_lead_q``) and those waiting for my departments as co-department or
    called by a whistle."""
    p = Principal.of(who)
    return _lead_q(p) | p.co_handling_q()


def field_base_q(who) -> Q:
    """Grid workers and chiefs: cases in their grids/area, assigned to or reported by them."""
    p = Principal.of(who)
    return (
        p.scope_q("scope_code", roles=[Role.GRID_WORKER, Role.GRID_CHIEF])
        | Q(worker_id=p.pk)
        | Q(reporter_id=p.pk)
    )


def home_kinds(who) -> list[str]:
    """Which home sections a principal gets, in display order."""
    p = Principal.of(who)
    roles = p.roles
    kinds = []
    if p.is_superuser or Role.OPERATOR in roles:
        kinds.append("operator")
    if Role.HANDLER in roles:
        kinds.append("handler")
    if p.is_superuser or Role.LEADER in roles or Role.ADMIN in roles:
        kinds.append("leader")
    if Role.GRID_WORKER in roles or Role.GRID_CHIEF in roles:
        kinds.append("field")
    return kinds


def base_q(who, kind: str, scope: str = "all") -> Q:
    if kind == "operator":
        return operator_base_q(who, scope)
    if kind == "handler":
        return handler_base_q(who)
    if kind == "field":
        return field_base_q(who)
    raise DomainError("invalid_queue", _("Unknown queue set."), field="kind")


def queue_counts(who, kind: str, *, scope: str = "all", now=None) -> dict[str, int]:
    """Live counts of one role's queues, in one pass over the open cases of the base set.

    Every queue is a subset of the open cases, so one aggregate with a FILTER per queue reads
    the open set once instead of once per tile. The result is cached under the data stamp and
    the minute (what the polling ETag is made of): it is exact, and a workbench that is
    reloaded or polled while nothing changed does not count again.
    """
    p = Principal.of(who)
    now = now or timezone.now()
    minute = int(now.timestamp() // 60)
    key = f"console:counts:{p.pk}:{kind}:{scope}:{data_stamp()}:{minute}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    base = Case.objects.filter(p.case_visible_q()).filter(base_q(p, kind, scope)).open().order_by()
    counts = base.aggregate(
        **{q.key: Count("pk", filter=queue_q(q.key, now, p, kind)) for q in QUEUES[kind]}
    )
    result = {k: v or 0 for k, v in counts.items()}
    cache.set(key, result, 120)
    return result


def queue_cases(who, kind: str, key: str, *, scope: str = "all", limit: int = 12, now=None):
    """The first cases of a queue, most urgent first (running deadline, then age)."""
    p = Principal.of(who)
    now = now or timezone.now()
    ids = list(
        Case.objects.filter(p.case_visible_q())
        .filter(base_q(p, kind, scope))
        .filter(queue_q(key, now, p, kind))
        .order_by(F("sla_due_at").asc(nulls_last=True), "-id")
        .values_list("pk", flat=True)[:limit]
    )
    return hydrate(ids)


def recent_activity(who, *, limit: int = 8) -> list[CaseAction]:
    """The latest actions on cases the principal may see (newest first)."""
    p = Principal.of(who)
    return list(
        CaseAction.objects.filter(prefixed(p.case_visible_q(), "case__"))
        .select_related("case", "case__category", "actor")
        .order_by("-id")[:limit]
    )


def today_figures(who, base: Q, *, now=None) -> dict[str, int]:
    """Received, accepted and closed since midnight within ``base`` (bounded counts)."""
    p = Principal.of(who)
    now = now or timezone.now()
    start = day_start(now)
    qs = Case.objects.filter(p.case_visible_q()).filter(base)
    return {
        "received": bounded_count(qs.filter(reported_at__gte=start)),
        "filed": bounded_count(qs.filter(filed_at__gte=start)),
        "closed": bounded_count(qs.filter(closed_at__gte=start, state=State.CLOSED)),
    }
