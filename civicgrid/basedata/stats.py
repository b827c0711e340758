"""Base-data figures: the worker's visit counts, the dashboard tiles and the assessment's
freshness shares. Everything visible is scoped by the principal and respects sensitive tags.

Freshness of a grid worker for a period [start, end) (docs/basedata.md, "Freshness"):

- **visits on time**: of the tag visits due in the period, the share made by their due date.
  Due visits are the visits the worker made in the period to tagged persons (on time unless
  ``was_overdue``) plus the visits still missing: tags of the worker's grids whose due date
  fell in the period and has passed without a visit (counted for every worker of the grid);
- **records confirmed**: of the records of the worker's grids (persons, houses, organisations,
  places, risk points, things), the share confirmed (created, changed, visited or checked
  during a collection) in the 12 months up to the end of the period (or now, if earlier).
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from civicgrid.people.models import GridMember

from . import selectors
from .models import (
    House,
    Household,
    Organisation,
    Person,
    PersonTag,
    Place,
    RiskPoint,
    TagKind,
    Thing,
    Visit,
)

RECORD_MODELS = (Person, House, Organisation, Place, RiskPoint, Thing)
POLICE = ("police", "aux_police")
CONFIRM_DAYS = 365


def visit_counts(principal, today: dt.date, within: int = 14) -> dict[str, int]:
    """Visible tags of the principal's own grids overdue and due within ``within`` days."""
    codes = [m.code for m in principal.memberships]
    tags = PersonTag.objects.filter(selectors.tag_visible_q(principal), scope_code__in=codes)
    return tags.aggregate(
        overdue=Count("pk", filter=Q(next_visit_due__lt=today)),
        due=Count(
            "pk",
            filter=Q(next_visit_due__gte=today, next_visit_due__lte=today + dt.timedelta(within)),
        ),
    )


DASHBOARD_SECONDS = 300


def dashboard(principal, today: dt.date) -> dict:
    """Counts for the dashboard tiles: records in scope, tags by group (sensitive groups only
    for the roles that serve them), visits overdue, share confirmed in 12 months.

    Counting a city's millions of records on every dashboard load is too slow, so the figures
    are kept for ``DASHBOARD_SECONDS`` under a key made of everything they depend on: the scope
    prefixes, the serving roles' prefixes and the handler (department, area) pairs.
    """
    if not principal.is_authenticated:
        return {"show": False}
    import hashlib
    import json

    from django.core.cache import cache

    basis = [
        principal.prefixes(),
        principal.prefixes(selectors.SERVING_ROLES),
        principal.handler_pairs,
        today.isoformat(),
    ]
    key = "basedata:tiles:" + hashlib.sha256(json.dumps(basis).encode()).hexdigest()[:32]
    hit = cache.get(key)
    if hit is None:
        hit = _dashboard(principal, today)
        cache.set(key, hit, DASHBOARD_SECONDS)
    return hit


def _dashboard(principal, today: dt.date) -> dict:
    scope = principal.scope_q("scope_code")
    counts = {m._meta.model_name: m.objects.filter(scope).count() for m in RECORD_MODELS}
    counts["household"] = Household.objects.filter(scope).count()
    if not any(counts.values()):
        return {"show": False}
    since = timezone.now() - dt.timedelta(days=CONFIRM_DAYS)
    records = sum(counts[m._meta.model_name] for m in RECORD_MODELS)
    confirmed = sum(m.objects.filter(scope, confirmed_at__gte=since).count() for m in RECORD_MODELS)
    tags = PersonTag.objects.filter(scope, selectors.tag_visible_q(principal))
    groups = {
        r["kind__group"]: r["n"]
        for r in tags.values("kind__group").annotate(n=Count("pk")).order_by()
    }
    special = [
        {"code": r["kind__code"], "name": r["kind__name"], "n": r["n"]}
        for r in tags.filter(sensitive=True)
        .values("kind__code", "kind__name", "kind__order")
        .annotate(n=Count("pk"))
        .order_by("kind__order")
    ]
    return {
        "show": True,
        "counts": counts,
        "records": records,
        "confirmed_share": confirmed / records if records else None,
        "care": groups.get(TagKind.Group.CARE, 0),
        "special_total": groups.get(TagKind.Group.SPECIAL, 0) + groups.get(TagKind.Group.YOUTH, 0),
        "special": special,
        "sees_special": bool(special) or _serves_special(principal),
        "overdue": tags.filter(next_visit_due__lt=today).count(),
    }


def _serves_special(principal) -> bool:
    return bool(principal.is_superuser or principal.prefixes(selectors.SERVING_ROLES)) or any(
        selectors._sensitive_kinds(principal, d) for d, _p in principal.handler_pairs
    )


def freshness(
    *, user_ids: list[int], start: dt.datetime, end: dt.datetime, now: dt.datetime | None = None
) -> dict[int, dict[str, float | None]]:
    """``{user_id: {"visits_on_time_share", "records_confirmed_share"}}`` for [start, end)."""
    now = now or timezone.now()
    as_of = min(end, now)
    today = timezone.localdate(as_of)
    grids: dict[int, list[str]] = {}
    for uid, code in (
        GridMember.objects.filter(user_id__in=user_ids)
        .exclude(worker_type__in=POLICE)
        .values_list("user_id", "grid__code")
    ):
        grids.setdefault(uid, []).append(code)
    all_codes = sorted({c for cs in grids.values() for c in cs})

    made = {
        r["worker_id"]: r
        for r in Visit.objects.filter(worker_id__in=user_ids, at__gte=start, at__lt=end)
        .filter(Q(tag__isnull=False) | Exists(PersonTag.objects.filter(person=OuterRef("person"))))
        .values("worker_id")
        .annotate(n=Count("pk"), late=Count("pk", filter=Q(was_overdue=True)))
        .order_by()
    }
    missed: dict[str, int] = {
        r["scope_code"]: r["n"]
        for r in PersonTag.objects.filter(
            scope_code__in=all_codes,
            next_visit_due__gte=timezone.localdate(start),
            next_visit_due__lt=min(timezone.localdate(end), today),
        )
        .values("scope_code")
        .annotate(n=Count("pk"))
        .order_by()
    }
    since = as_of - dt.timedelta(days=CONFIRM_DAYS)
    total: dict[str, int] = {}
    fresh: dict[str, int] = {}
    for model in RECORD_MODELS:
        rows = (
            model.objects.filter(scope_code__in=all_codes, created_at__lte=as_of)
            .values("scope_code")
            .annotate(
                n=Count("pk"),
                ok=Count("pk", filter=Q(confirmed_at__gte=since, confirmed_at__lte=as_of)),
            )
            .order_by()
        )
        for r in rows:
            total[r["scope_code"]] = total.get(r["scope_code"], 0) + r["n"]
            fresh[r["scope_code"]] = fresh.get(r["scope_code"], 0) + r["ok"]

    out: dict[int, dict[str, float | None]] = {}
    for uid in user_ids:
        codes = grids.get(uid, [])
        m = made.get(uid, {})
        due = m.get("n", 0) + sum(missed.get(c, 0) for c in codes)
        on_time = m.get("n", 0) - m.get("late", 0)
        n = sum(total.get(c, 0) for c in codes)
        out[uid] = {
            "visits_on_time_share": on_time / due if due else None,
            "records_confirmed_share": sum(fresh.get(c, 0) for c in codes) / n if n else None,
        }
    return out
