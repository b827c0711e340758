"""A hand-computed month of cases, driven through the real case engine at frozen times.

March 2026 in district A (grid A1), plus one case in district B, one in February (环比) and one
in March 2025 (同比). The expected figures are worked out by hand in test_indicators.py from the
timeline below (local time, UTC+8; 1 March 2026 is a Sunday; no holiday rows, so Monday–Friday
09:00–12:00 and 13:30–17:30 are the working hours):

c1  rep 2 Mar 09:00, accept 10:00, dispatch, sign, submit 3 Mar 09:00, verify 10:00, rated 5
c2  rep 4 Mar 09:00, accept 12:00 (late), submit 5 Mar, rework, submit 6 Mar, verify 10:00, rated 3
c3  rep 9 Mar 09:00, accept 09:30, extension to 15 Mar 18:00 approved, verify Sat 14 Mar 10:00
c4  rep 10 Mar 09:00, accept 10:00, verify 13 Mar 10:00 (deadline 12 Mar 10:00: late)
c5  rep 11 Mar 09:00, self-closed 09:05 by the grid worker
c6  rep 12 Mar 09:00, rejected 09:30
c7  rep 12 Mar 10:00, merged into c8 at 10:30
c8  rep 12 Mar 09:50, accept 10:00, dispatched 10:10, never signed (overdue); supervised 20 Mar
c9  rep 16 Mar 09:00, accept 09:30, signed, suspended 11:00 (review 30 Apr)
c10 rep 17 Mar 09:00, accept 09:30, verified 16:00, reopened 2 Apr 10:00
c11 rep 20 Mar 09:00, accept 09:30, signed, submit 3 Apr 09:00, verified 3 Apr 10:00
c12 rep 25 Mar 09:00 by a citizen, never accepted
c13 rep 23 Mar 09:00, accept 09:30, dispatched 09:40, returned 10:00, re-dispatched 10:30,
    supervised 10:45, signed 11:00 (answers the supervision), left in progress
b1  rep 5 Mar 09:00 in district B, category 0501
f1  rep 10 Feb 09:00, accept 10:00, verified 11 Feb 10:00
y1  rep 5 Mar 2025 09:00, accept 10:00, verified 6 Mar 2025 10:00
"""

from __future__ import annotations

import datetime as dt
import io
from types import SimpleNamespace

import pytest
import time_machine
from PIL import Image

from civicgrid.cases import services
from civicgrid.cases.models import Category, HandlingLevel, SlaUnit
from civicgrid.conftest import X0, Y0

TZ = dt.timezone(dt.timedelta(hours=8))
A1 = (Y0 + 0.01, X0 + 0.005)
A2 = (Y0 + 0.01, X0 + 0.015)
B1 = (Y0 + 0.01, X0 + 0.03)
NOW = dt.datetime(2026, 4, 10, 12, 0, tzinfo=TZ)


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TZ)


def jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (30, 120, 200)).save(buf, format="JPEG")
    return buf.getvalue()


def on(when: dt.datetime, fn, **kw):
    """Run one service call with the clock frozen at ``when``."""
    with time_machine.travel(when, tick=False):
        return fn(**kw)


@pytest.fixture
def cats(world):
    env = Category.objects.create(code="04", name="市容环境")
    small = Category.objects.create(
        code="0401",
        name="乱堆乱放",
        parent=env,
        handling_level=HandlingLevel.VILLAGE,
        default_department=world.dept_a,
        response_limit=2,
        handling_limit=48,
        sla_unit=SlaUnit.NATURAL,
        self_closable=True,
    )
    safety = Category.objects.create(code="05", name="安全生产")
    fire = Category.objects.create(
        code="0501",
        name="消防通道堵塞",
        parent=safety,
        handling_level=HandlingLevel.VILLAGE,
        response_limit=2,
        handling_limit=48,
        sla_unit=SlaUnit.NATURAL,
    )
    return SimpleNamespace(env=env, small=small, safety=safety, fire=fire)


