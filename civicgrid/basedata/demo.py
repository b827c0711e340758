"""Demo base data: the demo worker's two grids complete (300–500 households each, every tag kind,
visits due and overdue), every other grid at a light density. Bulk inserts keep `make run` quick.
"""

from __future__ import annotations

import datetime as dt

import shapely
from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from civicgrid.core.demo.names import person_name

from . import generate, services
from .models import (
    ChangeLog,
    House,
    Household,
    HouseholdMember,
    Organisation,
    Person,
    PersonTag,
    Place,
    RiskPoint,
    TagKind,
    Thing,
    Visit,
)
from .tagkinds import ensure_builtin_data

LIGHT = {"houses": 1, "things": 1}
REVEAL_GROUP = "个人信息查看"


def _points(rng, geom, n):
    x0, y0, x1, y1 = geom.bounds
    out = []
    tries = 0
    while len(out) < n and tries < n * 30:
        tries += 1
        x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
        if geom.contains(shapely.Point(x, y)):
            out.append((y, x))
    p = geom.representative_point()
    out += [(p.y, p.x)] * (n - len(out))
    return out


def seed(ctx) -> None:
    rng = ctx.rng
    now = ctx.now
    today = timezone.localdate(now)
    worker = ctx.accounts.get("worker")
    full = set(worker.grid_memberships.values_list("grid__code", flat=True)) if worker else set()
    ensure_builtin_data()
    kinds = list(TagKind.objects.prefetch_related("rules"))
    counter = [0]

    houses: list[House] = []
    plan: list[tuple[House, int]] = []  # house, residents
    things: list[Thing] = []
    orgs: list[Organisation] = []
    places: list[Place] = []
    risks: list[RiskPoint] = []
    for grid in ctx.grids:
        geom = grid.geometry
        if geom is None:
            continue
        complete = grid.code in full
        n_houses = rng.randint(300, 500) if complete else LIGHT["houses"]
        pts = _points(rng, geom, max(8, n_houses // 10 + 1))
        street = grid.name.split("第")[0][:4] or grid.name[:2]
        for i in range(n_houses):
            lat, lng = pts[i // 10 % len(pts)]
            h = House(
                address=f"{street}路{i // 60 + 1}号", building=str(i // 20 % 3 + 1),
                unit=str(i // 10 % 2 + 1), room=f"{i % 10 // 2 + 1}0{i % 2 + 1}",
                use=rng.choices(["own", "rented", "vacant"], [70, 25, 5])[0],
                lat=lat, lng=lng, grid=grid, scope_code=grid.code, confirmed_at=now,
            )  # fmt: skip
            houses.append(h)
            plan.append((h, 0 if h.use == "vacant" else rng.choice([1, 2, 2, 3, 3, 4])))
        for j in range(8 if complete else LIGHT["things"]):
            lat, lng = pts[j % len(pts)]
            kind = ["manhole", "streetlight", "hydrant", "camera", "bin"][j % 5]
            things.append(Thing(code=f"{grid.code}{kind[:2].upper()}{j:03d}", kind=kind,
                                state="damaged" if j == 3 else "ok", lat=lat, lng=lng,
                                grid=grid, scope_code=grid.code, confirmed_at=now))  # fmt: skip
        if complete:
            region = grid.code[:6]
            for j in range(6):
                lat, lng = pts[j % len(pts)]
                counter[0] += 1
                orgs.append(Organisation(
                    name=f"{street}{['商贸', '餐饮', '物业', '科技', '志愿者协会', '养老服务中心'][j]}"
                    + ("有限公司" if j < 4 else ""),
                    uscc=generate.uscc_for(region, int(grid.code[-6:]) * 100 + j),
                    kind="social" if j >= 4 else "enterprise", staff_count=rng.randint(3, 80),
                    has_party_org=j % 2 == 0, lat=lat, lng=lng, address=f"{street}路{j + 1}号",
                    grid=grid, scope_code=grid.code, confirmed_at=now))  # fmt: skip
            for j, (kind, name) in enumerate(
                [("school", "小学"), ("market", "农贸市场"), ("small", "小超市")]
            ):
                lat, lng = pts[(j + 2) % len(pts)]
                places.append(
                    Place(
                        name=street + name,
                        kind=kind,
                        lat=lat,
                        lng=lng,
                        grid=grid,
                        scope_code=grid.code,
                        confirmed_at=now,
                    )
                )
            for j, (kind, name, lvl) in enumerate(
                [("fire", "老旧小区电动车充电点", 3), ("unsafe_building", "危房", 2)]
            ):
                lat, lng = pts[(j + 4) % len(pts)]
                risks.append(
                    RiskPoint(
                        name=street + name,
                        kind=kind,
                        level=lvl,
                        lat=lat,
                        lng=lng,
                        grid=grid,
                        scope_code=grid.code,
                        confirmed_at=now,
                    )
                )
    House.objects.bulk_create(houses, batch_size=2000)
    Thing.objects.bulk_create(things, batch_size=2000)
    Organisation.objects.bulk_create(orgs)
    Place.objects.bulk_create(places)
    RiskPoint.objects.bulk_create(risks)

    persons: list[Person] = []
    heads: list[tuple[House, list[Person]]] = []
    for h, n in plan:
        members = []
        for k in range(n):
            counter[0] += 1
            number = generate.id_for(h.scope_code[:6], counter[0])
            gender, birth = generate.gender_birth(number)
            phone = generate.phone_for(counter[0]) if k < 2 else ""
            p = Person(
                name=person_name(rng), gender=gender, birth_date=birth, house=h,
                hukou_region=h.scope_code[:6],
                category=rng.choices(["registered", "floating", "separated"], [80, 15, 5])[0],
                political_status="cpc" if rng.random() < 0.08 else "masses",
                address=str(h), lat=h.lat, lng=h.lng, grid_id=h.grid_id, scope_code=h.scope_code,
                confirmed_at=now - dt.timedelta(days=rng.randint(0, 500)),
                **generate.pii_fields(number, phone),
            )  # fmt: skip
            persons.append(p)
            members.append(p)
        if members:
            heads.append((h, members))
    Person.objects.bulk_create(persons, batch_size=2000)
    hhs = [Household(house=h, head=m[0], scope_code=h.scope_code) for h, m in heads]
    Household.objects.bulk_create(hhs, batch_size=2000)
    rels = ["head", "spouse", "child", "child", "parent"]
    HouseholdMember.objects.bulk_create(
        [HouseholdMember(household=hh, person=p, relation=rels[min(i, 4)])
         for hh, (_h, m) in zip(hhs, heads, strict=True) for i, p in enumerate(m)],
        batch_size=2000,
    )  # fmt: skip

    # Tags: every kind in the worker's grids (visits due and overdue), a few elsewhere.
    tags: list[PersonTag] = []
    visits: list[Visit] = []
    in_full = [p for p in persons if p.scope_code in full]
    for i, p in enumerate(in_full[: len(kinds) * 12]):
        kind = kinds[i % len(kinds)]
        data = generate.tag_data(kind.code, rng, today)
        interval = services.visit_interval(kind, data, today, list(kind.rules.all()))
        last = now - dt.timedelta(days=rng.randint(0, interval + 20))
        due = timezone.localdate(last) + dt.timedelta(days=interval)
        tags.append(PersonTag(person=p, kind=kind, data=data, since=today - dt.timedelta(days=400),
                              scope_code=p.scope_code, sensitive=kind.sensitive,
                              last_visit_at=last, next_visit_due=due))  # fmt: skip
        if worker is not None:
            visits.append(
                Visit(
                    worker=worker,
                    person=p,
                    at=last,
                    note="入户走访，情况稳定",
                    lat=p.lat,
                    lng=p.lng,
                    scope_code=p.scope_code,
                )
            )
    light_kinds = [
        k for k in kinds if k.code in ("lonely_elderly", "disabled", "low_income", "veteran")
    ]
    for i, p in enumerate(p for p in persons if p.scope_code not in full):
        if i % 9 == 0:
            kind = light_kinds[i % len(light_kinds)]
            tags.append(PersonTag(person=p, kind=kind, data=generate.tag_data(kind.code, rng, today),
                                  since=today - dt.timedelta(days=200), scope_code=p.scope_code,
                                  sensitive=kind.sensitive,
                                  next_visit_due=today + dt.timedelta(days=rng.randint(-30, 60))))  # fmt: skip
    PersonTag.objects.bulk_create(tags, batch_size=2000)
    for v in visits:
        v.tag = None
    Visit.objects.bulk_create(visits, batch_size=2000)
    ChangeLog.objects.bulk_create(
        [ChangeLog(entity="person", object_id=p.pk, actor=None, action="import",
                   changes={"name": p.name, "id_number_mask": p.id_number_mask},
                   scope_code=p.scope_code) for p in in_full],
        batch_size=2000,
    )  # fmt: skip

    group, _ = Group.objects.get_or_create(name=REVEAL_GROUP)
    group.permissions.add(Permission.objects.get(codename="reveal_personal_data"))
    for username in ("worker", "village_operator"):
        if username in ctx.accounts:
            ctx.accounts[username].groups.add(group)
    from .keyplaces import adopt_all

    adopted = adopt_all()  # the field step's key places become places and risk points
    ctx.log(
        f"  {len(houses)} houses, {len(persons)} persons, {len(tags)} tags, {len(things)} things, "
        f"{adopted['place']} + {adopted['riskpoint']} key places adopted"
    )
