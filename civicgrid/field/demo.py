"""Demo step of the field app: key places in every grid, a week of patrols with GPS tracks and
check-ins for the ``worker`` account and a few hundred other workers (see docs/demo-city.md)."""

from __future__ import annotations

import datetime as dt
import math
import uuid

import numpy as np
import shapely

from .models import CheckIn, KeyPlace, KeyPlaceKind, Patrol, PatrolState, TrackPoint
from .tracks import geodesic_m, recompute

PLACES = [
    (KeyPlaceKind.KEY_PLACE, "{n}小区消防通道", 50),
    (KeyPlaceKind.KEY_PLACE, "{n}农贸市场", 120),
    (KeyPlaceKind.KEY_PLACE, "{n}幼儿园门口", 60),
    (KeyPlaceKind.RISK_POINT, "{n}配电房", 40),
    (KeyPlaceKind.RISK_POINT, "{n}燃气调压站", 50),
    (KeyPlaceKind.RISK_POINT, "{n}河道闸口", 80),
    (KeyPlaceKind.CARE_HOME, "独居老人{s}大爷家", 40),
    (KeyPlaceKind.CARE_HOME, "独居老人{s}奶奶家", 40),
    (KeyPlaceKind.FACILITY, "{n}公厕", 40),
    (KeyPlaceKind.FACILITY, "{n}健身广场", 80),
]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"
DEMO_WORKERS = 200  # besides `worker`, so that per-grid patrol figures are not empty


def _inside(rng, geom, n: int) -> list[tuple[float, float]]:
    """n random (lat, lng) points inside a polygon."""
    x0, y0, x1, y1 = geom.bounds
    out: list[tuple[float, float]] = []
    tries = 0
    while len(out) < n and tries < n * 50:
        tries += 1
        x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
        if geom.contains(shapely.Point(x, y)):
            out.append((y, x))
    while len(out) < n:
        p = geom.representative_point()
        out.append((p.y, p.x))
    return out


def _walk(rng, geom, start: dt.datetime, minutes: int) -> list[tuple[dt.datetime, float, float]]:
    """A walk of 1–1.5 m/s inside the grid, one fix every 30 s, turning at the boundary."""
    lat, lng = _inside(rng, geom, 1)[0]
    heading = rng.uniform(0, 2 * math.pi)
    out = []
    t = start
    for _ in range(minutes * 2):
        out.append((t, lat, lng))
        for _attempt in range(8):
            step = rng.uniform(25, 45)  # metres in 30 s
            heading += rng.gauss(0, 0.5)
            nlat = lat + step * math.cos(heading) / 111_320
            nlng = lng + step * math.sin(heading) / (111_320 * math.cos(math.radians(lat)))
            if geom.contains(shapely.Point(nlng, nlat)):
                lat, lng = nlat, nlng
                break
            heading += math.pi / 2
        t += dt.timedelta(seconds=30)
    return out


def seed(ctx) -> None:
    rng = ctx.rng
    places: list[KeyPlace] = []
    worker = ctx.accounts.get("worker")
    worker_grids = set()
    if worker is not None:
        worker_grids = set(worker.grid_memberships.values_list("grid__code", flat=True))
    for grid in ctx.grids:
        geom = grid.geometry
        if geom is None:
            continue
        n = 5 if grid.code in worker_grids else 2
        stem = grid.name.split("第")[0].replace("社区", "").replace("村", "")[:4] or grid.name[:2]
        for (lat, lng), (kind, pattern, radius) in zip(
            _inside(rng, geom, n), rng.sample(PLACES, n), strict=True
        ):
            places.append(
                KeyPlace(
                    name=pattern.format(n=stem, s=rng.choice(SURNAMES)),
                    kind=kind,
                    grid=grid,
                    scope_code=grid.code,
                    lat=lat,
                    lng=lng,
                    radius_m=radius,
                )
            )
    KeyPlace.objects.bulk_create(places, batch_size=1000)
    ctx.log(f"  {len(places)} key places")

    by_grid: dict[int, list[KeyPlace]] = {}
    for p in KeyPlace.objects.filter(grid__in=ctx.grids).only(
        "pk", "grid_id", "lat", "lng", "radius_m"
    ):
        by_grid.setdefault(p.grid_id, []).append(p)
    grid_by_code = {g.code: g for g in ctx.grids}
    pairs = []
    if worker is not None:
        pairs += [(worker, grid_by_code[c]) for c in sorted(worker_grids) if c in grid_by_code]
    codes = sorted(ctx.grid_workers)
    for code in rng.sample(codes, min(DEMO_WORKERS, len(codes))):
        if ctx.grid_workers[code] != worker:
            pairs.append((ctx.grid_workers[code], grid_by_code[code]))
    today = ctx.now.astimezone(dt.UTC).replace(hour=1, minute=0, second=0, microsecond=0)
    patrols, points, checkins = 0, 0, 0
    for user, grid in pairs:
        days = 7 if user == worker else 3
        for d in range(days, 0, -1):
            if rng.random() < 0.2 and user != worker:
                continue
            start = today - dt.timedelta(days=d) + dt.timedelta(minutes=rng.randint(0, 300))
            walk = _walk(rng, grid.geometry, start, rng.randint(50, 110))
            patrol = Patrol.objects.create(
                uuid=uuid.UUID(int=rng.getrandbits(128), version=4),
                worker=user,
                scope_code=grid.code,
                state=PatrolState.ENDED,
                started_at=start - dt.timedelta(minutes=1),
                ended_at=walk[-1][0] + dt.timedelta(minutes=1),
            )
            TrackPoint.objects.bulk_create(
                [
                    TrackPoint(
                        patrol=patrol, recorded_at=t, lat=la, lng=ln, accuracy=rng.randint(4, 25)
                    )
                    for t, la, ln in walk
                ],
                batch_size=2000,
            )
            recompute(patrol)
            patrol.save()
            patrols += 1
            points += len(walk)
            lats = np.array([w[1] for w in walk])
            lngs = np.array([w[2] for w in walk])
            for place in by_grid.get(grid.pk, [])[:2]:
                dist = (lats - place.lat) ** 2 + (lngs - place.lng) ** 2
                i = int(np.argmin(dist))
                t, la, ln = walk[i]
                metres = geodesic_m(la, ln, place.lat, place.lng)
                CheckIn.objects.create(
                    client_id=uuid.UUID(int=rng.getrandbits(128), version=4),
                    worker=user,
                    place=place,
                    patrol=patrol,
                    scope_code=grid.code,
                    checked_at=t,
                    lat=la,
                    lng=ln,
                    accuracy=rng.randint(5, 20),
                    distance_m=round(metres, 1),
                    within=metres <= place.radius_m,
                )
                checkins += 1
    ctx.log(f"  {patrols} patrols, {points} track points, {checkins} check-ins")
    seed_inbox(ctx)


