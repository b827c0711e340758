"""Demo: a few co-handled cases (主办/协办) and whistles (吹哨报到), run through the engine.

Unlike the bulk-simulated cases, these few are real engine actions by the demo's own staff
(the centers' operators, the departments' handlers, the grid chiefs), so every row, version
and log entry is what the console and the API produce.
"""

from __future__ import annotations

from django.utils import timezone

from civicgrid.core.errors import DomainError
from civicgrid.people.access import Principal, handlers_over, operators_of_center
from civicgrid.people.models import Department, Role, RoleAssignment

from ..cohandling import part_act
from ..engine import CASES, case_act
from ..models import Case, CasePart, State, WhistleCall
from ..whistles import call_act

CO_HANDLED = 6
WHISTLES = 6


def _serving(case: Case, departments: list[Department]) -> list[Department]:
    return [d for d in departments if case.scope_code.startswith(d.area.prefix)]


def _operator(case: Case):
    for user in operators_of_center(case.owner_id):
        if "dispatch" in CASES.allowed(user, case):
            return user
    return None


def _handler(dept: Department, case: Case):
    users = handlers_over(dept.pk, case.scope_code)
    return users[0] if users else None


def seed_cohandling(ctx) -> None:
    rng = ctx.rng_for("cases-cohandling")
    depts = [
        d
        for d in Department.objects.filter(is_active=True).select_related("area").order_by("code")
        if handlers_over(d.pk, d.area.code)
    ]
    if len(depts) < 2:
        return
    made = whistled = 0
    filed = list(
        Case.objects.filter(state=State.FILED, flow="case")
        .select_related("category", "owner")
        .order_by("-reported_at")[:300]
    )
    rng.shuffle(filed)
    for case in filed:
        if made >= CO_HANDLED:
            break
        serving = [d for d in _serving(case, depts) if _handler(d, case)]
        op = _operator(case)
        if len(serving) < 2 or op is None:
            continue
        lead, co = serving[0], serving[1 : 1 + rng.choice([1, 2])]
        try:
            case_act(
                case=case,
                action="dispatch",
                actor=op,
                department=lead,
                co_departments=[d.code for d in co],
                note="多部门协同处置（主办/协办）",
            )
            stage = made % 3  # 0: just dispatched; 1: parts under way; 2: parts submitted
            for part in CasePart.objects.filter(case=case).select_related("department"):
                part.case = case
                h = _handler(part.department, case)
                if stage >= 1:
                    part_act(part=part, action="sign", actor=h, note="已签收，安排人员")
                if stage == 2:
                    part_act(part=part, action="submit", actor=h, result="本部门职责部分已办结")
            if stage == 2:
                lead_h = _handler(lead, case)
                case_act(case=case, action="sign", actor=lead_h)
        except DomainError as exc:
            ctx.log(f"  co-handling demo skipped {case.tracking_code}: {exc.message}")
            continue
        made += 1
    open_cases = list(
        Case.objects.filter(state__in=[State.ASSIGNED, State.IN_PROGRESS], flow="case")
        .select_related("category", "owner")
        .order_by("-reported_at")[:400]
    )
    rng.shuffle(open_cases)
    chiefs = list(
        RoleAssignment.objects.filter(role=Role.GRID_CHIEF).select_related("user", "area")
    )
    for case in open_cases:
        if whistled >= WHISTLES:
            break
        blower = next(
            (u for u in operators_of_center(case.owner_id) if Principal.of(u).blows_whistle(case)),
            None,
        )
        if blower is None:
            blower = next(
                (c.user for c in chiefs if case.scope_code.startswith(c.area.prefix)), None
            )
        serving = [
            d for d in _serving(case, depts) if d.pk != case.department_id and _handler(d, case)
        ]
        if blower is None or not serving:
            continue
        named = serving[: rng.choice([1, 2, 3])]
        try:
            case_act(
                case=case,
                action="whistle",
                actor=blower,
                departments=[d.code for d in named],
                reason=rng.choice(
                    [
                        "占道经营反复回潮，需城管、市场监管到场联合处置",
                        "居民楼外墙脱落隐患，需住建、应急部门到场研判",
                        "河道排污口异味投诉不断，需生态环境、水务部门到场",
                    ]
                ),
            )
            calls = list(WhistleCall.objects.filter(case=case).select_related("department"))
            for i, call in enumerate(calls):
                call.case = case
                if (whistled + i) % 3 == 0:
                    h = _handler(call.department, case)
                    call_act(call=call, action="report_in", actor=h, note="已派员到场")
        except DomainError as exc:
            ctx.log(f"  whistle demo skipped {case.tracking_code}: {exc.message}")
            continue
        whistled += 1
    ctx.log(f"  {made} co-handled cases, {whistled} whistles (at {timezone.now():%H:%M})")
