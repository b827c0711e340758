"""Write a checked plan: bulk inserts and updates, level by level, in one transaction."""

from __future__ import annotations

from django.db import connections, router, transaction
from django.utils import timezone

from ..models import Area, Grid, MicroGrid
from ..services import bump_version
from .plan import AREA, GRID, MICRO, ImportPlan, Item

BATCH = 500
GEOM_FIELDS = ["boundary", "min_lng", "min_lat", "max_lng", "max_lat"]


def apply_plan(plan: ImportPlan) -> None:
    """Write every create and update of an error-free plan. Call inside transaction.atomic()."""
    if plan.errors:
        raise ValueError("a plan with errors cannot be applied")
    assert transaction.get_connection().in_atomic_block, "apply_plan needs a transaction"
    now = timezone.now()
    items = [it for it in plan.items if it.layer]
    todo = [it for it in items if it.action != "unchanged"]
    if not todo:
        return

    # Parents from the database (the file's own parents get their pk when created below).
    area_pk = dict(
        Area.objects.filter(
            code__in={it.parent_code for it in todo if it.layer in (AREA, GRID) and it.parent_code}
        ).values_list("code", "pk")
    )
    for level in (1, 2, 3, 4):
        new = [
            _new_area(it, area_pk)
            for it in todo
            if it.layer == AREA and it.existing is None and it.level == level
        ]
        if new:
            _bulk_create(Area, new)
            area_pk.update({a.code: a.pk for a in new})
    _bulk_update(Area, [it for it in todo if it.layer == AREA and it.existing is not None], now)

    new_grids = [_new_grid(it, area_pk) for it in todo if it.layer == GRID and it.existing is None]
    _bulk_create(Grid, new_grids)
    _bulk_update(Grid, [it for it in todo if it.layer == GRID and it.existing is not None], now)

    grid_pk = dict(
        Grid.objects.filter(
            code__in={it.parent_code for it in todo if it.layer == MICRO}
        ).values_list("code", "pk")
    )
    new_micros = [
        _new_micro(it, grid_pk) for it in todo if it.layer == MICRO and it.existing is None
    ]
    _bulk_create(MicroGrid, new_micros)
    _bulk_update(
        MicroGrid, [it for it in todo if it.layer == MICRO and it.existing is not None], now
    )

    if any(it.geom_changed for it in todo):
        bump_version()


AUDIT_ITEMS = 5000  # changes listed in one import's audit event; the counts cover the rest


def audit_import(plan: ImportPlan, *, actor, filename: str, crs: str | None, force: bool) -> None:
    """Append the import's audit event: counts per layer and each created or changed feature."""
    from civicgrid.audit.context import actor_for_user
    from civicgrid.audit.services import record

    todo = [it for it in plan.items if it.layer and it.action != "unchanged"]
    counts: dict[str, dict[str, int]] = {}
    for it in todo:
        layer = counts.setdefault(it.layer, {"create": 0, "update": 0})
        layer[it.action] += 1
    changes = [
        {
            "code": it.code,
            "layer": it.layer,
            "action": it.action,
            "geometry_changed": it.geom_changed,
            "fields": {k: [old, new] for k, (old, new) in it.changes.items()},
        }
        for it in todo[:AUDIT_ITEMS]
    ]
    record(
        "import",
        object_type="territory.import",
        object_repr=(filename or "")[:200],
        after={"counts": counts, "changes": changes, "listed": len(changes), "total": len(todo)},
        details={"file": filename, "crs": crs, "force": force},
        actor=actor_for_user(actor),
    )


def _new_area(it: Item, area_pk: dict[str, int]) -> Area:
    a = Area(
        code=it.code,
        name=it.values["name"],
        level=it.level,
        parent_id=area_pk.get(it.parent_code) if it.parent_code else None,
    )
    a.set_geometry(it.final_geom)
    return a


def _new_grid(it: Item, area_pk: dict[str, int]) -> Grid:
    g = Grid(code=it.code, area_id=area_pk[it.parent_code], **it.values)
    g.set_geometry(it.final_geom)
    return g


def _new_micro(it: Item, grid_pk: dict[str, int]) -> MicroGrid:
    m = MicroGrid(code=it.code, grid_id=grid_pk[it.parent_code], **it.values)
    m.set_geometry(it.final_geom)
    return m


def _bulk_create(model, objs: list) -> None:
    if not objs:
        return
    model.objects.bulk_create(objs, batch_size=BATCH)
    if any(o.pk is None for o in objs):  # backends that do not return ids
        pks = dict(model.objects.filter(code__in=[o.code for o in objs]).values_list("code", "pk"))
        for o in objs:
            o.pk = pks[o.code]


def _bulk_update(model, items: list[Item], now) -> None:
    """One parametrised UPDATE run with executemany.

    QuerySet.bulk_update builds a CASE WHEN expression per row and field, which costs seconds
    for 10,000 grids; executemany sends the same statement with one parameter row per object
    (pipelined by psycopg 3, in-process for SQLite).
    """
    if not items:
        return
    fields: set[str] = set()
    objs = []
    for it in items:
        obj = it.existing
        for key in it.changes:
            if key == "geometry":
                obj.set_geometry(it.final_geom)
                fields.update(GEOM_FIELDS)
            else:
                setattr(obj, key, it.values[key])
                fields.add(key)
        obj.updated_at = now
        objs.append(obj)
    connection = connections[router.db_for_write(model)]
    qn = connection.ops.quote_name
    meta = model._meta
    cols = [meta.get_field(name) for name in sorted(fields | {"updated_at"})]
    pk = meta.pk
    sql = "UPDATE {} SET {} WHERE {} = %s".format(
        qn(meta.db_table),
        ", ".join(f"{qn(f.column)} = %s" for f in cols),
        qn(pk.column),
    )
    params = [
        [*(f.get_db_prep_save(getattr(o, f.attname), connection) for f in cols), o.pk] for o in objs
    ]
    with connection.cursor() as cursor:
        for start in range(0, len(params), BATCH * 4):
            cursor.executemany(sql, params[start : start + BATCH * 4])
