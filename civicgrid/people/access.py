"""The access layer: one ``Principal`` per request, task or command.

A principal is built once from the user's role assignments (one query, joined to the areas'
codes and centers) plus, only when the user holds the grid-worker role, their grid memberships
(a second query). Everything about "who may see or do what" is answered from it in memory:

- ``prefixes(roles)`` / ``scope_q(field, roles)`` / ``in_scope(code, roles)``: the territory
  code prefixes per role (an assignment's area subtree; a grid worker's grids);
- ``centers``: "my centers" as operator, one definition for the API queue, the console queue and
  the notifications: the assignment's center, else the center of the assignment's area;
- ``handler_pairs``: (department, area prefix) of each handler assignment;
- ``case_visible_q()``: the cases this principal may see (a Q), ``can_view(case)`` the same rule
  evaluated on one loaded case, and ``capacities(case)``: what the principal *is* for the case
  (operator, handler, assignee, ...), both without a further query.

Views and API endpoints call ``principal_of(request)``: built on first use and kept for the
request by ``PrincipalMiddleware`` (a service given ``actor=request.user`` gets the same one);
tasks and commands call ``Principal.of(user)`` once and pass the principal on.
``case_get_for`` style fetch-or-404 helpers live with their models' selectors and take a
principal; ``get_or_404`` here is the generic one.

The module also answers the inverse question for notifications: which users hold a role over a
code (``operators_of_center``, ``handlers_over``, ``leaders_over``), one query each.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.apps import apps
from django.db.models import Q, QuerySet

from civicgrid.core.errors import NotFound
from civicgrid.territory.codes import PREFIX_LEN, TOWNSHIP, VILLAGE

from .dispute_access import DisputeAccess
from .models import GridMember, Role, RoleAssignment, User

STAFF_ROLES = (
    Role.GRID_WORKER,
    Role.GRID_CHIEF,
    Role.OPERATOR,
    Role.HANDLER,
    Role.LEADER,
    Role.ADMIN,
)
# Roles whose area scope shows the cases located in it (handlers see only what is dispatched to
# their department; operators also see what their centers own).
VIEW_ROLES = (Role.OPERATOR, Role.LEADER, Role.GRID_CHIEF, Role.GRID_WORKER, Role.ADMIN)

# Case capacities: what a user is for one case.
OPERATOR, HANDLER, ASSIGNEE = "operator", "handler", "assignee"
GRID_WORKER, GRID_CHIEF, LEADER = "grid_worker", "grid_chief", "leader"
REPORTER, SYSTEM = "reporter", "system"
# 主办/协办 and 吹哨报到: a handler of a co-department (协办) or of a department called by a
# whistle, on the case; on a part: its co-department (co_handler), the lead department's handler
# (lead); on a whistle call: the called department (called) and who may withdraw it (caller).
CO_HANDLER, CALLED, LEAD, CALLER = "co_handler", "called", "lead", "caller"
# Centers whose operators blow the whistle: township/street and village/community (docs/domain.md).
WHISTLE_LEVELS = (TOWNSHIP, VILLAGE)


# The principals of the request being served, by id of the user object they were built for
# (``PrincipalMiddleware`` opens and closes it): a service called by a view with
# ``actor=request.user`` reuses the view's principal instead of reading the assignments again.
_request_principals: ContextVar[dict | None] = ContextVar("civicgrid_principals", default=None)


def minimal_prefixes(prefixes: Iterable[str]) -> list[str]:
    """Drop prefixes covered by a shorter one, so an OR list stays short."""
    out: list[str] = []
    for p in sorted(set(prefixes), key=len):
        if not any(p.startswith(q) for q in out):
            out.append(p)
    return sorted(out)


def _prefix_q(field_name: str, prefixes: list[str] | None) -> Q:
    if prefixes is None:
        return Q()
    if not prefixes:
        return Q(pk__in=[])
    q = Q()
    for p in prefixes:
        q |= Q(**{f"{field_name}__startswith": p})
    return q


@dataclass(frozen=True)
class Grant:
    """One role assignment as the access layer needs it (codes only, never a boundary)."""

    role: str
    area_id: int
    prefix: str
    center_id: int | None  # the assignment's center, else the center of its area
    department_id: int | None
    level: int = 0  # the assignment area's level (territory.codes)


@dataclass(frozen=True)
class Membership:
    grid_id: int
    code: str


@dataclass(eq=False)
class Principal(DisputeAccess):
    """Who is asking, with everything their scope depends on, loaded once."""

    user: Any
    grants: tuple[Grant, ...] = ()
    memberships: tuple[Membership, ...] = ()
    _prefix_cache: dict = field(default_factory=dict, repr=False)

    # --- construction -------------------------------------------------------------------------

    @classmethod
    def of(cls, user) -> Principal:
        """Build the principal of ``user`` (anonymous, inactive or None: one that sees nothing).

        One RoleAssignment query; a GridMember query only for holders of the grid-worker role.
        """
        if isinstance(user, Principal):
            return user
        if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
            return cls(user=user if user is not None else None)
        store = _request_principals.get()
        if store is not None:
            known = store.get(id(user))
            if known is not None and known.user is user:
                return known
        principal = cls._load(user)
        if store is not None:
            store[id(user)] = principal
        return principal

    @classmethod
    def _load(cls, user) -> Principal:
        rows = RoleAssignment.objects.filter(user_id=user.pk).values_list(
            "role",
            "area_id",
            "area__code",
            "area__level",
            "center_id",
            "area__center__id",
            "department_id",
        )
        grants = tuple(
            Grant(
                role=role,
                area_id=area_id,
                prefix=code[: PREFIX_LEN[level]],
                center_id=center_id or area_center_id,
                department_id=department_id,
                level=level,
            )
            for role, area_id, code, level, center_id, area_center_id, department_id in rows
        )
        memberships: tuple[Membership, ...] = ()
        if any(g.role == Role.GRID_WORKER for g in grants):
            memberships = tuple(
                Membership(grid_id, code)
                for grid_id, code in GridMember.objects.filter(user_id=user.pk).values_list(
                    "grid_id", "grid__code"
                )
            )
        return cls(user=user, grants=grants, memberships=memberships)

    # --- identity -----------------------------------------------------------------------------

    @property
    def is_authenticated(self) -> bool:
        u = self.user
        return bool(u is not None and getattr(u, "is_authenticated", False) and u.is_active)

    @property
    def is_superuser(self) -> bool:
        return self.is_authenticated and bool(self.user.is_superuser)

    @property
    def pk(self) -> int | None:
        return self.user.pk if self.is_authenticated else None

    @cached_property
    def roles(self) -> frozenset[str]:
        return frozenset(g.role for g in self.grants)

    def has_role(self, *roles: str) -> bool:
        """Superusers hold every role."""
        return self.is_superuser or bool(self.roles & set(roles))

    # --- territory scope ----------------------------------------------------------------------

    def prefixes(self, roles: Iterable[str] | None = None) -> list[str] | None:
        """Code prefixes visible through ``roles`` (default: every staff role).

        A grid worker sees the grids of their teams; every other role its assignment's area
        subtree. None means unrestricted (superuser), [] nothing.
        """
        if not self.is_authenticated:
            return []
        if self.is_superuser:
            return None
        key = tuple(roles) if roles is not None else STAFF_ROLES
        cached = self._prefix_cache.get(key)
        if cached is not None:
            return cached
        wanted = set(key)
        out = [g.prefix for g in self.grants if g.role in wanted and g.role != Role.GRID_WORKER]
        if Role.GRID_WORKER in wanted and Role.GRID_WORKER in self.roles:
            out += [m.code for m in self.memberships]
        result = minimal_prefixes(out)
        self._prefix_cache[key] = result
        return result

    def scope_q(self, field_name: str = "code", roles: Iterable[str] | None = None) -> Q:
        """A Q limiting ``field_name`` (a code column) to the scope of ``roles``."""
        return _prefix_q(field_name, self.prefixes(roles))

    def in_scope(self, code: str, roles: Iterable[str] | None = None) -> bool:
        prefixes = self.prefixes(roles)
        if prefixes is None:
            return True
        return any(code.startswith(p) for p in prefixes)

    def areas_of(self, *roles: str) -> list[int]:
        """Area ids of the assignments in ``roles``."""
        return sorted({g.area_id for g in self.grants if g.role in roles})

    # --- centers, departments, grids ------------------------------------------------------------

    @cached_property
    def centers(self) -> tuple[int, ...]:
        """My centers as operator: each operator assignment's center, else its area's center."""
        return tuple(
            sorted({g.center_id for g in self.grants if g.role == Role.OPERATOR and g.center_id})
        )

    @cached_property
    def handler_pairs(self) -> tuple[tuple[int, str], ...]:
        """(department id, area prefix) of each handler assignment with a department."""
        return tuple(
            sorted(
                {
                    (g.department_id, g.prefix)
                    for g in self.grants
                    if g.role == Role.HANDLER and g.department_id
                }
            )
        )

    @cached_property
    def grid_ids(self) -> frozenset[int]:
        """Grids whose team the principal is on (only loaded for grid-worker role holders)."""
        return frozenset(m.grid_id for m in self.memberships)

    def handler_q(self) -> Q:
        """Cases dispatched to my departments within each assignment's area (no fallback); on the
        co-handling parts and whistle calls (same columns) those of my departments."""
        q = Q(pk__in=[])
        for dept_id, prefix in self.handler_pairs:
            q |= Q(department_id=dept_id, scope_code__startswith=prefix)
        return q

    # --- cases ------------------------------------------------------------------------------------

    @cached_property
    def _visible_q(self) -> Q:
        if not self.is_authenticated:
            return Q(pk__in=[])
        if self.is_superuser:
            return Q()
        # One definition: the OR of the branches the console list reads one by one.
        q = Q(pk__in=[])
        for branch in self.case_visible_branches():
            q |= branch
        return q

    def _co_case_ids(self, states=None) -> QuerySet:
        """Cases on which one of my departments is a co-department (协办), as a subquery; with
        ``states``, only those whose part is in one of them."""
        part = apps.get_model("cases", "CasePart")
        parts = part.objects.filter(self.handler_q()).exclude(state="cancelled")
        return (parts.filter(state__in=states) if states else parts).values("case_id")

    def _called_case_ids(self, states=None) -> QuerySet:
        """Cases to which one of my departments was called by a whistle, as a subquery; with
        ``states``, only those whose call is in one of them."""
        call = apps.get_model("cases", "WhistleCall")
        calls = call.objects.filter(self.handler_q())
        return (calls.filter(state__in=states) if states else calls).values("case_id")

    def co_parts_waiting_q(self) -> Q:
        """Cases whose 协办 part for one of my departments is to sign for or in progress."""
        if not self.handler_pairs:
            return Q(pk__in=[])
        return Q(pk__in=self._co_case_ids(("assigned", "in_progress")))

    def whistle_calls_waiting_q(self) -> Q:
        """Cases to which one of my departments was called by a whistle and has to report in, or
        reported in and has to act."""
        if not self.handler_pairs:
            return Q(pk__in=[])
        return Q(pk__in=self._called_case_ids(("called", "reported")))

    def co_handling_q(self) -> Q:
        """Cases waiting for my departments as co-department or called by a whistle."""
        return self.co_parts_waiting_q() | self.whistle_calls_waiting_q()

    def part_q(self) -> Q:
        """Co-handling parts of my departments within each assignment's area."""
        return self.handler_q()

    def case_visible_q(self) -> Q:
        """Cases I may see: located in my scope, owned by my centers' areas, dispatched to my
        department within its area, assigned to me, or reported by me."""
        return self._visible_q

    def case_visible_branches(self) -> list[Q]:
        """``case_visible_q`` as its disjuncts, each served by one index (a prefix, my
        department in an area, assigned to me, reported by me); [] when unrestricted.

        A page of the newest rows matching an OR of conditions on different columns makes the
        database walk the date index and test every row; one ordered, limited read per disjunct
        merged together reads a page per disjunct (``core.keyset.keyset_page(branches=...)``).
        """
        if not self.is_authenticated or self.is_superuser:
            return []
        out = [Q(scope_code__startswith=p) for p in self.prefixes(VIEW_ROLES) or []]
        out += [Q(owner_code__startswith=p) for p in self.prefixes([Role.OPERATOR]) or []]
        out += [Q(department_id=d, scope_code__startswith=p) for d, p in self.handler_pairs]
        if self.handler_pairs:  # 协办 parts and 吹哨 calls of my departments
            out += [Q(pk__in=self._co_case_ids()), Q(pk__in=self._called_case_ids())]
        return out + [Q(worker_id=self.user.pk), Q(reporter_id=self.user.pk)]

    def can_view(self, case) -> bool:
        """The visibility rule of ``case_visible_q`` on one loaded case (no query)."""
        if not self.is_authenticated:
            return False
        if self.is_superuser:
            return True
        uid = self.user.pk
        if (case.worker_id and case.worker_id == uid) or (
            case.reporter_id and case.reporter_id == uid
        ):
            return True
        if self.in_scope(case.scope_code or "", VIEW_ROLES):
            return True
        if self.in_scope(case.owner_code or "", [Role.OPERATOR]):
            return True
        scope = case.scope_code or ""
        depts = {case.department_id, *(case.co_department_ids or ()), *_called(case)}
        return any(d in depts and scope.startswith(p) for d, p in self.handler_pairs)

    def capacities(self, case) -> set[str]:
        """What I am for ``case``: operator (case owned within my operator area), handler (of
        its department, case inside the assignment's area), assignee, grid_worker (on its
        grid's team), grid_chief and leader (case inside their area), reporter. No query."""
        if not self.is_authenticated:
            return set()
        uid = self.user.pk
        caps: set[str] = set()
        if case.reporter_id and case.reporter_id == uid:
            caps.add(REPORTER)
        if case.worker_id and case.worker_id == uid:
            caps.add(ASSIGNEE)
        if self.user.is_superuser:
            caps |= {OPERATOR, LEADER, GRID_CHIEF}
        scope = case.scope_code or ""
        owner = case.owner_code or ""
        co = case.co_department_ids or ()
        called = _called(case)
        for g in self.grants:
            if g.role == Role.OPERATOR and owner.startswith(g.prefix):
                caps.add(OPERATOR)
            elif g.role == Role.HANDLER and g.department_id and scope.startswith(g.prefix):
                if g.department_id == case.department_id:
                    caps.add(HANDLER)
                if g.department_id in co:
                    caps.add(CO_HANDLER)
                if g.department_id in called:
                    caps.add(CALLED)
            elif g.role == Role.LEADER and scope.startswith(g.prefix):
                caps.add(LEADER)
            elif g.role == Role.GRID_CHIEF and scope.startswith(g.prefix):
                caps.add(GRID_CHIEF)
        if case.grid_id and case.grid_id in self.grid_ids:
            caps.add(GRID_WORKER)
        return caps

    def blows_whistle(self, case) -> bool:
        """Whether I may blow the whistle on ``case``: an operator of a township or community
        center owning it, or a grid chief over its location. No query."""
        if not self.is_authenticated:
            return False
        if self.is_superuser:
            return True
        scope, owner = case.scope_code or "", case.owner_code or ""
        for g in self.grants:
            if g.role == Role.OPERATOR and g.level in WHISTLE_LEVELS and owner.startswith(g.prefix):
                return True
            if g.role == Role.GRID_CHIEF and scope.startswith(g.prefix):
                return True
        return False

    def _handles(self, department_id: int | None, scope: str) -> bool:
        return bool(department_id) and any(
            d == department_id and scope.startswith(p) for d, p in self.handler_pairs
        )

    def part_capacities(self, part) -> set[str]:
        """What I am for a co-handling part (``part.case`` loaded): co_handler (a handler of its
        co-department over the case), lead (a handler of the case's lead department) or
        operator (of the owner center). No query."""
        if not self.is_authenticated:
            return set()
        case = part.case
        scope = case.scope_code or ""
        caps: set[str] = set()
        if self._handles(part.department_id, scope):
            caps.add(CO_HANDLER)
        if self._handles(case.department_id, scope):
            caps.add(LEAD)
        if self.is_superuser or any(
            g.role == Role.OPERATOR and (case.owner_code or "").startswith(g.prefix)
            for g in self.grants
        ):
            caps.add(OPERATOR)
        return caps

    def call_capacities(self, call) -> set[str]:
        """What I am for a whistle call (``call.case`` loaded): called (a handler of the called
        department over the case) or caller (who may blow the whistle on the case). No query."""
        if not self.is_authenticated:
            return set()
        caps: set[str] = set()
        if self._handles(call.department_id, call.case.scope_code or ""):
            caps.add(CALLED)
        if self.blows_whistle(call.case):
            caps.add(CALLER)
        return caps

    def can_view_call(self, call) -> bool:
        """A whistle call is seen by whoever sees its case."""
        return self.can_view(call.case)


