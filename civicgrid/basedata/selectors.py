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
from civicgrid.people.models import Role, RoleAssignment
from civicgrid.people.scoping import in_scope, scope_q
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


def _scoped(model, user) -> QuerySet:
    return model.objects.filter(scope_q(user, "scope_code"))


def sensitive_tag_q(user, prefix: str = "") -> Q:
    """The sensitive tags ``user`` serves (``prefix`` names the related path, e.g. "tags__")."""
    if user is None or not user.is_authenticated:
        return Q(pk__in=[])
    if user.is_superuser:
        return Q()
    q = scope_q(user, f"{prefix}scope_code", roles=SERVING_ROLES)
    cache = user.__dict__.setdefault("_bd_dept_cache", None)
    if cache is None:
        cache = list(
            RoleAssignment.objects.filter(user=user, role=Role.HANDLER, department__isnull=False)
            .select_related("area")
            .values_list("area__code", "area__level", "department_id")
        )
        user.__dict__["_bd_dept_cache"] = cache
    from civicgrid.territory import codes

    for code, level, dept in cache:
        kinds = list(
            TagKind.objects.filter(departments=dept, sensitive=True).values_list("pk", flat=True)
        )
        if kinds:
            q |= Q(
                **{
                    f"{prefix}kind__in": kinds,
                    f"{prefix}scope_code__startswith": code[: codes.PREFIX_LEN[level]],
                }
            )
    return q


def tag_visible_q(user, prefix: str = "") -> Q:
    return Q(**{f"{prefix}sensitive": False}) | (
        Q(**{f"{prefix}sensitive": True}) & sensitive_tag_q(user, prefix)
    )


def can_see_kind(user, kind: TagKind, scope_code: str) -> bool:
    """May ``user`` see tags of ``kind`` on a record in ``scope_code``? (no query for open kinds)"""
    if not kind.sensitive:
        return in_scope(user, scope_code)
    return PersonTag.objects.filter(
        sensitive_tag_q(user), kind=kind, scope_code=scope_code
    ).exists() or in_scope(user, scope_code, roles=SERVING_ROLES)


def visible_kinds(user) -> list[TagKind]:
    """Tag kinds offered in filters: open ones, and sensitive ones the user serves somewhere."""
    kinds = list(TagKind.objects.all())
    if user.is_superuser or scope_q(user, "x", roles=SERVING_ROLES) != Q(pk__in=[]):
        return kinds
    served = set(
        TagKind.objects.filter(
            departments__assignments__user=user, departments__assignments__role=Role.HANDLER
        ).values_list("pk", flat=True)
    )
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
        qs = qs.filter(scope_code__startswith=area)
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
        qs = qs.filter(scope_code__startswith=area)
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
        qs = qs.filter(scope_code__startswith=area)
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
