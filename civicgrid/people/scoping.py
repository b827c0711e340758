"""Territory scope by code prefix: thin functions over the request's ``Principal``.

Every area, grid, micro-grid, person and case carries a code that starts with the code prefix of
each area above it (the statistical code structure). A scope is therefore a short list of code
prefixes, and a query is filtered with ``code LIKE 'prefix%'``. The rules live in
``civicgrid.people.access``; these functions accept a ``Principal`` (no query) or a user (a
principal is built for the call: pass the request's principal where one is at hand).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q, QuerySet

from .access import STAFF_ROLES, Principal

__all__ = [
    "STAFF_ROLES",
    "scope_prefixes",
    "scope_q",
    "scope_filter",
    "in_scope",
    "user_roles",
    "has_role",
]


def scope_prefixes(who, roles: Iterable[str] | None = None) -> list[str] | None:
    """Code prefixes visible through ``roles``: None unrestricted (superuser), [] nothing."""
    return Principal.of(who).prefixes(roles)


def scope_q(who, field: str = "code", roles: Iterable[str] | None = None) -> Q:
    """A Q object limiting ``field`` (a code column) to the scope."""
    return Principal.of(who).scope_q(field, roles)


def scope_filter(qs: QuerySet, who, field: str = "code", roles: Iterable[str] | None = None):
    return qs.filter(scope_q(who, field, roles))


def in_scope(who, code: str, roles: Iterable[str] | None = None) -> bool:
    return Principal.of(who).in_scope(code, roles)


def user_roles(who) -> set[str]:
    return set(Principal.of(who).roles)


def has_role(who, *roles: str) -> bool:
    if who is None:
        return False
    return Principal.of(who).has_role(*roles)