def _called(case) -> tuple[int, ...]:
    return tuple(case.called_department_ids or ())


def principal_of(request_or_user) -> Principal:
    """The principal of a request's current user (built once per request), or of a user."""
    if isinstance(request_or_user, Principal):
        return request_or_user
    if hasattr(request_or_user, "META"):  # an HttpRequest
        return Principal.of(getattr(request_or_user, "user", None))
    return Principal.of(request_or_user)


@contextmanager
def principal_scope():
    """Within the block, ``Principal.of(user)`` builds one principal per user object.

    What the middleware does for a request, for a task or a command that passes a user object
    down to code written for requests.
    """
    if _request_principals.get() is not None:  # already inside a request or an outer block
        yield
        return
    token = _request_principals.set({})
    try:
        yield
    finally:
        _request_principals.reset(token)


class PrincipalMiddleware:
    """Keep one principal per user object for the duration of a request.

    Views call ``principal_of(request)``; services they call with ``actor=request.user`` get
    the same principal from ``Principal.of``. A swapped ``request.user`` (token auth) is another
    object, hence its own principal. Outside a request (tasks, commands) nothing is kept:
    build the principal once and pass it on.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with principal_scope():
            return self.get_response(request)


def get_or_404(qs: QuerySet, what: str = "object", **lookup):
    """``qs.get(**lookup)`` or NotFound (mapped to 404: existence is not disclosed)."""
    obj = qs.filter(**lookup).first()
    if obj is None:
        raise NotFound(what)
    return obj


# --- recipients: who holds a role over a code --------------------------------------------------


def codes_over(code: str) -> list[str]:
    """The 12-digit codes of the areas containing ``code`` (an area, grid or micro-grid code)."""
    c = code[:12]
    return sorted({c[:n].ljust(12, "0") for n in PREFIX_LEN.values()})


def _active_users(assignments: QuerySet, only: tuple[str, ...] = ()) -> list[User]:
    users = User.objects.filter(pk__in=assignments.values("user_id"), is_active=True)
    return list((users.only(*only) if only else users).order_by("pk"))


def operators_of_center(center_id: int | None, *, only: tuple[str, ...] = ()) -> list[User]:
    """Operators whose center (``Principal.centers``) is ``center_id``: one query.

    ``only``: the user fields the caller reads (e.g. a notice's), the others deferred.
    """
    if not center_id:
        return []
    return _active_users(
        RoleAssignment.objects.filter(role=Role.OPERATOR).filter(
            Q(center_id=center_id) | Q(center__isnull=True, area__center__id=center_id)
        ),
        only,
    )


def handlers_over(department_id: int | None, code: str) -> list[User]:
    """Handlers of ``department_id`` whose assignment's area contains ``code``: one query."""
    if not department_id:
        return []
    return _active_users(
        RoleAssignment.objects.filter(
            role=Role.HANDLER, department_id=department_id, area__code__in=codes_over(code)
        )
    )


def leaders_over(code: str) -> list[User]:
    """Leaders whose area contains ``code``: one query."""
    return _active_users(
        RoleAssignment.objects.filter(role=Role.LEADER, area__code__in=codes_over(code))
    )
