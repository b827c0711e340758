"""Scoped reads of base data. Every list, detail, export and search goes through here.

Records are scoped by ``scope_code`` (their grid's code) with the one scoping function. Sensitive
tags (特殊人群, 重点青少年) are narrower: only the roles that serve them see them — the grid's
workers and chief and the center's operators (through their scope), and handlers of the
departments named on the tag kind (within their department's area).
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from civicgrid.core.errors import NotFound
from civicgrid.people.access import Principal
from civicgrid.people.models import Role
from civicgrid.people.scoping import scope_q
from civicgrid.territory.models import Grid

from . import services
from .models import (
    ChangeLog,
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

SERVING_ROLES = (Role.GRID_WORKER, Role.GRID_CHIEF, Role.OPERATOR)
ROSTER_PAGE = 50


GRID_CODE_LEN = Grid._meta.get_field("code").max_length


def in_area(qs: QuerySet, area: str) -> QuerySet:
    """Records of an area code or grid code. A grid's code is as long as a scope code gets, so
    for it "starts with" is equality — which the (scope_code, id) indexes serve in id order: a
    grid's newest 50 are read as 50 rows, not as all of the grid's rows sorted."""
    if len(area) >= GRID_CODE_LEN:
        return qs.filter(scope_code=area)
    return qs.filter(scope_code__startswith=area)


def _scoped(model, user) -> QuerySet:
    return model.objects.filter(scope_q(user, "scope_code"))


def _sensitive_kinds(principal: Principal, department_id: int) -> list[int]:
    """Sensitive tag kinds served by a department, cached on the principal (one query each)."""
    cache = principal.__dict__.setdefault("_bd_sensitive_kinds", {})
    if department_id not in cache:
        cache[department_id] = list(
            TagKind.objects.filter(departments=department_id, sensitive=True).values_list(
                "pk", flat=True
            )
        )
    return cache[department_id]


def sensitive_tag_q(user, prefix: str = "") -> Q:
    """The sensitive tags ``user`` serves (``prefix`` names the related path, e.g. "tags__").

    From the principal: the serving roles' scope (grid workers' grids, chiefs' and operators'
    areas) and each handler assignment's (department, area prefix) for the kinds naming it.
    """
    principal = Principal.of(user)
    if not principal.is_authenticated:
        return Q(pk__in=[])
    if principal.is_superuser:
        return Q()
    q = principal.scope_q(f"{prefix}scope_code", SERVING_ROLES)
    for dept, area_prefix in principal.handler_pairs:
        kinds = _sensitive_kinds(principal, dept)
        if kinds:
            q |= Q(**{f"{prefix}kind__in": kinds, f"{prefix}scope_code__startswith": area_prefix})
    return q


def tag_visible_q(user, prefix: str = "") -> Q:
    return Q(**{f"{prefix}sensitive": False}) | (
        Q(**{f"{prefix}sensitive": True}) & sensitive_tag_q(user, prefix)
    )


def can_see_kind(user, kind: TagKind, scope_code: str) -> bool:
    """May ``user`` see tags of ``kind`` on a record in ``scope_code``? (no query for open kinds)"""
    principal = Principal.of(user)
    if not kind.sensitive:
        return principal.in_scope(scope_code)
    if principal.is_superuser or principal.in_scope(scope_code, SERVING_ROLES):
        return True
    return any(
        scope_code.startswith(p) and kind.pk in _sensitive_kinds(principal, d)
        for d, p in principal.handler_pairs
    )


def visible_kinds(user) -> list[TagKind]:
    """Tag kinds offered in filters: open ones, and sensitive ones the user serves somewhere."""
    principal = Principal.of(user)
    kinds = list(TagKind.objects.all())
    if principal.is_superuser or principal.prefixes(SERVING_ROLES):
        return kinds
    served = {k for d, _p in principal.handler_pairs for k in _sensitive_kinds(principal, d)}
    return [k for k in kinds if not k.sensitive or k.pk in served]


# --- persons ----------------------------------------------------------------------------------


def person_list_for(
    user,
    *,
    area: str = "",
    q: str = "",
    id_number: str = "",
    address: str = "",
    tag: str = "",
    category: str = "",
) -> QuerySet[Person]:
    """Persons in scope, newest first, filtered; an ID number matches exactly (blind index)."""
    qs = _scoped(Person, user).select_related("grid")
    if area:
        qs = in_area(qs, area)
    if q:
        qs = qs.filter(name__startswith=q)
    if id_number:
        qs = qs.filter(id_number_bidx=services.id_index(id_number))
    if address:
        qs = qs.filter(address__contains=address)
    if category:
        qs = qs.filter(category=category)
    if tag:
        qs = qs.filter(
            Exists(
                PersonTag.objects.filter(tag_visible_q(user), person=OuterRef("pk"), kind__code=tag)
            )
        )
    return qs.order_by("-id")


def person_get_for(user, pk: int) -> Person:
    p = _scoped(Person, user).select_related("grid", "house", "employer").filter(pk=pk).first()
    if p is None:
        raise NotFound("person")
    return p


def tags_for(user, persons) -> dict[int, list[PersonTag]]:
    """Visible tags of the given persons, by person id (one query)."""
    ids = [p.pk for p in persons]
    out: dict[int, list[PersonTag]] = {i: [] for i in ids}
    for t in PersonTag.objects.filter(tag_visible_q(user), person_id__in=ids).select_related(
        "kind"
    ):
        out[t.person_id].append(t)
    return out


def tag_list_for(user, *, kind: str = "", area: str = "") -> QuerySet[PersonTag]:
    """Visible tags in scope (a township's list of one special-population tag …)."""
    qs = PersonTag.objects.filter(tag_visible_q(user), scope_q(user, "scope_code"))
    if kind:
        qs = qs.filter(kind__code=kind)
    if area:
        qs = in_area(qs, area)
    return qs.select_related("person", "kind").order_by("next_visit_due", "id")


def visits_due_for(user, *, area: str = "", within_days: int = 7, today: dt.date | None = None):
    today = today or timezone.localdate()
    return tag_list_for(user, area=area).filter(
        next_visit_due__lte=today + dt.timedelta(days=within_days)
    )


def history_for(entity: str, pk: int) -> QuerySet[ChangeLog]:
    return ChangeLog.objects.filter(entity=entity, object_id=pk).select_related("actor")[:100]


# --- other records ----------------------------------------------------------------------------

MODELS = {
    "house": House,
    "organisation": Organisation,
    "place": Place,
    "riskpoint": RiskPoint,
    "thing": Thing,
}


def record_list_for(user, entity: str, *, area: str = "", q: str = "") -> QuerySet:
    model = MODELS[entity]
    qs = _scoped(model, user).select_related("grid")
    if area:
        qs = in_area(qs, area)
    if q:
        field = {"house": "address", "thing": "code"}.get(entity, "name")
        qs = qs.filter(**{f"{field}__contains": q})
    return qs.order_by("-id")


def record_get_for(user, entity: str, pk: int):
    obj = _scoped(MODELS[entity], user).select_related("grid").filter(pk=pk).first()
    if obj is None:
        raise NotFound(entity)
    return obj


def grid_profile(user, grid: Grid, today: dt.date | None = None) -> dict:
    """Counts of 人房地事物组织风险点, visible tags by kind and visits due/overdue in one grid."""
    today = today or timezone.localdate()
    code = grid.code
    counts = {
        "persons": Person.objects.filter(scope_code=code).count(),
        "houses": House.objects.filter(scope_code=code).count(),
        "households": Household.objects.filter(scope_code=code).count(),
        "places": Place.objects.filter(scope_code=code).count(),
        "things": Thing.objects.filter(scope_code=code).count(),
        "organisations": Organisation.objects.filter(scope_code=code).count(),
        "riskpoints": RiskPoint.objects.filter(scope_code=code).count(),
        "visits_30d": Visit.objects.filter(
            scope_code=code, at__date__gte=today - dt.timedelta(days=30)
        ).count(),
    }
    tags = PersonTag.objects.filter(tag_visible_q(user), scope_code=code)
    by_kind = list(
        tags.values("kind__code", "kind__name", "kind__sensitive")
        .annotate(n=Count("id"))
        .order_by("kind__order")
    )
    due = tags.filter(
        next_visit_due__gte=today, next_visit_due__lte=today + dt.timedelta(days=7)
    ).count()
    overdue = tags.filter(next_visit_due__lt=today).count()
    return {"counts": counts, "tags": by_kind, "due": due, "overdue": overdue}
