"""Demo step of the mediation app: bodies and mediators at every center, disputes in every state
at every level (with sessions, agreements, visits), 研判会商 meetings, a few converted cases.

Histories go through the engine: ``DISPUTES.bulk_commit`` checks every step of every dispute
against the action table; the rows the handlers would have written (sessions, agreements,
visits, parties) are filled in here. Three 矛盾纠纷 cases are converted with the real service
and one of them is mediated to an agreement with the real actions, which closes its case.
Deterministic: ``ctx.rng`` is seeded per step.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from civicgrid.cases.calendar import add_hours
from civicgrid.core.conf import options
from civicgrid.core.demo import names as nm
from civicgrid.people.models import Role, RoleAssignment, User
from civicgrid.territory.models import Area

from .models import (
    Agreement,
    BodyKind,
    Dispute,
    DisputeKind,
    DisputeSource,
    DisputeState,
    FollowUp,
    LegalRoute,
    MediationBody,
    Mediator,
    MediatorKind,
    Meeting,
    MeetingTask,
    Party,
    PartyRole,
    Session,
    new_number,
)
from .workflow import DISPUTES

S = DisputeState
LEVELS = (Area.Level.CITY, Area.Level.COUNTY, Area.Level.TOWNSHIP, Area.Level.VILLAGE)
TITLES = {
    DisputeKind.NEIGHBOUR: (
        "楼上漏水引发邻里纠纷",
        "宅基地界址争议",
        "噪音扰民纠纷",
        "共用通道堆物纠纷",
    ),
    DisputeKind.FAMILY: ("赡养老人费用分担纠纷", "离婚财产分割纠纷", "遗产继承纠纷"),
    DisputeKind.LABOUR: ("工地拖欠农民工工资", "工伤赔偿纠纷", "解除劳动合同补偿纠纷"),
    DisputeKind.PROPERTY: ("物业费收缴纠纷", "小区停车位纠纷", "电梯维修费用分摊纠纷"),
    DisputeKind.LAND: ("土地承包经营权纠纷", "林地权属争议"),
    DisputeKind.MEDICAL: ("医疗损害赔偿纠纷",),
    DisputeKind.TRAFFIC: ("交通事故赔偿纠纷",),
    DisputeKind.CONSUMER: ("装修合同纠纷", "预付卡退费纠纷"),
    DisputeKind.CAMPUS: ("学生在校受伤赔偿纠纷",),
    DisputeKind.OTHER: ("合伙经营分红纠纷",),
}
KIND_WEIGHTS = {
    DisputeKind.NEIGHBOUR: 30,
    DisputeKind.FAMILY: 18,
    DisputeKind.LABOUR: 12,
    DisputeKind.PROPERTY: 12,
    DisputeKind.LAND: 8,
    DisputeKind.MEDICAL: 4,
    DisputeKind.TRAFFIC: 5,
    DisputeKind.CONSUMER: 6,
    DisputeKind.CAMPUS: 2,
    DisputeKind.OTHER: 3,
}
PROFESSIONAL = (
    ("医疗纠纷人民调解委员会", DisputeKind.MEDICAL),
    ("交通事故纠纷人民调解委员会", DisputeKind.TRAFFIC),
    ("劳动争议人民调解委员会", DisputeKind.LABOUR),
    ("物业纠纷人民调解委员会", DisputeKind.PROPERTY),
)
# Final states and the share of the generated disputes ending in each.
STATE_WEIGHTS = {
    S.REGISTERED: 6,
    S.TRIAGED: 6,
    S.MEDIATING: 12,
    S.AGREED: 12,
    S.FULFILLED: 10,
    S.REFERRED: 8,
    S.WITHDRAWN: 5,
    S.ARCHIVED: 41,
}
PLACES = ("调解室", "村委会会议室", "矛调中心接待室", "当事人家中")


def _bodies(ctx) -> dict[int, list[MediationBody]]:
    rows: list[MediationBody] = []
    for i, (_code, center) in enumerate(sorted(ctx.centers.items())):
        area = center.area
        rows.append(
            MediationBody(
                center=center,
                name=f"{area.name}人民调解委员会",
                kind=BodyKind.PEOPLES,
                phone=f"0352-{5_600_000 + i}",
            )
        )
        if area.level == Area.Level.COUNTY:
            name, spec = PROFESSIONAL[i % len(PROFESSIONAL)]
            rows += [
                MediationBody(
                    center=center,
                    name=f"{area.name}{name}",
                    kind=BodyKind.PROFESSIONAL,
                    speciality=spec,
                ),
                MediationBody(
                    center=center, name=f"{area.name}访调对接工作室", kind=BodyKind.PETITION_ROOM
                ),
                MediationBody(
                    center=center,
                    name=f"{area.name}人民法院诉调对接工作室",
                    kind=BodyKind.COURT_ROOM,
                ),
            ]
        elif area.level == Area.Level.CITY:
            rows += [
                MediationBody(
                    center=center, name=f"{area.name}检调对接工作室", kind=BodyKind.PROSECUTION_ROOM
                ),
                MediationBody(
                    center=center,
                    name=f"{area.name}公安局公调对接工作室",
                    kind=BodyKind.POLICE_ROOM,
                ),
            ]
        elif area.level == Area.Level.TOWNSHIP and i % 3 == 0:
            rows.append(
                MediationBody(
                    center=center, name=f"{area.name}派出所公调对接室", kind=BodyKind.POLICE_ROOM
                )
            )
    MediationBody.objects.bulk_create(rows, batch_size=500)
    out: dict[int, list[MediationBody]] = {}
    for b in rows:
        out.setdefault(b.center_id, []).append(b)
    return out


MEDIATOR_KINDS = {
    BodyKind.PEOPLES: (MediatorKind.FULL_TIME, MediatorKind.ELDER, MediatorKind.VOLUNTEER),
    BodyKind.PROFESSIONAL: (MediatorKind.FULL_TIME, MediatorKind.LAWYER),
    BodyKind.PETITION_ROOM: (MediatorKind.FULL_TIME, MediatorKind.LAWYER),
    BodyKind.COURT_ROOM: (MediatorKind.JUDGE, MediatorKind.FULL_TIME),
    BodyKind.PROSECUTION_ROOM: (MediatorKind.FULL_TIME,),
    BodyKind.POLICE_ROOM: (MediatorKind.POLICE, MediatorKind.FULL_TIME),
}
ELDER_PROFILES = ("退休老干部", "老党员", "老教师", "老模范", "老政法干警")


def _mediators(ctx, bodies) -> dict[int, list[Mediator]]:
    rng = ctx.rng
    rows: list[Mediator] = []
    kinds = list(KIND_WEIGHTS)
    for blist in bodies.values():
        for b in blist:
            for k in MEDIATOR_KINDS[b.kind]:
                spec = [b.speciality] if b.speciality else rng.sample(kinds, 2)
                rows.append(
                    Mediator(
                        body=b,
                        name=nm.person_name(rng),
                        kind=k,
                        specialties=spec,
                        available=rng.random() > 0.15,
                        availability=rng.choice(("工作日 9:00–17:30", "周二、周四全天", "预约")),
                        profile=rng.choice(ELDER_PROFILES) if k == MediatorKind.ELDER else "",
                    )
                )
    # A named demo account conducting disputes of the district's committee (docs/mediation.md).
    district = ctx.centers.get(ctx.districts[0].code) if ctx.districts else None
    user = None
    if district is not None:
        from civicgrid.core.demo.people import ACCOUNTS

        # Not one of the people step's named accounts: it shares the generated users' hash.
        shared = (
            User.objects.exclude(username__in=[a.username for a in ACCOUNTS])
            .values_list("password", flat=True)
            .first()
        )
        if shared is None:
            from django.contrib.auth.hashers import make_password

            shared = make_password(ctx.password)
        user = User.objects.create(
            username="mediator", full_name="王调解员", password=shared, phone="13600000001"
        )
        ctx.accounts["mediator"] = user
        first = bodies[district.pk][0]
        rows.append(
            Mediator(
                body=first,
                user=user,
                name="王调解员",
                kind=MediatorKind.FULL_TIME,
                specialties=["neighbour", "family"],
                availability="工作日 9:00–17:30",
            )
        )
    Mediator.objects.bulk_create(rows, batch_size=500)
    out: dict[int, list[Mediator]] = {}
    for m in rows:
        out.setdefault(m.body_id, []).append(m)
    return out


def _operators(ctx) -> dict[int, User]:
    out: dict[int, User] = {}
    for ra in RoleAssignment.objects.filter(role=Role.OPERATOR).select_related(
        "user", "area__center"
    ):
        center_id = ra.center_id or getattr(getattr(ra.area, "center", None), "pk", None)
        if center_id:
            out.setdefault(center_id, ra.user)
    return out


class _Plan:
    """One dispute's history planned step by step (times, fields, log rows)."""

    def __init__(self, d: Dispute, t: dt.datetime, actor) -> None:
        self.d, self.t, self.steps = d, t, []
        self.sessions: list[Session] = []
        self.agreement: Agreement | None = None
        self.visits: list[FollowUp] = []
        self.actor = actor

    def step(self, action: str, hours: float, role: str = "center", note: str = "", **data):
        self.t = self.t + dt.timedelta(hours=hours)
        self.steps.append(
            {
                "action": action,
                "actor": self.actor,
                "role": role,
                "note": note,
                "data": data,
                "created_at": self.t,
            }
        )


