"""One keyset pager for every list (the cases API and the console): never an OFFSET.

A page is the rows after (or before) the last row seen in a sort order ``(field, id)``. The
cursor carries the sort key, that row's value and its id; it is opaque to clients (base64 of a
small JSON array) and refused with ``invalid_cursor`` when it does not decode or belongs to
another sort.

Two ways to read a page:
- ``keyset_ids(qs, sort, after=..., limit=...)``: the page's ids as a sliced ``values("pk")``
  queryset, to be used as a subquery (``pk__in``) so the page is one statement whose joins run
  for the page's rows only (the cases API);
- ``keyset_page(qs, sort, ...)``: ids first on narrow rows, then ``hydrate(ids)`` loads the full
  rows; it also goes backwards (``before``) and says whether pages exist either side (the
  console).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connections
from django.db.models import F, Q, QuerySet
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from .errors import DomainError


@dataclass(frozen=True)
class Sort:
    key: str
    label: Any
    field: str
    descending: bool
    nullable: bool = False  # nulls sort last (ascending only)


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"t": value.isoformat()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and "t" in value:
        parsed = parse_datetime(value["t"])
        if parsed is None:
            raise ValueError
        return parsed
    return value


def encode_cursor(sort: Sort, value: Any, pk: int) -> str:
    raw = json.dumps([sort.key, _encode(value), pk], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def cursor_of(sort: Sort, obj: Any) -> str:
    """The cursor that continues after ``obj`` (a row of the list)."""
    return encode_cursor(sort, getattr(obj, sort.field), obj.pk)


def decode_cursor(sort: Sort, cursor: str, message: str | None = None) -> tuple[Any, int]:
    """(value, id) of a cursor made for ``sort``, or DomainError ``invalid_cursor``."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        key, value, pk = json.loads(raw)
        if key != sort.key:
            raise ValueError
        return _decode(value), int(pk)
    except (ValueError, TypeError, UnicodeDecodeError, json.JSONDecodeError):
        raise DomainError(
            "invalid_cursor", message or _("The cursor is not valid."), field="cursor"
        ) from None


def after_q(sort: Sort, value: Any, pk: int) -> Q:
    """Rows that come after (value, pk) in the sort order."""
    f = sort.field
    if sort.nullable:
        if value is None:
            return Q(**{f"{f}__isnull": True, "pk__gt": pk})
        return (
            Q(**{f"{f}__gt": value}) | Q(**{f: value, "pk__gt": pk}) | Q(**{f"{f}__isnull": True})
        )
    op = "lt" if sort.descending else "gt"
    # The redundant ``field <= value`` (or >=) gives the databases an index range to start from
    # instead of an OR they may answer with a full sort.
    return Q(**{f"{f}__{op}e": value}) & (Q(**{f"{f}__{op}": value}) | Q(**{f"pk__{op}": pk}))


def before_q(sort: Sort, value: Any, pk: int) -> Q:
    """Rows that come before (value, pk) in the sort order."""
    f = sort.field
    if sort.nullable:
        if value is None:
            return Q(**{f"{f}__isnull": False}) | Q(**{f"{f}__isnull": True, "pk__lt": pk})
        return Q(**{f"{f}__lt": value}) | Q(**{f: value, "pk__lt": pk})
    op = "gt" if sort.descending else "lt"
    return Q(**{f"{f}__{op}e": value}) & (Q(**{f"{f}__{op}": value}) | Q(**{f"pk__{op}": pk}))


def ordering(sort: Sort, reverse: bool = False) -> list:
    desc = sort.descending != reverse
    if sort.nullable:
        expr = (
            F(sort.field).desc(nulls_first=True) if reverse else F(sort.field).asc(nulls_last=True)
        )
    else:
        expr = F(sort.field).desc() if desc else F(sort.field).asc()
    return [expr, "-pk" if desc else "pk"]


def keyset_ids(
    qs: QuerySet, sort: Sort, *, after: str | None = None, limit: int, message: str | None = None
) -> QuerySet:
    """The ids of the ``limit`` rows after the cursor, in order (a subquery, not evaluated)."""
    if after:
        value, pk = decode_cursor(sort, after, message)
        qs = qs.filter(after_q(sort, value, pk))
    return qs.order_by(*ordering(sort)).values("pk")[:limit]


def _read(keys: QuerySet, sort: Sort, n: int, branches: Sequence[Q], reverse: bool) -> list:
    """The first ``n`` (pk, value) rows of ``keys`` in ``sort`` order (reversed when asked)."""
    order = ordering(sort, reverse)
    if len(branches) < 2:
        return list(keys.order_by(*order)[:n])
    parts = [keys.filter(b).order_by(*order)[:n] for b in branches]
    desc = sort.descending != reverse
    if not connections[keys.db].features.supports_slicing_ordering_in_compound:
        rows = {r[0]: r for part in parts for r in part}.values()  # SQLite: a read per branch
    elif sort.nullable:
        # A compound query orders by its columns' names only: the nulls-last rule is applied
        # to the merged rows, at most n per branch.
        rows = {r[0]: r for r in parts[0].union(*parts[1:])}.values()
    else:
        field_order = f"-{sort.field}" if desc else sort.field
        return list(parts[0].union(*parts[1:]).order_by(field_order, "-pk" if desc else "pk")[:n])
    if sort.nullable:
        return sorted(rows, key=lambda r: (r[1] is None, r[1], r[0]), reverse=desc)[:n]
    return sorted(rows, key=lambda r: (r[1], r[0]), reverse=desc)[:n]


@dataclass
class KeysetPage:
    items: list
    next_cursor: str | None = None
    prev_cursor: str | None = None
    first: bool = True
    extra: dict = field(default_factory=dict)


def keyset_page(
    qs: QuerySet,
    sort: Sort,
    *,
    after: str | None = None,
    before: str | None = None,
    limit: int,
    hydrate: Callable[[list[int]], Any] | None = None,
    message: str | None = None,
    branches: Sequence[Q] = (),
) -> KeysetPage:
    """One page of ``qs`` in ``sort`` order after or before a cursor.

    The page is chosen on narrow rows (id and sort key only), then ``hydrate(ids)`` (default:
    ``qs`` itself) loads the full rows with their joins: sorting a few thousand narrow rows is
    cheap, joining them all before a sort is not. ``branches``: conditions whose OR ``qs``
    already implies (a scope's disjuncts); with two or more, the page is the UNION of one
    ordered, limited read per branch, which an index serves each.
    """
    keys = qs.values_list("pk", sort.field)
    if before:
        value, pk = decode_cursor(sort, before, message)
        rows = _read(keys.filter(before_q(sort, value, pk)), sort, limit + 1, branches, True)
        more_before = len(rows) > limit
        rows = rows[:limit][::-1]
        more_after, first = True, not more_before
    else:
        if after:
            value, pk = decode_cursor(sort, after, message)
            keys = keys.filter(after_q(sort, value, pk))
        rows = _read(keys, sort, limit + 1, branches, False)
        more_after = len(rows) > limit
        rows = rows[:limit]
        more_before, first = bool(after), not after
    ids = [r[0] for r in rows]
    loaded = {obj.pk: obj for obj in (hydrate(ids) if hydrate else qs.filter(pk__in=ids))}
    return KeysetPage(
        items=[loaded[i] for i in ids if i in loaded],
        next_cursor=encode_cursor(sort, rows[-1][1], rows[-1][0]) if rows and more_after else None,
        prev_cursor=encode_cursor(sort, rows[0][1], rows[0][0]) if rows and more_before else None,
        first=first,
    )
