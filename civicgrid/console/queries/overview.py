"""The leader's overview: counts for an area and one row per child area, categories, recent
supervisions."""

from __future__ import annotations

from django.db.models import Count
from django.db.models.functions import Substr
from django.utils import timezone

from civicgrid.cases.models import (
    Case,
    Category,
    State,
    Supervision,
    due_soon_q,
    overdue_q,
)
from civicgrid.people.access import Principal
from civicgrid.people.models import Role
from civicgrid.territory.models import Area

from .common import bounded_count, day_start, month_start, prefixed


def leader_areas(who) -> list[Area]:
    p = Principal.of(who)
    if p.is_superuser:
        return list(Area.objects.filter(parent__isnull=True).order_by("code"))
    areas = list(Area.objects.filter(pk__in=p.areas_of(Role.LEADER, Role.ADMIN)).defer("boundary"))
    # Keep the outermost areas only: a leader of a city needs no second row for its district.
    areas.sort(key=lambda a: (len(a.prefix), a.code))
    out: list[Area] = []
    for a in areas:
        if not any(a.code.startswith(b.prefix) for b in out):
            out.append(a)
    return out


def leader_overview(who, area: Area, *, now=None) -> dict:
    """Counts for ``area`` and one row per child area (open, due soon, overdue, closed)."""
    from civicgrid.territory.codes import PREFIX_LEN

    p = Principal.of(who)
    now = now or timezone.now()
    inside = Case.objects.filter(p.case_visible_q(), scope_code__startswith=area.prefix)
    open_qs = inside.open()
    child_level = area.level + 1
    children = list(Area.objects.filter(parent=area).order_by("code"))
    rows: dict[str, dict] = {
        c.prefix: {"area": c, "open": 0, "due_soon": 0, "overdue": 0, "closed": 0} for c in children
    }
    totals = {
        "received_today": bounded_count(inside.filter(reported_at__gte=day_start(now))),
        "open": 0,
        "due_soon": 0,
        "overdue": 0,
        "closed_month": 0,
        "supervised": bounded_count(open_qs.filter(supervision_count__gt=0)),
    }
    if child_level <= 4:
        n = PREFIX_LEN[child_level]
        agg = (
            open_qs.annotate(part=Substr("scope_code", 1, n))
            .values("part")
            .annotate(
                open=Count("pk"),
                due_soon=Count("pk", filter=due_soon_q(now)),
                overdue=Count("pk", filter=overdue_q(now)),
            )
            .order_by()
        )
        for r in agg:
            row = rows.get(r["part"])
            if row is not None:
                row.update(open=r["open"], due_soon=r["due_soon"], overdue=r["overdue"])
        closed = (
            inside.filter(closed_at__gte=month_start(now), state=State.CLOSED)
            .annotate(part=Substr("scope_code", 1, n))
            .values("part")
            .annotate(n=Count("pk"))
            .order_by()
        )
        for r in closed:
            row = rows.get(r["part"])
            if row is not None:
                row["closed"] = r["n"]
        for key in ("open", "due_soon", "overdue"):
            totals[key] = sum(r[key] for r in rows.values())
        totals["closed_month"] = sum(r["closed"] for r in rows.values())
    else:
        totals["open"] = bounded_count(open_qs)
        totals["due_soon"] = bounded_count(open_qs.due_soon(now))
        totals["overdue"] = bounded_count(open_qs.overdue(now))
        totals["closed_month"] = bounded_count(
            inside.filter(closed_at__gte=month_start(now), state=State.CLOSED)
        )
    return {
        "area": area,
        "totals": totals,
        "rows": list(rows.values()),
        "categories": open_by_category(p, area),
        "supervisions": recent_supervisions(p, area),
    }


def open_by_category(who, area: Area, *, limit: int = 8) -> list[dict]:
    """Open cases of an area per category class, largest first."""
    p = Principal.of(who)
    rows = (
        Case.objects.filter(p.case_visible_q(), scope_code__startswith=area.prefix)
        .open()
        .annotate(cls=Substr("category__code", 1, 2))
        .values("cls")
        .annotate(n=Count("pk"))
        .order_by("-n")[:limit]
    )
    names = dict(
        Category.objects.filter(code__in=[r["cls"] for r in rows]).values_list("code", "name")
    )
    out = [{"code": r["cls"], "name": names.get(r["cls"], r["cls"]), "n": r["n"]} for r in rows]
    top = max((r["n"] for r in out), default=0)
    for r in out:
        r["pct"] = round(100 * r["n"] / top) if top else 0
    return out


def recent_supervisions(who, area: Area, *, limit: int = 6) -> list[Supervision]:
    p = Principal.of(who)
    return list(
        Supervision.objects.filter(
            prefixed(p.case_visible_q(), "case__"), case__scope_code__startswith=area.prefix
        )
        .select_related("case", "case__category", "by")
        .order_by("-id")[:limit]
    )