def seed(ctx) -> None:
    rng = ctx.rng
    now = ctx.now
    bodies = _bodies(ctx)
    mediators = _mediators(ctx, bodies)
    operators = _operators(ctx)
    centers = sorted(ctx.centers.values(), key=lambda c: c.area.code)
    by_level: dict[int, list] = {}
    for c in centers:
        by_level.setdefault(c.area.level, []).append(c)
    grids_under: dict[str, list] = {}
    for g in ctx.grids:
        for n in (4, 6, 9, 12):
            grids_under.setdefault(g.code[:n], []).append(g)
    from civicgrid.basedata.models import Person

    persons: dict[int, list] = {}
    for pk, name, grid_id, idm, phm in Person.objects.values_list(
        "pk", "name", "grid_id", "id_number_mask", "phone_mask"
    ).order_by("pk")[:20000]:
        persons.setdefault(grid_id, []).append((pk, name, idm, phm))

    n_total = max(48, min(3000, ctx.cases // 20 or 48))
    wanted: list[tuple[int, str]] = [(lv, st) for lv in LEVELS for st in S.values]
    states, weights = list(STATE_WEIGHTS), list(STATE_WEIGHTS.values())
    while len(wanted) < n_total:
        lv = rng.choices(LEVELS, (3, 17, 35, 45))[0]
        wanted.append((lv, rng.choices(states, weights)[0]))
    plans: list[_Plan] = []
    kinds, kweights = list(KIND_WEIGHTS), list(KIND_WEIGHTS.values())
    triage_h, limit_h = options().MEDIATION_TRIAGE_HOURS, options().MEDIATION_LIMIT_HOURS
    for i, (level, final) in enumerate(wanted):
        # A city-level dispute started at a district and was escalated (矛盾不上交 failed once).
        start_level = Area.Level.COUNTY if level == Area.Level.CITY else level
        pool = by_level.get(start_level) or by_level[Area.Level.COUNTY]
        center = pool[rng.randrange(len(pool))]
        holder = ctx.centers[ctx.city.code] if level == Area.Level.CITY else center
        grids = grids_under.get(center.area.prefix) or ctx.grids
        grid = grids[rng.randrange(len(grids))]
        kind = rng.choices(kinds, kweights)[0]
        title = rng.choice(TITLES[kind])
        source = rng.choices(
            [
                DisputeSource.SCREENING,
                DisputeSource.VISIT,
                DisputeSource.LETTER,
                DisputeSource.ONLINE,
            ],
            (45, 35, 10, 10),
        )[0]
        age_days = (
            rng.uniform(0.2, 400) if final in (S.ARCHIVED, S.FULFILLED) else rng.uniform(0.2, 60)
        )
        t0 = now - dt.timedelta(days=age_days)
        worker = ctx.grid_workers.get(grid.code)
        actor = worker if source == DisputeSource.SCREENING and worker else operators.get(center.pk)
        flagged = rng.random() < 0.05
        d = Dispute(
            number=f"TJ{timezone.localtime(t0):%Y%m%d}{i:06d}",
            source=source,
            kind=kind,
            title=title,
            facts=f"{grid.name}居民反映：{title}，双方多次协商未果，请求调解。",
            amount=Decimal(rng.choice((0, 500, 2000, 8000, 30000, 120000))) or None,
            risk=3 if flagged else rng.choices((1, 2, 3), (70, 25, 5))[0],
            violence_flag=flagged,
            violence_flagged_at=t0 if flagged else None,
            grid=grid,
            scope_code=grid.code,
            address=f"{grid.name}",
            lat=None,
            lng=None,
            center=center,
            owner_code=center.area.code,
            level=center.area.level,
            first_level=center.area.level,
            visitor_count=rng.choice((1, 1, 1, 2, 3)),
            repeat_visit=source != DisputeSource.SCREENING and rng.random() < 0.08,
            registered_by=actor,
            registered_at=t0,
            updated_at=t0,
            due_at=add_hours(t0, triage_h, "working"),
        )
        p = _Plan(d, t0, actor)
        p.steps.append(
            {
                "action": "register",
                "actor": actor,
                "role": "grid_worker" if actor is worker and worker else "center",
                "note": title,
                "data": {"source": source},
                "created_at": t0,
            }
        )
        if flagged:
            p.step("flag_violence", 0.5, note="当事人情绪激动，扬言报复")
            d.violence_flagged_at = p.t
        if holder is not center:
            p.step(
                "escalate",
                20,
                note="区级调解未果，上交市级矛调中心",
                from_center=center.area.code,
                to_center=holder.area.code,
            )
            d.center, d.owner_code, d.level, d.escalation_count = (
                holder,
                holder.area.code,
                holder.area.level,
                1,
            )
            d.due_at = add_hours(p.t, triage_h, "working")
        if final == S.REGISTERED:
            pass
        elif final == S.WITHDRAWN or (final == S.ARCHIVED and rng.random() < 0.1):
            p.step("withdraw", rng.uniform(2, 30), note="当事人自行和解，申请撤回")
            d.concluded_at, d.concluded_level, d.due_at = p.t, d.level, None
            if final == S.ARCHIVED:
                p.step("archive", rng.uniform(24, 200))
                d.archived_at = p.t
        else:
            blist = bodies[d.center_id]
            body = blist[rng.randrange(len(blist))]
            mlist = mediators.get(body.pk) or []
            med = mlist[rng.randrange(len(mlist))] if mlist else None
            p.step("triage", rng.uniform(1, 6), note="按纠纷类型分流至" + body.name, body=body.pk)
            d.body, d.triage_reason = body, f"{DisputeKind(kind).label}，属{body.name}受理范围"
            d.due_at = add_hours(p.t, limit_h, "working")
            if med is not None:
                p.step("choose_mediator", 1, mediator=med.pk, by_party=rng.random() < 0.2)
                d.mediator, d.mediator_user = med, med.user
            if final != S.TRIAGED and med is not None:
                p.step("start", rng.uniform(2, 24))
                for _k in range(rng.randint(1, 3)):
                    p.step(
                        "session",
                        rng.uniform(24, 96),
                        role="mediator" if med.user else "center",
                        note="双方陈述事实，调解员释法明理",
                    )
                    p.sessions.append(
                        Session(
                            dispute=d,
                            held_at=p.t,
                            place=rng.choice(PLACES),
                            participants="申请人、被申请人、调解员" + med.name,
                            summary="双方陈述事实，调解员释法明理，提出调解方案。",
                            agreed=False,
                            recorded_by=actor,
                        )
                    )
                if final == S.MEDIATING:
                    pass
                elif final == S.REFERRED or (final == S.ARCHIVED and rng.random() < 0.2):
                    route = rng.choice(LegalRoute.values)
                    p.step("fail", rng.uniform(2, 48), note=str(LegalRoute(route).label))
                    d.legal_route, d.referral_note = (
                        route,
                        "调解不成，告知当事人依法" + str(LegalRoute(route).label),
                    )
                    d.concluded_at, d.concluded_level, d.due_at = p.t, d.level, None
                    if final == S.ARCHIVED:
                        p.step("archive", rng.uniform(24, 200))
                        d.archived_at = p.t
                else:
                    _agree(p, rng, d, final)
            elif final not in (S.TRIAGED,):
                # No mediator on the body's roster: the plan stops at triage.
                pass
        if (
            d.due_at is not None
            and d.due_at < now
            and (
                p.steps[-1]["action"]
                not in ("agree", "fulfil", "visit", "archive", "fail", "withdraw")
            )
        ):
            p.step("supervise", 0, role="system", note="自动督办：办理时限已过")
            p.steps[-1]["created_at"] = max(d.due_at, p.steps[-2]["created_at"])
            p.steps[-1]["actor"] = None
            p.t = p.steps[-1]["created_at"]
            d.overdue, d.supervision_count = True, 1
        if p.t > now:  # a history never runs into the future
            shift = p.t - now + dt.timedelta(minutes=5)
            for s in p.steps:
                s["created_at"] -= shift
            for obj in p.sessions:
                obj.held_at -= shift
            d.registered_at -= shift
            for f in ("violence_flagged_at", "concluded_at", "archived_at"):
                if getattr(d, f):
                    setattr(d, f, getattr(d, f) - shift)
            if p.agreement is not None:
                p.agreement.signed_at -= shift
                if p.agreement.fulfilled_at:
                    p.agreement.fulfilled_at -= shift
            for v in p.visits:
                if v.done_at:
                    v.done_at -= shift
        d.updated_at = p.steps[-1]["created_at"]
        plans.append(p)
    n_log = DISPUTES.bulk_commit([(p.d, p.steps) for p in plans])
    _children(plans, persons, rng)
    n_meet = _meetings(ctx, rng, centers, plans, operators)
    converted = _convert_cases(ctx, operators)
    ctx.log(
        f"  {len(plans)} disputes ({n_log} log rows), "
        f"{sum(len(v) for v in bodies.values())} mediation bodies, "
        f"{sum(len(v) for v in mediators.values())} mediators, {n_meet} meetings, "
        f"{converted} converted cases"
    )


def _agree(p: _Plan, rng, d: Dispute, final: str) -> None:
    p.step("agree", rng.uniform(2, 48), note="双方达成调解协议")
    if p.sessions:
        p.sessions[-1].agreed = True
    amount = d.amount
    fulfil_by = timezone.localdate(p.t) + dt.timedelta(days=rng.choice((3, 7, 15, 30)))
    p.agreement = Agreement(
        dispute=d,
        number=f"XY{d.number[2:]}",
        terms="一、被申请人于约定日期前一次性支付申请人"
        f"{amount or 0}元；二、双方互不追究，今后和睦相处。",
        amount=amount,
        signed_at=p.t,
        fulfil_by=fulfil_by,
    )
    d.concluded_at, d.concluded_level, d.due_at = p.t, d.level, None
    day0 = timezone.localdate(p.t)
    p.visits = [
        FollowUp(dispute=d, due_date=day0 + dt.timedelta(days=n))
        for n in options().MEDIATION_FOLLOWUP_DAYS
    ]
    if final == S.AGREED:
        return
    p.step("fulfil", rng.uniform(24, 24 * 10), note="已按协议履行")
    p.agreement.fulfilled_at = p.t
    p.agreement.fulfilment_note = "已按协议当面支付"
    visited = p.visits[: rng.choice((1, len(p.visits)))] if final == S.ARCHIVED else p.visits[:1]
    for v in visited:
        when = max(timezone.make_aware(dt.datetime.combine(v.due_date, dt.time(10))), p.t)
        satisfied = rng.random() < 0.9
        p.step(
            "visit",
            max((when - p.t).total_seconds() / 3600, 0.5),
            role="center",
            note="当事人表示满意" if satisfied else "当事人对履行进度有意见",
            fulfilled=True,
            satisfied=satisfied,
            relapse=False,
        )
        v.done_at, v.fulfilled, v.satisfied, v.note = p.t, True, satisfied, p.steps[-1]["note"]
        v.visitor = p.actor
    if final == S.ARCHIVED:
        p.step("archive", rng.uniform(2, 72))
        d.archived_at = p.t


def _children(plans: list[_Plan], persons, rng) -> None:
    parties, sessions, agreements, visits = [], [], [], []
    for p in plans:
        d = p.d
        pool = persons.get(d.grid_id) or []
        for role in (PartyRole.APPLICANT, PartyRole.RESPONDENT):
            if pool and rng.random() < 0.7:
                pk, name, idm, phm = pool[rng.randrange(len(pool))]
                parties.append(
                    Party(
                        dispute=d,
                        role=role,
                        person_id=pk,
                        name=name,
                        id_number_mask=idm,
                        phone_mask=phm,
                    )
                )
            else:
                parties.append(Party(dispute=d, role=role, name=nm.person_name(rng)))
        for s in p.sessions:
            s.dispute = d
        sessions += p.sessions
        if p.agreement is not None:
            p.agreement.dispute = d
            agreements.append(p.agreement)
        for v in p.visits:
            v.dispute = d
        visits += p.visits
    Party.objects.bulk_create(parties, batch_size=1000)
    made = Session.objects.bulk_create(sessions, batch_size=1000)
    through = Session.mediators.through
    through.objects.bulk_create(
        [
            through(session_id=s.pk, mediator_id=s.dispute.mediator_id)
            for s in made
            if s.dispute.mediator_id
        ],
        batch_size=1000,
    )
    Agreement.objects.bulk_create(agreements, batch_size=1000)
    FollowUp.objects.bulk_create(visits, batch_size=1000)


def _meetings(ctx, rng, centers, plans, operators) -> int:
    by_center: dict[int, list[Dispute]] = {}
    for p in plans:
        by_center.setdefault(p.d.center_id, []).append(p.d)
    meetings, tasks, links = [], [], []
    for c in centers:
        if c.area.level not in (Area.Level.CITY, Area.Level.COUNTY, Area.Level.TOWNSHIP):
            continue
        ds = by_center.get(c.pk) or []
        for k in range(3 if c.area.level != Area.Level.TOWNSHIP else 1):
            held = timezone.localtime(ctx.now - dt.timedelta(days=30 * k + rng.randint(1, 10)))
            held = held.replace(hour=15, minute=0, second=0, microsecond=0)
            m = Meeting(
                center=c,
                owner_code=c.area.code,
                held_at=held,
                place=f"{c.name}会商室",
                host=nm.person_name(rng),
                attendees="、".join(
                    ("综治中心主任", "司法所所长", "派出所所长", "信访办主任", "人民调解员")
                ),
                topic=f"{held.year}年{held.month}月矛盾纠纷分析研判会商",
                situation=f"本月受理矛盾纠纷{len(ds)}件，邻里、婚姻家庭纠纷占比较高。",
                opinions="对久调未结纠纷逐件分析，明确责任人和化解时限。",
                decisions="一、重点纠纷由中心主任包案；二、民转刑风险纠纷每周回访；三、调解不成的依法引导诉讼。",
                recorded_by=operators.get(c.pk),
                created_at=held,
            )
            meetings.append((m, rng.sample(ds, min(3, len(ds)))))
    Meeting.objects.bulk_create([m for m, _d in meetings], batch_size=500)
    through = Meeting.disputes.through
    for m, ds in meetings:
        links += [through(meeting_id=m.pk, dispute_id=d.pk) for d in ds]
        for j, what in enumerate(("回访重点当事人", "协调相关部门联合调处")[: 1 + len(ds) % 2]):
            due = timezone.localdate(m.held_at) + dt.timedelta(days=7 * (j + 1))
            tasks.append(
                MeetingTask(
                    meeting=m,
                    task=what,
                    owner=rng.choice(("司法所", "派出所", "综治中心")),
                    due_date=due,
                    done_at=m.held_at + dt.timedelta(days=5)
                    if due < timezone.localdate(ctx.now)
                    else None,
                )
            )
    through.objects.bulk_create(links, batch_size=1000)
    MeetingTask.objects.bulk_create(tasks, batch_size=1000)
    return len(meetings)


def _convert_cases(ctx, operators) -> int:
    """Convert up to three open 矛盾纠纷 cases with the real service; mediate one to agreement."""
    from civicgrid.cases.models import OPEN_STATES, Case

    from . import services

    n = 0
    for case in (
        Case.objects.filter(
            category__code__startswith=services.DISPUTE_CLASS,
            state__in=OPEN_STATES,
            dispute__isnull=True,
        )
        .select_related("category", "owner__area")
        .order_by("pk")[:3]
    ):
        actor = operators.get(case.owner_id)
        if actor is None:
            continue
        d = services.dispute_from_case(
            case=case,
            actor=actor,
            kind=DisputeKind.NEIGHBOUR,
            parties=[{"role": "applicant", "name": case.reporter_name or "反映人"}],
        )
        n += 1
        if n == 1:
            body = MediationBody.objects.filter(center_id=d.center_id).first()
            med = Mediator.objects.filter(body=body, available=True).first()
            if body is None or med is None:
                continue
            services.dispute_act(
                dispute=d,
                action="triage",
                actor=actor,
                body=body.pk,
                reason="案件转为矛盾纠纷调处",
                mediator=med.pk,
            )
            services.dispute_act(dispute=d, action="start", actor=actor)
            services.dispute_act(
                dispute=d,
                action="agree",
                actor=actor,
                terms="双方和解，互不追究。",
                fulfil_by=timezone.localdate() + dt.timedelta(days=7),
            )
    return n


__all__ = ["seed", "new_number"]