class Driver:
    """Service calls at given times, on behalf of the world's personas."""

    def __init__(self, world, cats):
        self.w, self.cats = world, cats

    def report(self, when, *, where=A1, category=None, actor=None, source="grid_worker", **kw):
        actor = actor or self.w.worker_a1
        return on(
            when,
            services.case_report,
            actor=actor,
            category=category or self.cats.small,
            description="楼道堆放杂物",
            lat=where[0],
            lng=where[1],
            source=source,
            **kw,
        )

    def accept(self, case, when, operator=None):
        on(
            when,
            services.case_accept,
            case=case,
            actor=operator or self.w.operator_a,
            category=case.category,
            priority=2,
        )

    def dispatch(self, case, when, operator=None, department=None):
        on(
            when,
            services.case_dispatch,
            case=case,
            actor=operator or self.w.operator_a,
            department=department or self.w.dept_a,
        )

    def sign(self, case, when, handler=None):
        on(when, services.case_sign, case=case, actor=handler or self.w.handler_a)

    def submit(self, case, when, handler=None):
        on(
            when,
            services.case_submit,
            case=case,
            actor=handler or self.w.handler_a,
            result="已处理",
            attachments=[jpeg()],
        )

    def verify(self, case, when, operator=None):
        on(when, services.case_verify, case=case, actor=operator or self.w.operator_a, note="属实")

    def full(self, case, accept, submit, verify, *, operator=None, handler=None):
        """Accept, dispatch 10 min later, sign 20 min later, submit, verify."""
        self.accept(case, accept, operator)
        self.dispatch(case, accept + dt.timedelta(minutes=10), operator)
        self.sign(case, accept + dt.timedelta(minutes=20), handler)
        self.submit(case, submit, handler)
        self.verify(case, verify, operator)
        return case


@pytest.fixture
def driver(world, cats):
    return Driver(world, cats)


