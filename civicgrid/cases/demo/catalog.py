"""Demo categories, admission lists (准入清单) and grid tasks (through the engine's bulk commit)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from ..gridtasks import GRID_TASKS
from ..models import (
    AdmissionItem,
    Category,
    GridTask,
)
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


def seed_admission(ctx) -> list[AdmissionItem]:
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
    for dept, code, name, klass, basis in items:
        obj, _created = AdmissionItem.objects.get_or_create(
            department=dept,
            code=code,
            defaults={"name": name, "item_class": klass, "legal_basis": basis},
        )
        out.append(obj)
    return out


def seed_grid_tasks(ctx, items: list[AdmissionItem]) -> None:
    """A few tasks pushed by the admitting counties' departments to their grids' workers."""
    if not items:
        return
    rng = ctx.rng_for("cases-tasks")
    by_county = defaultdict(list)
    for g in ctx.grids:
        by_county[g.code[:6]].append(g)
    plans = []
    for item in items:
        grids = by_county.get(item.department.area.code[:6]) or []
        for g in rng.sample(grids, min(3, len(grids))):
            worker = ctx.grid_workers.get(g.code)
            if worker is None:
                continue
            created = ctx.now - dt.timedelta(days=rng.randint(1, 40), hours=rng.randint(0, 9))
            deadline = created + dt.timedelta(days=rng.choice([3, 7, 14]))
            done = deadline < ctx.now or rng.random() < 0.4
            task = GridTask(
                department=item.department,
                item=item,
                grid=g,
                scope_code=g.code,
                worker=worker,
                title=item.name,
                description=f"{item.department.name}下派：{item.name}",
                deadline=deadline,
                result="已按要求完成" if done else "",
                completed_at=min(deadline, ctx.now) if done else None,
            )
            steps = [{"action": "create", "role": "handler", "created_at": created,
                      "data": {"item": item.code, "worker": worker.pk}}]  # fmt: skip
            if done:
                steps.append({"action": "complete", "actor": worker, "role": "assignee",
                              "note": task.result, "created_at": task.completed_at})  # fmt: skip
            plans.append((task, steps))
    GRID_TASKS.bulk_commit(plans)
    # created_at is auto_now_add; spread it back in time like the deadlines.
    ctx.log(f"  {len(plans)} grid tasks")
