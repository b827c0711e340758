"""Who sees which analytics, and the filters every indicator, chart and export share.

Analytics are read through the leader, operator, grid-chief and administrator roles: each sees
the area subtree of their assignment (``civicgrid.people.scoping``), a superuser the whole
territory. Grid workers, handlers and citizens have no dashboard (403); an area outside the
caller's scope answers 404 like every other out-of-scope object.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from django.db.models import Q
from django.utils.translation import gettext as _

from civicgrid.cases.models import Category, Source
from civicgrid.core.errors import DomainError, Forbidden, NotFound
from civicgrid.people.models import Department, Role
from civicgrid.people.scoping import in_scope, scope_prefixes, scope_q
from civicgrid.territory import codes
from civicgrid.territory.models import Area, Grid

ANALYTICS_ROLES = (Role.LEADER, Role.OPERATOR, Role.GRID_CHIEF, Role.ADMIN)


def analytics_prefixes(user) -> list[str] | None:
    """Code prefixes ``user`` sees in analytics; None = everything, [] = no access."""
    return scope_prefixes(user, ANALYTICS_ROLES)


def can_view_analytics(user) -> bool:
    return analytics_prefixes(user) != []


def require_analytics(user) -> None:
    if not can_view_analytics(user):
        raise Forbidden(
            _("Analytics are available to leaders, operators, grid chiefs and administrators.")
        )


@dataclass(frozen=True)
class Filters:
    """Validated filters. ``area`` is an area (12 digits) or grid (15 digits) code or ""."""

    area: str = ""
    category: str = ""
    source: str = ""
    department: str = ""
    # Derived when validated: the code prefix of ``area`` and the category ids of ``category``.
    prefix: str = ""
    category_ids: tuple[int, ...] = field(default=(), compare=False)
    department_id: int | None = field(default=None, compare=False)

    def as_params(self) -> dict[str, str]:
        d = asdict(self)
        return {k: d[k] for k in ("area", "category", "source", "department") if d[k]}


def area_prefix(code: str) -> str:
    """The code prefix of an area (by level) or a grid (its whole code)."""
    if codes.GRID_RE.match(code):
        return code
    return code[: codes.PREFIX_LEN[codes.area_level(code)]]


def resolve_filters(
    user, *, area: str = "", category: str = "", source: str = "", department: str = ""
) -> Filters:
    """Check and resolve raw filter values for ``user``; NotFound for an area out of scope."""
    require_analytics(user)
    area = (area or "").strip()
    prefix = ""
    if area:
        if not (codes.AREA_RE.match(area) or codes.GRID_RE.match(area)):
            raise DomainError(
                "invalid_code",
                _("area must be a 12-digit area code or a 15-digit grid code."),
                field="area",
            )
        model = Grid if len(area) == 15 else Area
        try:
            prefix = area_prefix(area)
        except DomainError:
            raise NotFound(_("area")) from None
        if not model.objects.filter(code=area).exists() or not in_scope(
            user, prefix, ANALYTICS_ROLES
        ):
            raise NotFound(_("area"))
    category = (category or "").strip()
    cat_ids: tuple[int, ...] = ()
    if category:
        if len(category) == 2:
            cat_ids = tuple(
                Category.objects.filter(code__startswith=category).values_list("pk", flat=True)
            )
        else:
            cat_ids = tuple(Category.objects.filter(code=category).values_list("pk", flat=True))
        if not cat_ids:
            raise DomainError(
                "invalid_category",
                _("Category %(c)s does not exist.") % {"c": category},
                field="category",
            )
    source = (source or "").strip()
    if source and source not in Source.values:
        raise DomainError(
            "invalid",
            _("source must be one of %(v)s.") % {"v": ", ".join(Source.values)},
            field="source",
        )
    department = (department or "").strip()
    dept_id = None
    if department:
        dept_id = Department.objects.filter(code=department).values_list("pk", flat=True).first()
        if dept_id is None:
            raise DomainError(
                "invalid_department",
                _("Department %(d)s does not exist.") % {"d": department},
                field="department",
            )
    return Filters(area, category, source, department, prefix, cat_ids, dept_id)


def case_q(user, filters: Filters, rel: str = "") -> Q:
    """The cases ``user`` may count under ``filters``; ``rel`` is the path to Case ("case__")."""
    q = scope_q(user, f"{rel}scope_code", roles=ANALYTICS_ROLES)
    if filters.prefix:
        q &= Q(**{f"{rel}scope_code__startswith": filters.prefix})
    if filters.category_ids:
        q &= Q(**{f"{rel}category_id__in": filters.category_ids})
    if filters.source:
        q &= Q(**{f"{rel}source": filters.source})
    return q


def department_q(filters: Filters, rel: str = "") -> Q:
    """The department filter on the case's current assignment (not for dispatch events)."""
    if filters.department_id is None:
        return Q()
    return Q(**{f"{rel}department_id": filters.department_id})


def scope_root(user) -> Area | None:
    """The one area at the top of ``user``'s analytics scope (the city for a superuser), or
    None when the scope is several separate subtrees (see ``scope_areas``)."""
    prefixes = analytics_prefixes(user)
    if prefixes is None:
        return Area.objects.filter(parent__isnull=True).order_by("code").first()
    areas = scope_areas(user)
    return areas[0] if len(areas) == 1 else None


def scope_areas(user) -> list[Area]:
    """The top areas of ``user``'s analytics scope, one per scope prefix."""
    prefixes = analytics_prefixes(user) or []
    out = []
    for p in prefixes:
        if len(p) > 12:
            continue
        area = Area.objects.filter(code__startswith=p).order_by("level", "code").first()
        if area is not None:
            out.append(area)
    return out


def area_chain(code: str, user) -> list[dict]:
    """Breadcrumbs from the user's scope root down to ``code`` (each crumb in scope)."""
    if not code:
        return []
    chain: list[dict] = []
    if len(code) == 15:
        grid = Grid.objects.select_related("area").filter(code=code).first()
        if grid is None:
            return []
        chain.append({"code": grid.code, "name": grid.name, "level": 5})
        area = grid.area
    else:
        area = Area.objects.filter(code=code).first()
    while area is not None:
        if not in_scope(user, area.prefix, ANALYTICS_ROLES):
            break
        chain.append({"code": area.code, "name": area.name, "level": area.level})
        area = area.parent
    return list(reversed(chain))