def seed_inbox(ctx) -> None:
    """Give the ``worker`` account something waiting: a case dispatched to them, a handled case
    of their grid to verify, a self-closable report and grid tasks — all made by the engine."""
    import io

    from django.db import transaction
    from PIL import Image

    from civicgrid.cases import services as cs
    from civicgrid.cases.models import AdmissionItem, Category
    from civicgrid.core.errors import DomainError

    worker = ctx.accounts.get("worker")
    operator = ctx.accounts.get("village_operator")
    handler = ctx.accounts.get("street_handler")
    if worker is None or operator is None:
        return
    grids = [m.grid for m in worker.grid_memberships.select_related("grid").order_by("grid__code")]
    if not grids:
        return
    buf = io.BytesIO()
    Image.new("RGB", (320, 240), (90, 140, 90)).save(buf, format="JPEG")
    photo = buf.getvalue()
    rng = ctx.rng

    def point(grid):
        lat, lng = _inside(rng, grid.geometry, 1)[0]
        return lat, lng

    def step(label, fn):
        try:
            with transaction.atomic():
                fn()
        except DomainError as exc:  # the demo must not fail on a rule another app tightened
            ctx.log(f"  (skipped {label}: {exc.message})")

    small = Category.objects.filter(code="0401").first()
    advice = Category.objects.filter(code="0101").first()
    if small is None or advice is None:
        return

    def dispatched():
        lat, lng = point(grids[0])
        c = cs.case_report(
            actor=worker,
            category=advice,
            description="3号楼两户因楼道堆物发生争执，需上门调解",
            lat=lat,
            lng=lng,
            source="grid_worker",
            client_id=f"demo-inbox-{ctx.seed}-1",
        )
        cs.case_accept(case=c, actor=operator, category=advice, priority=2)
        cs.case_dispatch(case=c, actor=operator, worker=worker, note="请网格员上门了解情况")

    def to_verify():
        lat, lng = point(grids[-1])
        c = cs.case_report(
            actor=operator,
            category=small,
            description="小区东门外建筑垃圾堆放",
            lat=lat,
            lng=lng,
            source="hotline",
            reporter_phone="13600001234",
            client_id=f"demo-inbox-{ctx.seed}-2",
        )
        cs.case_accept(case=c, actor=operator, category=small, priority=2)
        dept = ctx.department("ZF", grids[-1].code)
        cs.case_dispatch(case=c, actor=operator, department=dept)
        cs.case_sign(case=c, actor=handler)
        cs.case_submit(
            case=c, actor=handler, result="已组织清运，现场恢复整洁", attachments=[photo]
        )

    def self_closable():
        lat, lng = point(grids[0])
        cs.case_report(
            actor=None,
            category=small,
            description="单元门口电动车乱停放，影响通行",
            lat=lat,
            lng=lng,
            source="citizen",
            reporter_phone="13700005678",
            client_id=f"demo-inbox-{ctx.seed}-3",
        )

    step("dispatched case", dispatched)
    if handler is not None:
        step("case to verify", to_verify)
    step("self-closable report", self_closable)
    item = next(
        (
            i
            for i in AdmissionItem.objects.filter(state="admitted")
            .select_related("department__area")
            .order_by("pk")
            if grids[0].code.startswith(i.department.area.prefix)
        ),
        None,
    )
    if item is None:
        # The admission list seeds other counties: admit the district's civil-affairs visits.
        dept = ctx.department("MZ", grids[0].code)
        item, _created = AdmissionItem.objects.get_or_create(
            department=dept,
            code=f"{dept.code}-01",
            defaults={
                "name": "独居高龄老人定期探访",
                "item_class": "民生服务类",
                "legal_basis": "《中华人民共和国老年人权益保障法》",
            },
        )
    if item is not None:
        # Through the same service as the console and the API (the firewall included).
        from civicgrid.cases.demo.catalog import _handler_of
        from civicgrid.cases.gridtasks import department_task_compose

        sender = _handler_of(item.department)
        for n, (title, days) in enumerate(
            (("独居老人定期探访：王秀英", 2), ("独居老人定期探访：李德福", 5)), start=1
        ):
            if sender is None:
                break
            step(
                "grid task",
                lambda title=title, days=days, n=n: department_task_compose(
                    actor=sender,
                    department=item.department,
                    item=item,
                    grids=[grids[0]],
                    worker=worker,
                    title=title,
                    instructions="上门了解老人身体和生活情况，拍照留存",
                    deadline=ctx.now + dt.timedelta(days=days),
                    client_id=f"demo-inbox-task-{ctx.seed}-{n}",
                ),
            )
    ctx.log("  an inbox for the worker account")
