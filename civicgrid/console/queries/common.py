"""What every console screen's reads share: bounded counts, row hydration, the data stamp."""

from __future__ import annotations

import datetime as dt

from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from civicgrid.cases.models import Case, CaseAction

COUNT_CAP = 10_000  # counts stop here: "10,000+" is as useful to a seat operator as 987,654
PAGE_SIZE = 50

# Boundaries are kilobytes each and no list shows them.
NO_SHAPES = ("grid__boundary", "area__boundary")


def bounded_count(qs: QuerySet, cap: int = COUNT_CAP) -> int:
    """``count()`` that stops reading after ``cap + 1`` rows (the page shows "cap+")."""
    return qs.order_by().values("pk")[: cap + 1].count()


def hydrate(ids: list[int]) -> list[Case]:
    """Full rows for a page of ids, with what a case table shows, in the ids' order."""
    rows = {
        c.pk: c
        for c in Case.objects.filter(pk__in=ids)
        .select_related("category", "grid", "area", "department", "worker")
        .defer(*NO_SHAPES)
    }
    return [rows[i] for i in ids if i in rows]


def data_stamp() -> int:
    """A number that moves whenever any case changes: every change appends an action row.

    Read once per request (an index-only MAX over the primary key).
    """
    return CaseAction.objects.aggregate(m=Max("id"))["m"] or 0


def prefixed(q: Q, prefix: str) -> Q:
    """The same condition on a related model (``case__`` + every lookup)."""
    out = Q()
    out.connector, out.negated = q.connector, q.negated
    for child in q.children:
        if isinstance(child, Q):
            out.children.append(prefixed(child, prefix))
        else:
            key, value = child
            key = f"{prefix}id{key[2:]}" if key == "pk" or key.startswith("pk__") else prefix + key
            out.children.append((key, value))
    return out


def month_start(now: dt.datetime) -> dt.datetime:
    local = timezone.localtime(now)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def day_start(now: dt.datetime) -> dt.datetime:
    return timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
