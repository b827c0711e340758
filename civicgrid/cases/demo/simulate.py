"""One case's life, simulated with the registry's to-states and the handlers' field changes.

Over 500 lines on purpose: ``_Generator`` walks one case through its whole life (report,
accept, dispatch, handle, verify, rate, reopen…) as one sequence of steps; cut into modules it
would scatter the order of the life across files.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import random
from collections import defaultdict, deque

import numpy as np
import shapely
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.people.models import Role, RoleAssignment

from ..models import (
    OPEN_STATES,
    TERMINAL_STATES,
    TRACKING_ALPHABET,
    TRACKING_LEN,
    Case,
    Category,
    SlaState,
    Source,
)
from ..registry import CASES, CITIZEN_SOURCES, STAFF_SOURCES
from .clock import MinuteClock
from .data import (
    CATEGORIES,
    DAYS_BACK,
    DESCRIPTIONS,
    HOURLY,
    RESULTS,
    SOURCE_VALUES,
    SOURCES,
    SWEEP_DELAY,
    WEIGHTS,
    N,
    V,
)

# --- simulation --------------------------------------------------------------------------------


def _track_code(rng: random.Random, used: set[str]) -> str:
    while True:
        code = "".join(rng.choice(TRACKING_ALPHABET) for _ in range(TRACKING_LEN))
        if code not in used:
            used.add(code)
            return code


class _Sim:
    """One case's life with the engine's field changes (see civicgrid.cases.handlers)."""

    OPEN = set(OPEN_STATES)

    def __init__(self, gen, c: dict):
        self.g = gen
        self.c = c
        self.actions: list[tuple] = []
        self.supervisions: list[tuple] = []
        self.extensions: list[tuple] = []
        self.suspensions: list[tuple] = []
        self.t = c["reported_at"]
        self.ended_at: dt.datetime | None = None  # first close/reject/merge
        # The newest cases are held in a given state so that a small demo still shows every
        # state (with a few thousand cases a case spends minutes in some states).
        self.halt: str | None = None
        self.halted = False

    def open_at(self, t: dt.datetime) -> bool:
        return self.c["reported_at"] <= t and (self.ended_at is None or self.ended_at > t)

    # clocks ----------------------------------------------------------------------------------
    def _clock(self, due, limit, t):
        c, unit = self.c, self.cat["unit"]
        if due is None:
            c.update(sla_due_at=None, sla_warn_at=None, sla_state=SlaState.NORMAL)
            return
        warn = self.g.clock.add(due, -0.2 * limit, unit)
        c.update(
            sla_due_at=due,
            sla_warn_at=warn,
            sla_state=SlaState.WARNING if t >= warn else SlaState.NORMAL,
        )

    def response_clock(self, t):
        due = self.g.clock.add(t, self.cat["resp"], self.cat["unit"])
        self.c["response_due"] = due
        self._clock(due, self.cat["resp"], t)

    def handling_clock(self, t):
        due = self.g.clock.add(t, self.cat["handle"], self.cat["unit"])
        self.c.update(handling_due=due, final_due=due)
        self._clock(due, self.cat["handle"], t)

    # the sweep -------------------------------------------------------------------------------
    def sweep_until(self, t):
        c = self.c
        due = c["sla_due_at"]
        if (
            due is not None
            and c["state"] in self.OPEN
            and c["sla_state"] != SlaState.OVERDUE
            and due + SWEEP_DELAY <= t
        ):
            when = due + SWEEP_DELAY
            note = _("Automatic supervision: the deadline %(due)s has passed.") % {
                "due": timezone.localtime(due).strftime("%Y-%m-%d %H:%M")
            }
            self.log(
                "supervise",
                when,
                None,
                "system",
                note,
                {"auto": True},
                supervision_count=c["supervision_count"] + 1,
                sla_state=SlaState.OVERDUE,
            )
            self.supervisions.append(
                (c["id"], "overdue", None, c["department_id"], note, when, None)
            )
        elif (
            due is not None
            and c["state"] in self.OPEN
            and c["sla_state"] == SlaState.NORMAL
            and c["sla_warn_at"] <= t
        ):
            c["sla_state"] = SlaState.WARNING

    # actions ---------------------------------------------------------------------------------
    def log(self, action, t, actor, role, note="", data=None, *, touch=True, **changes):
        c = self.c
        frm = "" if action == "report" else c["state"]
        # The registry's to-state (refused, ValueError, when the table does not allow it).
        to_state = CASES.target_of(action, frm)
        if touch:
            c.update(changes)
            c["state"] = to_state
            c["version"] += 1
            c["updated_at"] = t
            if to_state in TERMINAL_STATES and self.ended_at is None:
                self.ended_at = t
        self.actions.append(
            (
                c["id"],
                action,
                actor,
                role,
                frm,
                to_state,
                note,
                json.dumps(data or {}, ensure_ascii=False),
                t,
            )
        )
        if role in ("handler", "assignee"):
            for i, s in enumerate(self.supervisions):
                if s[6] is None:
                    self.supervisions[i] = s[:6] + (t,)
        self.t = t

    def step(self, t, action, actor, role, note="", data=None, **kw) -> bool:
        """Run ``action`` at ``t`` unless ``t`` is after now or the case is held in its
        snapshot state (then the case stays put)."""
        if t > self.g.now or self.halted:
            return False
        self.sweep_until(t)
        self.log(action, t, actor, role, note, data, **kw)
        if self.halt is not None and self.c["state"] == self.halt:
            self.halted = True
        return True


class _Generator:
    def __init__(self, ctx, n: int):
        self.ctx = ctx
        self.rng = ctx.rng_for("cases")
        self.now = ctx.now.replace(second=0, microsecond=0)
        self.start = self.now - dt.timedelta(days=DAYS_BACK)
        self.clock = MinuteClock(
            self.start - dt.timedelta(days=1), self.now + dt.timedelta(days=90)
        )
        self.cats = []
        for row in CATEGORIES:
            if len(row) == 2:
                continue
            code, name, level, key, prio, resp, handle, unit, selfc, photo = row
            cat = Category.objects.get(code=code)
            self.cats.append(
                dict(
                    obj=cat,
                    id=cat.pk,
                    code=code,
                    level=level,
                    key=key,
                    prio=prio,
                    resp=float(cat.response_limit),
                    handle=float(cat.handling_limit),
                    unit=cat.sla_unit,
                    selfc=cat.self_closable,
                )
            )
        self.cat_weights = list(itertools.accumulate(WEIGHTS[c["code"]] for c in self.cats))
        self.dept_cache: dict = {}
        self.grids = list(ctx.grids)
        self.grid_weights = list(itertools.accumulate(max(g.households, 30) for g in self.grids))
        self.source_weights = list(itertools.accumulate(w for _, w in SOURCES))
        self.operators = defaultdict(list)
        self.handlers = defaultdict(list)
        for ra in RoleAssignment.objects.filter(role__in=[Role.OPERATOR, Role.HANDLER]).values(
            "role", "user_id", "center_id", "department_id"
        ):
            if ra["role"] == Role.OPERATOR and ra["center_id"]:
                self.operators[ra["center_id"]].append(ra["user_id"])
            elif ra["role"] == Role.HANDLER and ra["department_id"]:
                self.handlers[ra["department_id"]].append(ra["user_id"])
        self.citizen = ctx.accounts.get("citizen")
        self.points: dict[int, list[tuple[float, float]]] = {}
        self.used_codes: set[str] = set(Case.objects.values_list("tracking_code", flat=True))
        self.ring: deque[_Sim] = deque(maxlen=400)  # the latest reports, for duplicates
        self.grid_by_pk = {g.pk: g for g in self.grids}
        self.areas = {a.pk: a for a in ctx.communities}

    def points_in(self, grid) -> list[tuple[float, float]]:
        pts = self.points.get(grid.pk)
        if pts is None:
            geom = grid.geometry
            rng = self.rng
            pts = []
            if geom is not None:
                x0, y0, x1, y1 = geom.bounds
                xs = np.array([rng.uniform(x0, x1) for _ in range(40)])
                ys = np.array([rng.uniform(y0, y1) for _ in range(40)])
                inside = shapely.contains_xy(geom, xs, ys)
                pts = [(float(y), float(x)) for x, y, ok in zip(xs, ys, inside, strict=True) if ok]
                if not pts:
                    p = geom.representative_point()
                    pts = [(p.y, p.x)]
            else:
                pts = [(40.1, 113.3)]
            self.points[grid.pk] = pts[:12]
        return self.points[grid.pk]

    def center_at(self, grid_code: str, level: int):
        return self.ctx.center_for(grid_code[: {2: 6, 3: 9, 4: 12}[level]])

    def parent_center(self, center):
        code = center.area.code
        for n in (9, 6, 4):
            prefix = code[:n]
            if prefix.ljust(12, "0") != code and len(code.rstrip("0")) > n:
                try:
                    return self.ctx.center_for(prefix)
                except KeyError:
                    continue
        return None

    def chunk_times(self, first: int, size: int, total: int) -> list[dt.datetime]:
        """Report times for cases ``first .. first+size`` in order: ids follow time, so the
        previous report of a matter is always an earlier id."""
        rng, window = self.rng, DAYS_BACK * 86400
        lo = self.start + dt.timedelta(seconds=window * first / total)
        span = window * size / total
        out = []
        while len(out) < size:
            t = lo + dt.timedelta(seconds=rng.random() * span)
            # Reports follow the working day (few at night).
            if rng.random() * 14 <= HOURLY[timezone.localtime(t).hour]:
                out.append(min(t.replace(second=0, microsecond=0), self.now))
        out.sort()
        return out

    # one case --------------------------------------------------------------------------------
    def make(self, case_id: int, t: dt.datetime, halt: str | None = None) -> _Sim:
        rng, ctx = self.rng, self.ctx
        dup = self.duplicate_of(t) if rng.random() < 0.04 and halt is None else None
        if dup is not None:  # a second report of a matter still open (并单 candidates)
            cat = dup.cat
            grid = self.grid_by_pk[dup.c["grid_id"]]
            lat, lng = dup.c["lat"], dup.c["lng"]
        else:
            cat = rng.choices(self.cats, cum_weights=self.cat_weights)[0]
            grid = rng.choices(self.grids, cum_weights=self.grid_weights)[0]
            lat, lng = rng.choice(self.points_in(grid))
        source = rng.choices(SOURCE_VALUES, cum_weights=self.source_weights)[0]
        worker = ctx.grid_workers.get(grid.code)
        if source in (Source.GRID_WORKER, Source.PATROL) and worker is None:
            source = Source.CITIZEN
        owner = self.center_at(grid.code, cat["level"])
        reporter_id, name, phone, role, actor = None, "", "", "citizen", None
        if source in (Source.GRID_WORKER, Source.PATROL):
            reporter_id, role, actor = worker.pk, "grid_worker", worker.pk
        elif source == Source.CITIZEN and self.citizen is not None and rng.random() < 0.2:
            reporter_id, actor = self.citizen.pk, self.citizen.pk
        elif source == Source.HOTLINE:
            ops = self.operators.get(owner.pk) or [None]
            role, actor = "operator", rng.choice(ops)
            name, phone = (
                rng.choice("王李张刘陈杨赵黄周吴") + rng.choice(["先生", "女士"]),
                f"13{rng.randrange(10**9):09d}",
            )
        elif source == Source.DEPARTMENT:
            dept = self.dept_for(cat, grid)
            hs = self.handlers.get(dept.pk) or [None]
            role, actor, reporter_id = "handler", hs[0], hs[0]
        else:
            role, phone = "anonymous", f"15{rng.randrange(10**9):09d}"
        flow = (
            "service" if cat["code"] in ("0602", "0701", "0604") and rng.random() < 0.5 else "case"
        )
        c = dict(
            id=case_id,
            tracking_code=_track_code(rng, self.used_codes),
            flow=flow,
            category_id=cat["id"],
            description=rng.choice(DESCRIPTIONS[cat["code"]]),
            lat=lat,
            lng=lng,
            address=f"{grid.name}附近",
            grid_id=grid.pk,
            micro_grid_id=None,
            area_id=grid.area_id,
            scope_code=grid.code,
            source=source,
            priority=cat["prio"],
            owner_id=owner.pk,
            owner_code=owner.area.code,
            department_id=None,
            worker_id=None,
            reporter_id=reporter_id,
            reporter_name=name,
            reporter_phone=phone,
            client_id=f"demo-{case_id:08d}" if source == Source.GRID_WORKER else None,
            state="",  # set by the report step below, from the registry
            version=1,
            response_due=None,
            handling_due=None,
            final_due=None,
            sla_due_at=None,
            sla_warn_at=None,
            sla_state=SlaState.NORMAL,
            rework_count=0,
            extension_count=0,
            supervision_count=0,
            return_count=0,
            dispatch_count=0,
            escalation_count=0,
            reopen_count=0,
            self_closed=False,
            reported_at=t,
            filed_at=None,
            dispatched_at=None,
            signed_at=None,
            handled_at=None,
            closed_at=None,
            suspended_at=None,
            suspended_review_date=None,
            updated_at=t,
            result="",
            satisfaction=None,
            rating_text="",
            rated_at=None,
            merged_into_id=None,
            co_department_ids=None,
            called_department_ids=None,
        )
        sim = _Sim(self, c)
        sim.cat = cat
        sim.dup = dup
        sim.halt = halt
        sim.halted = halt == "reported"
        sim.response_clock(t)
        sim.log(
            "report",
            t,
            actor,
            role,
            "",
            {"source": source, "category": cat["code"], "scope_code": grid.code},
            touch=False,
        )
        c["state"] = CASES.target_of("report", "")
        self.live(sim, cat, grid, owner, worker)
        sim.sweep_until(self.now)
        self.ring.append(sim)
        return sim

    def duplicate_of(self, t: dt.datetime) -> _Sim | None:
        for _try in range(5):
            if not self.ring:
                return None
            s = self.rng.choice(self.ring)
            if t - s.c["reported_at"] <= dt.timedelta(hours=72) and s.open_at(t):
                return s
        return None

    def dept_for(self, cat, grid):
        key = (cat["key"], grid.code)
        dept = self.dept_cache.get(key)
        if dept is None:
            try:
                dept = self.ctx.department(cat["key"], grid.code)
            except KeyError:
                dept = self.ctx.department("CG", grid.code)
            self.dept_cache[key] = dept
        return dept

    def op(self, c) -> int | None:
        ops = self.operators.get(c["owner_id"])
        return self.rng.choice(ops) if ops else None

    def after(self, sim, hours: float, unit: str | None = None) -> dt.datetime:
        """A moment ``hours`` after the last action (working hours for working-hour categories)."""
        # Whole minutes: the minute table then reproduces calendar.add_hours exactly.
        t = self.clock.add(sim.t, hours, unit or sim.cat["unit"])
        return t.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)

    def live(self, sim, cat, grid, owner, worker) -> None:
        rng, c = self.rng, sim.c
        lim_r = cat["resp"]
        # 自办自结: most self-closable matters found by the grid worker end on the spot.
        if (
            cat["selfc"]
            and c["source"] in (Source.GRID_WORKER, Source.PATROL)
            and rng.random() < 0.6
            and sim.halt is None
        ):
            t = c["reported_at"] + dt.timedelta(minutes=rng.randint(5, 90))
            sim.step(
                t,
                "self_close",
                worker.pk,
                "grid_worker",
                rng.choice(RESULTS),
                {"attachments": 1},
                result=rng.choice(RESULTS),
                closed_at=t,
                self_closed=True,
                sla_due_at=None,
                sla_warn_at=None,
                sla_state=SlaState.NORMAL,
            )
            return
        # intake: a few escalations, rejections and merges, then acceptance
        if rng.random() < 0.03:
            parent = self.parent_center(owner)
            t = self.after(sim, lim_r * rng.uniform(0.1, 0.6))
            if parent is not None and self.op(c) is not None:
                if not sim.step(
                    t,
                    "escalate",
                    self.op(c),
                    "operator",
                    "需上级统筹协调",
                    {"from_center": owner.area.code, "to_center": parent.area.code},
                    owner_id=parent.pk,
                    owner_code=parent.area.code,
                    escalation_count=c["escalation_count"] + 1,
                ):
                    return
                sim.response_clock(t)
        fate = rng.random()
        late = rng.random() >= 0.9
        t = self.after(sim, lim_r * (rng.uniform(1.0, 2.5) if late else rng.uniform(0.05, 0.9)))
        if fate < 0.03 or sim.halt == "rejected":
            sim.step(
                t,
                "reject",
                self.op(c),
                "operator",
                "不属于受理范围，已告知来电人",
                {},
                sla_due_at=None,
                sla_warn_at=None,
                sla_state=SlaState.NORMAL,
            )
            return
        dup = getattr(sim, "dup", None)
        if dup is not None and dup.open_at(t) and rng.random() < 0.6:
            # 并单: the earlier report of the same matter is still open at this moment.
            sim.step(
                t,
                "merge",
                self.op(c),
                "operator",
                "",
                {"target": dup.c["tracking_code"]},
                merged_into_id=dup.c["id"],
                sla_due_at=None,
                sla_warn_at=None,
                sla_state=SlaState.NORMAL,
            )
            return
        if not sim.step(
            t,
            "accept",
            self.op(c),
            "operator",
            "",
            {"category": cat["code"], "priority": c["priority"]},
            filed_at=c["filed_at"] or t,
        ):
            return
        sim.handling_clock(t)
        dept = self.dept_for(cat, grid)
        if not self.handle(sim, dept, worker):
            return
        # 回访: some cases are rated, a few reopened
        if rng.random() < 0.45 and c["state"] == "closed":
            t = self.after(sim, rng.uniform(2, 72), N)
            score = rng.choices([5, 4, 3, 2, 1], weights=[60, 25, 9, 4, 2])[0]
            if c["source"] in CITIZEN_SOURCES:
                # Only the reporter rates: signed in, or by the tracking code of a phoned report.
                sim.step(
                    t,
                    "rate",
                    c["reporter_id"],
                    "reporter",
                    "",
                    {"score": score},
                    satisfaction=score,
                    rating_text="",
                    rated_at=t,
                )
            elif c["source"] not in STAFF_SOURCES:
                # A hotline caller's 回访, recorded by the operator and kept apart from ratings.
                caller = c["reporter_name"] or c["reporter_phone"]
                data = {"caller": caller, "score": score, "callback": True}
                sim.step(
                    t,
                    "callback",
                    self.op(c),
                    "operator",
                    "",
                    data,
                    touch=CASES.actions["callback"].touches,
                )
            if score <= 2 and rng.random() < 0.3:
                t2 = self.after(sim, rng.uniform(2, 48), N)
                if sim.step(
                    t2,
                    "reopen",
                    self.op(c),
                    "operator",
                    "回访不满意，重新办理",
                    {},
                    reopen_count=c["reopen_count"] + 1,
                    closed_at=None,
                    self_closed=False,
                    department_id=None,
                    worker_id=None,
                ):
                    sim.handling_clock(t2)
                    self.handle(sim, dept, worker)

    def handle(self, sim, dept, worker) -> bool:
        """dispatch → sign → submit → verify, with returns, extensions, reworks, suspensions."""
        rng, c = self.rng, sim.c
        lim = sim.cat["handle"]
        to_worker = worker is not None and sim.cat["level"] == V and rng.random() < 0.3
        target = (
            {"worker_id": worker.pk, "department_id": None}
            if to_worker
            else {"department_id": dept.pk, "worker_id": None}
        )
        doer, drole = (
            (worker.pk, "assignee")
            if to_worker
            else ((self.handlers.get(dept.pk) or [None])[0], "handler")
        )
        data = {"worker": worker.pk} if to_worker else {"department": dept.code}
        t = self.after(sim, rng.uniform(0.02, 0.1) * lim)
        if not sim.step(
            t,
            "dispatch",
            self.op(c),
            "operator",
            "",
            data,
            dispatched_at=t,
            dispatch_count=c["dispatch_count"] + 1,
            **target,
        ):
            return False
        if not to_worker and rng.random() < 0.05:  # 退单 and 改派 to the street team
            t = self.after(sim, rng.uniform(0.02, 0.1) * lim)
            if not sim.step(
                t,
                "return",
                doer,
                drole,
                "非本单位职责范围",
                {"department": dept.code, "worker": None},
                department_id=None,
                worker_id=None,
                return_count=c["return_count"] + 1,
            ):
                return False
            try:
                dept = self.ctx.department("ZF", c["scope_code"])
            except KeyError:
                pass
            doer = (self.handlers.get(dept.pk) or [None])[0]
            t = self.after(sim, rng.uniform(0.02, 0.1) * lim)
            if not sim.step(
                t,
                "dispatch",
                self.op(c),
                "operator",
                "",
                {"department": dept.code},
                dispatched_at=t,
                dispatch_count=c["dispatch_count"] + 1,
                department_id=dept.pk,
                worker_id=None,
            ):
                return False
        t = self.after(sim, rng.uniform(0.02, 0.15) * lim)
        if not sim.step(t, "sign", doer, drole, "", {}, signed_at=t):
            return False
        if rng.random() < 0.04:  # 延期
            due = sim.g.clock.add(c["final_due"], rng.choice([7, 14, 21]), sim.cat["unit"])
            t = self.after(sim, rng.uniform(0.2, 0.6) * lim)
            if not sim.step(
                t, "extend_request", doer, drole, "需协调多部门，申请延期", {"due": due.isoformat()}
            ):
                return False
            req = [
                c["id"],
                doer,
                c["final_due"],
                due,
                "需协调多部门，申请延期",
                "pending",
                None,
                None,
                "",
                t,
            ]
            sim.extensions.append(req)
            t = self.after(sim, rng.uniform(0.01, 0.1) * lim)
            if not sim.step(
                t,
                "extend_approve",
                self.op(c),
                "operator",
                "",
                {"due": due.isoformat(), "previous_due": c["final_due"].isoformat()},
                extension_count=c["extension_count"] + 1,
                final_due=due,
            ):
                return False
            req[5:8] = ["approved", self.op(c), t]
            sim._clock(due, lim, t)
        if rng.random() < 0.012 or sim.halt == "suspended":  # 挂账
            t = self.after(sim, rng.uniform(0.2, 0.5) * lim)
            review = (timezone.localtime(t) + dt.timedelta(days=rng.choice([30, 60, 90]))).date()
            if not sim.step(
                t,
                "suspend_request",
                doer,
                drole,
                "需专项资金解决",
                {"review_date": review.isoformat()},
            ):
                return False
            req = [c["id"], doer, "需专项资金解决", review, "pending", None, None, "", t]
            sim.suspensions.append(req)
            t = self.after(sim, rng.uniform(0.01, 0.1) * lim)
            if not sim.step(
                t,
                "suspend_approve",
                self.op(c),
                "operator",
                "",
                {"review_date": review.isoformat()},
                suspended_at=t,
                suspended_review_date=review,
                sla_due_at=None,
                sla_warn_at=None,
                sla_state=SlaState.NORMAL,
            ):
                return False
            req[4:7] = ["approved", self.op(c), t]
            return False
        for attempt in range(3):
            share = rng.uniform(0.2, 0.85) if rng.random() < 0.85 else rng.uniform(1.0, 2.0)
            t = self.after(sim, share * lim)
            result = rng.choice(RESULTS)
            if not sim.step(
                t,
                "submit",
                doer,
                drole,
                result,
                {"attachments": 1},
                result=result,
                handled_at=t,
            ):
                return False
            t = self.after(sim, rng.uniform(0.02, 0.1) * lim)
            verifier = (self.op(c), "operator")
            if worker is not None and not to_worker and rng.random() < 0.3:
                verifier = (worker.pk, "grid_worker")
            if attempt < 2 and rng.random() < 0.08:
                if not sim.step(
                    t,
                    "rework",
                    verifier[0],
                    verifier[1],
                    "处理不彻底，请返工",
                    {"rework": c["rework_count"] + 1},
                    rework_count=c["rework_count"] + 1,
                ):
                    return False
                continue
            return sim.step(
                t,
                "verify",
                verifier[0],
                verifier[1],
                "经核查已处理到位",
                {},
                closed_at=t,
                sla_due_at=None,
                sla_warn_at=None,
                sla_state=SlaState.NORMAL,
            )
        return False
