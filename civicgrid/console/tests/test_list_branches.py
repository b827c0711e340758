"""The console list reads a page per disjunct of the caller's scope and merges them: the pages
must be exactly those of the one OR query, in every sort, forwards and backwards."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from civicgrid.cases.models import Case
from civicgrid.console.queries import lists
from civicgrid.core.keyset import keyset_page
from civicgrid.people.access import Principal

from .conftest import A1, A2, B1, new_case

PERSONAS = ["operator_a", "handler_a", "worker_a1", "chief_a", "outsider_b"]


@pytest.fixture
def many(world, cats):
    """Cases in every grid with equal report times (ties broken by id), some without a deadline,
    assigned to and reported by the grid worker."""
    base = timezone.now() - dt.timedelta(days=3)
    out = []
    for i in range(14):
        at = (A1, A2, B1)[i % 3]
        case = new_case(world, cats, at=at, description=f"案件{i}")
        Case.objects.filter(pk=case.pk).update(
            reported_at=base + dt.timedelta(hours=i // 2),
            sla_due_at=None if i % 4 == 0 else base + dt.timedelta(hours=40 - i),
            priority=i % 3,
            worker=world.worker_a1 if i % 5 == 0 else None,
            reporter=world.worker_a1 if i == 7 else None,
        )
        out.append(case)
    return out


def _walk(qs, sort, branches, limit=3):
    """Every page forwards from the first, then backwards from the last."""
    forward, page = [], keyset_page(qs, sort, limit=limit, branches=branches)
    forward.append([c.pk for c in page.items])
    while page.next_cursor:
        page = keyset_page(qs, sort, after=page.next_cursor, limit=limit, branches=branches)
        forward.append([c.pk for c in page.items])
    backward = []
    while page.prev_cursor:
        page = keyset_page(qs, sort, before=page.prev_cursor, limit=limit, branches=branches)
        backward.append([c.pk for c in page.items])
    return forward, backward


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("sort", sorted(lists.SORTS))
def test_branch_pages_equal_the_or_query_pages(world, many, persona, sort):
    who = getattr(world, persona)
    branches = Principal.of(who).case_visible_branches()
    assert len(branches) >= 2
    qs = lists.case_filter_qs(who, {})
    s = lists.SORTS[sort]
    assert _walk(qs, s, branches) == _walk(qs, s, ())
    assert sum(len(p) for p in _walk(qs, s, branches)[0]) == qs.count()


def test_the_console_case_page_is_the_newest_page_of_the_or_query(world, many):
    who = world.worker_a1
    expected = list(
        lists.case_filter_qs(who, {}).order_by("-reported_at", "-pk").values_list("pk", flat=True)
    )[: lists.PAGE_SIZE]
    page = lists.case_page(who, {})
    assert [c.pk for c in page.items] == expected
