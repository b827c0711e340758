"""Demo party building, liaison and service orders, all through the services and the engine.

On the demo worker's community: a 网格党支部 per grid and a 党小组 on the first, the grid's CPC
members from base data (plus two volunteers) with 联系户 and 党员中心户, accounts
``party_member`` and ``volunteer`` for 党员履单; 包联 assignments of the leaders with last month's
and part of this month's visits (one grid left behind); and 六联单 orders at every step.
"""

from __future__ import annotations

import datetime as dt
import io

from django.db import transaction
from django.utils import timezone

from civicgrid.basedata.models import Household, Person
from civicgrid.cases import services as cs
from civicgrid.cases.models import Category, Flow
from civicgrid.core.errors import DomainError
from civicgrid.people.access import Principal

from . import services
from .models import MemberKind, OrgKind, PartyMember

ORDERS = [
    ("0602", "家中老人行动不便，希望每周有人上门助餐", "closed"),
    ("0602", "独居老人家中水龙头漏水，需要志愿者帮忙更换", "handled"),
    ("0603", "想了解灵活就业人员医保怎么缴，希望有人讲解", "in_progress"),
    ("0601", "孩子放学后无人照看，希望参加社区四点半课堂", "assigned"),
    ("0604", "咨询老旧小区加装电梯的补贴政策", "filed"),
    ("0602", "腿脚不便，需要有人帮忙到社区代办高龄补贴", "reported"),
]
STEPS = ["reported", "filed", "assigned", "in_progress", "handled", "closed"]


def _photo() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (320, 240), (200, 80, 60)).save(buf, format="JPEG")
    return buf.getvalue()


