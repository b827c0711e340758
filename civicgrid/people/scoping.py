"""The one scoping function: which territory codes a user may see.

Every area, grid, micro-grid, person and (later) case carries a code that starts with the code
prefix of each area above it (the statistical code structure). A user's scope is therefore a
short list of code prefixes, and every query is filtered with ``code LIKE 'prefix%'`` through
``scope_q``. ``None`` means unrestricted (superusers only).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q, QuerySet

from .models import GridMember, Role, RoleAssignment

STAFF_ROLES = (
    Role.GRID_WORKER,
    Role.GRID_CHIEF,
    Role.OPERATOR,
    Role.HANDLER,
    Role.LEADER,
    Role.ADMIN,
)


def _minimal(prefixes: Iterable[str]) -> list[str]:
    """Drop prefixes covered by a shorter one, so the OR list stays short."""
    out: list[str] = []
    for p in sorted(set(prefixes), key=len):
        if not any(p.startswith(q) for q in out):
            out.append(p)
    return sorted(out)


def scope_prefixes(user, roles: Iterable[str] | None = None) -> list[str] | None:
    """Code prefixes visible to ``user`` through the given roles (default: all staff roles).

    A grid worker sees the grids of their teams; every other role sees its assignment's area
    subtree. Returns None for unrestricted (superuser), [] for nothing.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return []
    if user.is_superuser:
        return None
    roles = tuple(roles) if roles is not None else STAFF_ROLES
    cache = user.__dict__.setdefault("_scope_cache", {})
    if roles in cache:
        return cache[roles]
    prefixes: list[str] = []
    # Only the code and level are needed: never pull the area's boundary polygon here.
    rows = (
        RoleAssignment.objects.filter(user=user, role__in=roles)
        .select_related("area")
        .only("role", "area__code", "area__level")
    )
    has_worker_role = False
    for ra in rows:
        if ra.role == Role.GRID_WORKER:
            has_worker_role = True
        else:
            prefixes.append(ra.area.prefix)
    if has_worker_role:
        prefixes.extend(GridMember.objects.filter(user=user).values_list("grid__code", flat=True))
    result = _minimal(prefixes)
    cache[roles] = result
    return result


def scope_q(user, field: str = "code", roles: Iterable[str] | None = None) -> Q:
    """A Q object limiting ``field`` (a code column) to the user's scope."""
    prefixes = scope_prefixes(user, roles)
    if prefixes is None:
        return Q()
    if not prefixes:
        return Q(pk__in=[])
    q = Q()
    for p in prefixes:
        q |= Q(**{f"{field}__startswith": p})
    return q


def scope_filter(qs: QuerySet, user, field: str = "code", roles: Iterable[str] | None = None):
    return qs.filter(scope_q(user, field, roles))


def in_scope(user, code: str, roles: Iterable[str] | None = None) -> bool:
    prefixes = scope_prefixes(user, roles)
    if prefixes is None:
        return True
    return any(code.startswith(p) for p in prefixes)


def user_roles(user) -> set[str]:
    if user is None or not user.is_authenticated:
        return set()
    cache = user.__dict__.setdefault("_roles_cache", None)
    if cache is None:
        cache = set(RoleAssignment.objects.filter(user=user).values_list("role", flat=True))
        user.__dict__["_roles_cache"] = cache
    return cache


def has_role(user, *roles: str) -> bool:
    return bool(user is not None and (user.is_superuser or user_roles(user) & set(roles)))