@pytest.fixture
def march(world, cats, driver):
    """The timeline of the module docstring; returns the cases by name."""
    w, d = world, driver
    c = SimpleNamespace()

    # c1 and c2 are citizens' reports: only a report's own citizen rates it (满意率).
    c.c1 = d.report(at(2026, 3, 2, 9), actor=w.citizen, source="citizen")
    d.full(c.c1, at(2026, 3, 2, 10), at(2026, 3, 3, 9), at(2026, 3, 3, 10))
    on(at(2026, 3, 3, 11), services.case_rate, case=c.c1, actor=w.citizen, score=5)

    c.c2 = d.report(at(2026, 3, 4, 9), actor=w.citizen, source="citizen")
    d.accept(c.c2, at(2026, 3, 4, 12))
    d.dispatch(c.c2, at(2026, 3, 4, 12, 10))
    d.sign(c.c2, at(2026, 3, 4, 12, 20))
    d.submit(c.c2, at(2026, 3, 5, 9))
    on(at(2026, 3, 5, 10), services.case_rework, case=c.c2, actor=w.operator_a, reason="未清理干净")
    d.submit(c.c2, at(2026, 3, 6, 9))
    d.verify(c.c2, at(2026, 3, 6, 10))
    on(at(2026, 3, 6, 11), services.case_rate, case=c.c2, actor=w.citizen, score=3)

    c.c3 = d.report(at(2026, 3, 9, 9))
    d.accept(c.c3, at(2026, 3, 9, 9, 30))
    d.dispatch(c.c3, at(2026, 3, 9, 9, 40))
    d.sign(c.c3, at(2026, 3, 9, 10))
    on(
        at(2026, 3, 10, 10),
        services.case_extension_request,
        case=c.c3,
        actor=w.handler_a,
        due=at(2026, 3, 15, 18),
        reason="需采购材料",
    )
    on(at(2026, 3, 10, 11), services.case_extension_approve, case=c.c3, actor=w.operator_a)
    d.submit(c.c3, at(2026, 3, 14, 9))
    d.verify(c.c3, at(2026, 3, 14, 10))

    c.c4 = d.report(at(2026, 3, 10, 9))
    d.full(c.c4, at(2026, 3, 10, 10), at(2026, 3, 13, 9), at(2026, 3, 13, 10))

    c.c5 = d.report(at(2026, 3, 11, 9))
    on(
        at(2026, 3, 11, 9, 5),
        services.case_self_close,
        case=c.c5,
        actor=w.worker_a1,
        result="已劝离",
        attachments=[jpeg()],
    )

    c.c6 = d.report(at(2026, 3, 12, 9))
    on(at(2026, 3, 12, 9, 30), services.case_reject, case=c.c6, actor=w.operator_a, reason="不属实")

    c.c8 = d.report(at(2026, 3, 12, 9, 50))
    d.accept(c.c8, at(2026, 3, 12, 10))
    d.dispatch(c.c8, at(2026, 3, 12, 10, 10))
    c.c7 = d.report(at(2026, 3, 12, 10))
    on(at(2026, 3, 12, 10, 30), services.case_merge, case=c.c7, actor=w.operator_a, target=c.c8)
    on(at(2026, 3, 20, 9), services.case_supervise, case=c.c8, actor=w.leader_a, note="请尽快签收")

    c.c9 = d.report(at(2026, 3, 16, 9))
    d.accept(c.c9, at(2026, 3, 16, 9, 30))
    d.dispatch(c.c9, at(2026, 3, 16, 9, 40))
    d.sign(c.c9, at(2026, 3, 16, 10))
    on(
        at(2026, 3, 16, 10, 30),
        services.case_suspend_request,
        case=c.c9,
        actor=w.handler_a,
        reason="需专项资金",
        review_date=dt.date(2026, 4, 30),
    )
    on(at(2026, 3, 16, 11), services.case_suspend_approve, case=c.c9, actor=w.operator_a)

    c.c10 = d.report(at(2026, 3, 17, 9))
    d.full(c.c10, at(2026, 3, 17, 9, 30), at(2026, 3, 17, 15), at(2026, 3, 17, 16))
    on(at(2026, 4, 2, 10), services.case_reopen, case=c.c10, actor=w.operator_a, reason="反弹")

    c.c11 = d.report(at(2026, 3, 20, 9))
    d.full(c.c11, at(2026, 3, 20, 9, 30), at(2026, 4, 3, 9), at(2026, 4, 3, 10))

    c.c12 = d.report(
        at(2026, 3, 25, 9), actor=w.citizen, source="citizen", reporter_phone="13812345678"
    )

    c.c13 = d.report(at(2026, 3, 23, 9))
    d.accept(c.c13, at(2026, 3, 23, 9, 30))
    d.dispatch(c.c13, at(2026, 3, 23, 9, 40))
    on(at(2026, 3, 23, 10), services.case_return, case=c.c13, actor=w.handler_a, reason="非本单位")
    d.dispatch(c.c13, at(2026, 3, 23, 10, 30))
    on(at(2026, 3, 23, 10, 45), services.case_supervise, case=c.c13, actor=w.leader_a, note="督办")
    d.sign(c.c13, at(2026, 3, 23, 11))

    c.b1 = d.report(at(2026, 3, 5, 9), where=B1, category=cats.fire)

    c.f1 = d.report(at(2026, 2, 10, 9))
    d.full(c.f1, at(2026, 2, 10, 10), at(2026, 2, 11, 9), at(2026, 2, 11, 10))

    c.y1 = d.report(at(2025, 3, 5, 9))
    d.full(c.y1, at(2025, 3, 5, 10), at(2025, 3, 6, 9), at(2025, 3, 6, 10))
    for case in vars(c).values():
        case.refresh_from_db()
    return c


@pytest.fixture
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield NOW