def seed(ctx) -> None:
    admin = ctx.accounts.get("admin")
    worker = ctx.accounts.get("worker")
    operator = ctx.accounts.get("village_operator")
    if admin is None or worker is None or operator is None:
        return
    grids = sorted(
        (m.grid for m in worker.grid_memberships.select_related("grid", "grid__area")),
        key=lambda g: g.code,
    )
    if not grids:
        return
    rng = ctx.rng

    def step(label, fn):
        try:
            with transaction.atomic():
                return fn()
        except DomainError as exc:  # the demo must not fail on a rule another app tightened
            ctx.log(f"  (skipped {label}: {exc.message})")
            return None

    # --- 党建 -------------------------------------------------------------------------------
    members: list[PartyMember] = []
    n_contacts = 0
    for gi, grid in enumerate(grids):
        cpc = list(
            Person.objects.filter(grid=grid, political_status__in=services.CPC_STATUSES).order_by(
                "id"
            )[:8]
        )
        branch = step(
            "branch",
            lambda grid=grid, cpc=cpc: services.organisation_create(
                grid=grid,
                kind=OrgKind.BRANCH,
                name=f"{grid.name}党支部",
                secretary=cpc[0] if cpc else None,
                actor=admin,
            ),
        )
        if branch is None:
            continue
        group = None
        if gi == 0:
            group = services.organisation_create(
                grid=grid, kind=OrgKind.GROUP, name=f"{grid.name}第一党小组", actor=admin
            )
        households = list(Household.objects.filter(scope_code__startswith=grid.code).order_by("id"))
        for i, person in enumerate(cpc):
            org = group if group is not None and i % 2 else branch
            m = step(
                "member",
                lambda person=person, org=org: services.member_add(
                    person=person, kind=MemberKind.MEMBER, organisation=org, actor=admin
                ),
            )
            if m is None:
                continue
            members.append(m)
            for h in rng.sample(households, min(len(households), rng.randint(3, 6))):
                services.contact_add(member=m, household=h, actor=admin)
                n_contacts += 1
            own = Household.objects.filter(head=person).first()
            if own is not None and i < 3:
                services.central_household_set(member=m, household=own, actor=admin)
        volunteers = list(
            Person.objects.filter(grid=grid, political_status=Person.Political.MASSES)
            .exclude(party_member__isnull=False)
            .order_by("id")[:1]
        )
        for person in volunteers:
            m = step(
                "volunteer",
                lambda person=person: services.member_add(
                    person=person, kind=MemberKind.VOLUNTEER, actor=admin
                ),
            )
            if m is not None:
                members.append(m)
    ctx.log(f"  {len(members)} party members and volunteers, {n_contacts} contact households")

    # accounts for 党员履单: one party member, one volunteer
    accounts = {}
    for username, kind in (
        ("party_member", MemberKind.MEMBER),
        ("volunteer", MemberKind.VOLUNTEER),
    ):
        m = next((x for x in members if x.kind == kind and x.user_id is None), None)
        if m is None:
            continue
        user = ctx.accounts.get(username)  # a named demo account (core/demo/people.py)
        if user is None:
            continue
        user.full_name = m.person.name
        user.save(update_fields=["full_name"])
        services.member_link_account(member=m, user=user, actor=admin)
        accounts[kind] = m

    # --- 包联 -------------------------------------------------------------------------------
    now = timezone.localtime(ctx.now)
    this_month = now.date().replace(day=1)
    last_month = (this_month - dt.timedelta(days=1)).replace(day=1)
    since = (last_month - dt.timedelta(days=1)).replace(day=1)
    cadres = [u for u in (ctx.accounts.get("district_leader"), ctx.accounts.get("leader")) if u]
    visits = 0
    for ci, cadre in enumerate(cadres):
        if ci == 0:
            targets = [
                step(
                    "assign",
                    lambda g=g, cadre=cadre: services.liaison_assign(
                        cadre=cadre, grid=g, since=since, actor=admin
                    ),
                )
                for g in grids
            ]
        else:
            targets = [
                step(
                    "assign",
                    lambda cadre=cadre: services.liaison_assign(
                        cadre=cadre, community=grids[0].area, since=since, actor=admin
                    ),
                )
            ]
        for a in filter(None, targets):
            covered = [a.grid] if a.grid_id else list(a.community.grids.order_by("code"))
            for gi, g in enumerate(covered):
                months = [last_month] + ([this_month] if (gi + ci) % 2 == 0 else [])
                for month in months:
                    day = (
                        min(rng.randint(2, 20), max(1, now.day - 1))
                        if month == this_month
                        else rng.randint(3, 25)
                    )
                    when = timezone.make_aware(
                        dt.datetime.combine(month.replace(day=day), dt.time(rng.randint(9, 16), 30))
                    )
                    if when >= timezone.now():
                        continue
                    problems = (
                        [{"category": "0401", "description": f"走访{g.name}时居民反映楼道堆物"}]
                        if month == last_month and gi == 0
                        else []
                    )
                    step(
                        "visit",
                        lambda g=g, when=when, problems=problems, cadre=cadre: (
                            services.visit_record(
                                actor=cadre,
                                grid=g,
                                visited_at=when,
                                place=f"{g.name}党群服务站",
                                people_met="网格员、楼栋长、党员中心户代表",
                                note="了解网格工作和群众诉求",
                                problems=problems,
                            )
                        ),
                    )
                    visits += 1
    ctx.log(f"  {visits} liaison visits by {len(cadres)} cadres")

    # --- 六联单: orders at every step -----------------------------------------------------------
    member = accounts.get(MemberKind.MEMBER) or accounts.get(MemberKind.VOLUNTEER)
    if member is None:
        return
    photo = _photo()
    made = 0
    operators = [
        u
        for u in (ctx.accounts.get(n) for n in ("village_operator", "street_operator", "operator"))
        if u is not None
    ]
    for i, (code, text, target) in enumerate(ORDERS):
        cat = Category.objects.filter(code=code).first()
        if cat is None:
            continue
        grid = grids[i % len(grids)]
        p = grid.geometry.representative_point()

        def run(cat=cat, text=text, target=target, grid=grid, p=p, i=i):
            c = cs.case_report(
                actor=None,
                category=cat,
                description=text,
                lat=p.y,
                lng=p.x,
                source="citizen",
                flow=Flow.SERVICE,
                reporter_phone=f"1390000{1000 + i:04d}",
                client_id=f"demo-service-{ctx.seed}-{i}",
            )
            goal = STEPS.index(target)
            # 村社派单 by the center that owns the order (the category's handling level).
            owner = next(
                (u for u in operators if "operator" in Principal.of(u).capacities(c)), operator
            )
            if goal >= 1:
                services.order_take(case=c, actor=worker, note="网格员已接单")
            if goal >= 2:
                c.refresh_from_db()
                services.order_dispatch(case=c, member=member, actor=owner, note="请就近上门服务")
            if goal >= 3:
                c.refresh_from_db()
                cs.case_sign(case=c, actor=member.user, note="已联系群众，约定上门时间")
            if goal >= 4:
                c.refresh_from_db()
                cs.case_submit(
                    case=c, actor=member.user, result="已上门服务，群众满意", attachments=[photo]
                )
            if goal >= 5:
                c.refresh_from_db()
                cs.case_verify(case=c, actor=owner, note="电话回访核实，服务到位，归档销单")
            return c

        if step("service order", run) is not None:
            made += 1
    ctx.log(f"  {made} service orders (六联单) at every step")
