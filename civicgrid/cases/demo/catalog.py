"""Demo categories, admission lists (准入清单) and grid tasks (through the engine's bulk commit)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from ..models import AdmissionItem, Category
from .data import ADMISSION_COUNTY, ADMISSION_DEPARTMENTS, CATEGORIES, LEGAL, PRIVATE_CODES


def seed_categories(ctx) -> dict[str, Category]:
    out: dict[str, Category] = {}
    for row in CATEGORIES:
        if len(row) == 2:
            cat, _created = Category.objects.get_or_create(code=row[0], defaults={"name": row[1]})
        else:
            code, name, level, key, prio, resp, handle, unit, selfc, photo = row
            try:
                dept = ctx.department(key, ctx.city.code) if ctx.city else None
            except KeyError:
                dept = None
            cat, _created = Category.objects.get_or_create(
                code=code,
                defaults=dict(
                    name=name,
                    parent=out[code[:2]],
                    handling_level=level,
                    default_department=dept,
                    priority=prio,
                    response_limit=Decimal(str(resp)),
                    handling_limit=Decimal(str(handle)),
                    sla_unit=unit,
                    self_closable=selfc,
                    photo_required=photo,
                ),
            )
        if cat.code in PRIVATE_CODES and not cat.is_private:
            cat.is_private = True
            cat.save(update_fields=["is_private"])
        out[cat.code] = cat
    return out


def _handler_of(dept):
    from civicgrid.people.models import Role, RoleAssignment

    ra = (
        RoleAssignment.objects.filter(role=Role.HANDLER, department=dept)
        .select_related("user")
        .order_by("pk")
        .first()
    )
    return ra.user if ra else None


def _keeper_of(ctx, dept):
    """An operator of the district (or city) center over the department, else the admin."""
    from civicgrid.people.models import Role, RoleAssignment

    for code in (dept.area.code[:6].ljust(12, "0"), dept.area.code[:4].ljust(12, "0")):
        ra = (
            RoleAssignment.objects.filter(role=Role.OPERATOR, area__code=code)
            .select_related("user")
            .order_by("pk")
            .first()
        )
        if ra is not None:
            return ra.user
    return ctx.accounts.get("admin")


# Proposals still waiting, refused and retired, so the life cycle shows on the console.
LIFE_CYCLE_DEMO = [
    ("SQ-01", "MZ", "高龄津贴申领材料代收", "民生服务类", "《老年人权益保障法》", "居民就近办理",
     "每网格每月约2小时", None, ""),
    ("SQ-02", "ZJ", "房屋安全隐患普查", "安全隐患类", "《城市危险房屋管理规定》",
     "网格员熟悉辖区房屋", "每网格一次约8小时", "refuse",
     "专业鉴定属住建部门职责，网格员仅负责发现上报"),
    ("SQ-03", "CG", "门前三包签约", "城市管理类", "《城市市容和环境卫生管理条例》",
     "沿街商户在网格内", "每网格一次约4小时", "retire", "已纳入日常巡查，不再单列下派"),
]  # fmt: skip


def seed_admission(ctx) -> list[AdmissionItem]:
    """The admission lists, each item proposed by its department and admitted by the district
    center through the life-cycle workflow (so every item has its log)."""
    from ..admission import admission_act, admission_propose

    if len(ctx.districts) < 4:
        return []
    items = []
    county_a, county_b = ctx.districts[2], ctx.districts[3]
    for i, (klass, key, name, basis) in enumerate(ADMISSION_COUNTY, start=1):
        dept = ctx.department(key, county_a.code)
        items.append((dept, f"ZR-{i:02d}", name, klass, basis))
    serial = 0
    for key, names in ADMISSION_DEPARTMENTS.items():
        dept = ctx.department(key, county_b.code)
        for name in names:
            serial += 1
            items.append((dept, f"ZR-{serial:02d}", name, "", LEGAL[key]))
    out = []
    handlers: dict[int, object] = {}
    for dept, code, name, klass, basis in items:
        obj = AdmissionItem.objects.filter(department=dept, code=code).first()
        if obj is None:
            proposer = handlers.setdefault(dept.pk, _handler_of(dept))
            if proposer is None:  # a department without staff: inserted as admitted
                obj = AdmissionItem.objects.create(
                    department=dept, code=code, name=name, item_class=klass, legal_basis=basis
                )
            else:
                obj = admission_propose(
                    actor=proposer,
                    department=dept,
                    code=code,
                    name=name,
                    item_class=klass,
                    legal_basis=basis,
                    why_grid="需入户或现场核实，网格员熟悉辖区情况",
                    workload="每网格每月约2小时",
                )
                admission_act(item=obj, action="approve", actor=_keeper_of(ctx, dept))
        out.append(obj)
    for code, key, name, klass, basis, why, load, action, reason in LIFE_CYCLE_DEMO:
        try:
            dept = ctx.department(key, county_a.code)
        except KeyError:
            continue
        proposer = handlers.setdefault(dept.pk, _handler_of(dept))
        if proposer is None or AdmissionItem.objects.filter(department=dept, code=code).exists():
            continue
        obj = admission_propose(
            actor=proposer,
            department=dept,
            code=code,
            name=name,
            item_class=klass,
            legal_basis=basis,
            why_grid=why,
            workload=load,
        )
        if action == "retire":
            admission_act(item=obj, action="approve", actor=_keeper_of(ctx, dept))
        if action:
            admission_act(item=obj, action=action, actor=_keeper_of(ctx, dept), reason=reason)
    return out


def seed_grid_tasks(ctx, items: list[AdmissionItem]) -> None:
    """Tasks pushed by the admitting counties' departments to their grids, through the same
    service as the console and the API (``department_task_compose``, with the demo's clock);
    the older ones completed by their workers through ``grid_task_complete``."""
    from ..gridtasks import department_task_compose, grid_task_complete

    if not items:
        return
    rng = ctx.rng_for("cases-tasks")
    by_county = defaultdict(list)
    for g in ctx.grids:
        if g.code in ctx.grid_workers:
            by_county[g.code[:6]].append(g)
    handlers: dict[int, object] = {}
    n_orders = n_tasks = 0
    for item in items:
        if not item.is_active:
            continue
        actor = handlers.setdefault(item.department_id, _handler_of(item.department))
        grids = by_county.get(item.department.area.code[:6]) or []
        if actor is None or not grids:
            continue
        chosen = rng.sample(grids, min(3, len(grids)))
        created = ctx.now - dt.timedelta(days=rng.randint(1, 12), hours=rng.randint(0, 9))
        deadline = created + dt.timedelta(days=rng.choice([3, 7, 14, 21]))
        order = department_task_compose(
            actor=actor,
            department=item.department,
            item=item,
            grids=chosen,
            title=item.name,
            instructions=f"{item.department.name}下派：{item.name}。请按要求入户核实并上传照片。",
            deadline=deadline,
            client_id=f"demo-task-{ctx.seed}-{item.pk}",
            now=created,
        )
        n_orders += 1
        for task in order.grid_tasks.select_related("worker"):
            n_tasks += 1
            # Most tasks are done; some past their deadline stay open (overdue on the board).
            if rng.random() < (0.8 if deadline < ctx.now else 0.4):
                grid_task_complete(task=task, actor=task.worker, result="已按要求完成")
    ctx.log(f"  {n_orders} department tasks, {n_tasks} grid tasks")
