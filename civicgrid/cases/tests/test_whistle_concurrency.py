"""Three SLA workers sweeping whistles at once: one supervision per call and deadline
(PostgreSQL only)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from civicgrid.cases import services
from civicgrid.cases.models import Supervision, WhistleCall, WhistleCallAction
from civicgrid.cases.whistles import whistle_sweep

from .conftest import drive
from .test_concurrency import race

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]


@pytest.mark.parametrize("attempt", range(3))
def test_three_workers_supervise_each_late_call_once(world, cats, co, attempt):
    for _ in range(4):
        case = drive(world, cats, "in_progress")
        services.case_whistle(
            case=case, actor=co.town, departments=["A-SW", "A-HB"], reason="联合处置"
        )
    due = WhistleCall.objects.order_by("report_due").first().report_due
    later = due + dt.timedelta(minutes=1)
    results = race(*[lambda: whistle_sweep(later)] * 3)
    assert all(isinstance(r, dict) for r in results), results
    calls = WhistleCall.objects.count()
    assert calls == 8
    assert sum(r["whistle"] for r in results) == calls
    assert Supervision.objects.filter(whistle_call__isnull=False).count() == calls
    assert WhistleCallAction.objects.filter(action="supervise").count() == calls
    assert not WhistleCall.objects.filter(supervised_at__isnull=True).exists()
