"""Choices for the console's selects: categories, departments, workers, areas."""

from __future__ import annotations

from civicgrid.cases.models import Case, Category
from civicgrid.people.access import Principal
from civicgrid.people.models import Department, GridMember, Role
from civicgrid.territory.models import Area


def category_choices() -> list[tuple[Category, list[Category]]]:
    """Active categories as (class, items) pairs for grouped selects."""
    cats = list(Category.objects.filter(is_active=True).order_by("code"))
    classes = [c for c in cats if c.is_class]
    return [(c, [i for i in cats if i.parent_id == c.pk]) for c in classes]


def department_choices_for_case(case: Case) -> list[Department]:
    """Active departments that serve the case's location (the engine checks it again)."""
    depts = (
        Department.objects.filter(is_active=True)
        .select_related("area")
        .defer("area__boundary")
        .order_by("area__code", "code")
    )
    return [d for d in depts if case.scope_code.startswith(d.area.prefix)]


def department_choices_for(who) -> list[Department]:
    """Departments an operator may dispatch to: above, at or below their areas."""
    prefixes = Principal.of(who).prefixes([Role.OPERATOR])
    depts = list(
        Department.objects.filter(is_active=True)
        .select_related("area")
        .defer("area__boundary")
        .order_by("area__code", "code")
    )
    if prefixes is None:
        return depts
    return [
        d
        for d in depts
        if any(d.area.prefix.startswith(p) or p.startswith(d.area.prefix) for p in prefixes)
    ]


def worker_choices_for_case(case: Case) -> list[GridMember]:
    if not case.grid_id:
        return []
    return list(
        GridMember.objects.filter(grid_id=case.grid_id, user__is_active=True)
        .select_related("user")
        .order_by("-is_leader", "worker_type", "user__full_name")
    )


def area_choices(who, max_level: int = 3) -> list[Area]:
    return list(
        Area.objects.filter(Principal.of(who).scope_q(), level__lte=max_level)
        .only("code", "name", "level")
        .order_by("code")[:500]
    )
