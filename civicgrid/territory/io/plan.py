"""Dry run of an import: what would be created, updated, left unchanged, and every error.

The same rules as the services (civicgrid/territory/services.py: code format and prefix, parent
level, names, kinds, counts, polygons, inside the parent, no overlap with siblings), applied to
the whole file at once with a fixed number of queries, so that 10,000 grids are checked in
seconds. Parents may come from the same file; features are resolved in order of code length.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field as _field
from typing import Any

import numpy as np
import shapely
from django.utils.translation import gettext as _
from shapely.geometry.base import BaseGeometry

from civicgrid.core.errors import DomainError
from civicgrid.people.access import principal_scope

from .. import codes
from ..coverage import area_m2, find_overlaps
from ..geometry import outside_allowance_m2, outside_error, parse_and_check, same_geometry
from ..models import Area, Grid, MicroGrid
from ..services import (
    can_edit_territory,
    check_area_code,
    check_grid_code_format,
    check_micro_code_format,
    clean_code,
    clean_count,
    clean_kind,
    clean_name,
    is_territory_admin,
    overlap_error,
)
from .readers import RawFeature

AREA, GRID, MICRO = "area", "grid", "micro_grid"
LAYER_BY_LENGTH = {12: AREA, 15: GRID, 17: MICRO}
MODEL = {AREA: Area, GRID: Grid, MICRO: MicroGrid}
FIELDS = {
    AREA: ("name",),
    GRID: ("name", "kind", "households", "population"),
    MICRO: ("name", "households"),
}
QUERY_CHUNK = 500


@dataclass
class PlanError:
    number: int | None
    code: str
    error: str
    message: str
    field: str | None = None
    details: dict[str, Any] = _field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "feature": self.number,
            "code": self.code,
            "error": self.error,
            "message": self.message,
            "field": self.field,
            "details": self.details,
        }


@dataclass
class PlanRow:
    number: int
    code: str
    layer: str
    action: str  # create | update | unchanged
    name: str
    changes: dict[str, tuple[Any, Any]] = _field(default_factory=dict)
    repaired: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "feature": self.number,
            "code": self.code,
            "layer": self.layer,
            "action": self.action,
            "name": self.name,
            "changes": {k: [a, b] for k, (a, b) in self.changes.items()},
            "repaired": self.repaired,
        }


@dataclass
class Item:
    """One feature being resolved."""

    number: int
    code: str = ""
    layer: str = ""
    parent_code: str | None = None
    level: int | None = None
    values: dict[str, Any] = _field(default_factory=dict)
    geom: BaseGeometry | None = None  # as given in the file
    geom_given: bool = False
    repaired: str = ""
    existing: Any = None
    final_geom: BaseGeometry | None = None
    geom_changed: bool = False
    changes: dict[str, tuple[Any, Any]] = _field(default_factory=dict)
    errors: list[PlanError] = _field(default_factory=list)

    def fail(self, exc: DomainError) -> None:
        self.errors.append(
            PlanError(self.number, self.code, exc.code, exc.message, exc.field, exc.details)
        )

    @property
    def action(self) -> str:
        if self.existing is None:
            return "create"
        return "update" if self.changes else "unchanged"


@dataclass
class ImportPlan:
    rows: list[PlanRow] = _field(default_factory=list)
    errors: list[PlanError] = _field(default_factory=list)
    forced_overlaps: list[dict[str, Any]] = _field(default_factory=list)
    applied: bool = False
    items: list[Item] = _field(default_factory=list, repr=False)

    @property
    def ok(self) -> bool:
        return not self.errors

    def _by(self, action: str) -> list[PlanRow]:
        return [r for r in self.rows if r.action == action]

    @property
    def creates(self) -> list[PlanRow]:
        return self._by("create")

    @property
    def updates(self) -> list[PlanRow]:
        return self._by("update")

    @property
    def unchanged(self) -> list[PlanRow]:
        return self._by("unchanged")

    def summary(self) -> dict[str, int]:
        return {
            "features": len(self.items),
            "create": len(self.creates),
            "update": len(self.updates),
            "unchanged": len(self.unchanged),
            "errors": len(self.errors),
            "forced_overlaps": len(self.forced_overlaps),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary(),
            "applied": self.applied,
            "creates": [r.as_dict() for r in self.creates],
            "updates": [r.as_dict() for r in self.updates],
            "unchanged": [r.code for r in self.unchanged],
            "errors": [e.as_dict() for e in self.errors],
            "forced_overlaps": self.forced_overlaps,
        }


# --- helpers -------------------------------------------------------------------------------------


def _chunks(seq: list, n: int = QUERY_CHUNK) -> Iterable[list]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


def _load(model, codes_: Iterable[str], related: tuple[str, ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {}
    wanted = sorted(set(codes_))
    for chunk in _chunks(wanted):
        qs = model.objects.filter(code__in=chunk)
        if related:
            qs = qs.select_related(*related)
        out.update({o.code: o for o in qs})
    return out


def _given(props: dict[str, Any], key: str) -> bool:
    value = props.get(key)
    return value is not None and not (isinstance(value, str) and not value.strip())


def _parent_code(code: str, layer: str) -> str | None:
    if layer == AREA:
        return codes.expected_parent_code(code)
    return code[:12] if layer == GRID else code[:15]


def _m2(geom: BaseGeometry | None) -> str:
    return "—" if geom is None else f"{area_m2(geom):,.0f} m²"


# --- the plan ------------------------------------------------------------------------------------


def build_plan(
    features: list[RawFeature],
    *,
    actor,
    force: bool = False,
    repair: bool = False,
    transform=None,
    update_existing: bool = True,
) -> ImportPlan:
    """Check every feature against the file and the database; write nothing."""
    # One principal for the whole file: every feature's scope check reads it from memory.
    with principal_scope():
        return _build_plan(
            features,
            actor=actor,
            force=force,
            repair=repair,
            transform=transform,
            update_existing=update_existing,
        )


def _build_plan(features, *, actor, force, repair, transform, update_existing) -> ImportPlan:
    items = [_parse(f, actor=actor, repair=repair, transform=transform) for f in features]
    seen: dict[str, Item] = {}
    for it in items:
        if not it.code or not it.layer:
            continue
        first = seen.get(it.code)
        if first is not None:
            it.fail(
                DomainError(
                    "duplicate_code",
                    _("Code %(code)s appears twice in the file (also feature %(n)d).")
                    % {"code": it.code, "n": first.number},
                    field="code",
                )
            )
        else:
            seen[it.code] = it

    _resolve(items, seen, update_existing=update_existing)
    _check_inside(items, seen)
    forced = _check_overlaps(items, seen, force=force, actor=actor)

    plan = ImportPlan(items=items, forced_overlaps=forced)
    for it in items:
        if it.errors:
            plan.errors.extend(it.errors)
        else:
            plan.rows.append(
                PlanRow(
                    it.number,
                    it.code,
                    it.layer,
                    it.action,
                    it.values.get("name") or getattr(it.existing, "name", ""),
                    it.changes,
                    it.repaired,
                )
            )
    plan.errors.sort(key=lambda e: (e.number or 0, e.error))
    return plan


def _parse(f: RawFeature, *, actor, repair: bool, transform) -> Item:
    """Everything that can be checked on the feature alone."""
    it = Item(f.number)
    if f.error is not None:
        it.fail(f.error)
        return it
    props = f.properties
    try:
        it.code = clean_code(props.get("code"))
        it.layer = LAYER_BY_LENGTH.get(len(it.code), "")
        if it.layer == AREA:
            it.level = codes.area_level(it.code)
        elif it.layer == GRID:
            check_grid_code_format(it.code)
        elif it.layer == MICRO:
            check_micro_code_format(it.code)
        else:
            raise DomainError(
                "invalid_code",
                _("Code %(code)s must have 12 digits (area), 15 (grid) or 17 (micro-grid).")
                % {"code": it.code},
                field="code",
            )
    except DomainError as exc:
        it.fail(exc)
        it.layer = ""
        return it
    it.parent_code = _parent_code(it.code, it.layer)
    if not can_edit_territory(actor, it.code):
        it.fail(
            DomainError(
                "out_of_scope",
                _("%(code)s is outside the area you may change.") % {"code": it.code},
                field="code",
            )
        )
    for key in FIELDS[it.layer]:
        if not _given(props, key):
            continue
        try:
            if key == "name":
                it.values[key] = clean_name(props[key])
            elif key == "kind":
                it.values[key] = clean_kind(props[key])
            else:
                it.values[key] = clean_count(props[key], key)
        except DomainError as exc:
            it.fail(exc)
    if f.geometry is not None:
        try:
            it.geom, it.repaired = parse_and_check(f.geometry, repair=repair, transform=transform)
            it.geom_given = True
        except DomainError as exc:
            it.fail(exc)
            it.geom_given = True  # a broken boundary is not "keep the old one"
    return it


def _resolve(items: list[Item], in_file: dict[str, Item], *, update_existing: bool) -> None:
    """Parents, existence, required fields and changes against the database."""
    valid = [it for it in items if it.layer]
    want_areas = {it.code for it in valid if it.layer == AREA}
    want_areas |= {it.parent_code for it in valid if it.layer in (AREA, GRID) and it.parent_code}
    areas = _load(Area, want_areas)
    grids = _load(
        Grid,
        {it.code for it in valid if it.layer == GRID}
        | {it.parent_code for it in valid if it.layer == MICRO},
    )
    micros = _load(MicroGrid, {it.code for it in valid if it.layer == MICRO})
    db = {AREA: areas, GRID: grids, MICRO: micros}

    for it in sorted(valid, key=lambda i: (len(i.code), i.code)):
        it.existing = db[it.layer].get(it.code)
        if it.existing is not None and not update_existing:
            it.fail(
                DomainError(
                    "duplicate_code",
                    _("Code %(code)s already exists.") % {"code": it.code},
                    field="code",
                )
            )
            continue
        _resolve_parent(it, in_file, areas, grids)
        if it.existing is None:
            if "name" not in it.values:
                it.fail(DomainError("name_required", _("The name is required."), field="name"))
            if it.layer != AREA and not it.geom_given:
                it.fail(
                    DomainError(
                        "geometry_required",
                        _("A grid or micro-grid needs a boundary polygon."),
                        field="geometry",
                    )
                )
            if it.layer == GRID:
                it.values.setdefault("kind", Grid.Kind.URBAN)
                it.values.setdefault("households", 0)
                it.values.setdefault("population", 0)
            elif it.layer == MICRO:
                it.values.setdefault("households", 0)
            it.final_geom = it.geom
            it.geom_changed = it.geom is not None
            continue
        for key, value in it.values.items():
            old = getattr(it.existing, key)
            if old != value:
                it.changes[key] = (old, value)
        old_geom = it.existing.geometry
        if it.geom is not None and not same_geometry(old_geom, it.geom):
            it.geom_changed = True
            it.changes["geometry"] = (_m2(old_geom), _m2(it.geom))
        it.final_geom = it.geom if it.geom is not None else old_geom


def _resolve_parent(it: Item, in_file: dict[str, Item], areas: dict, grids: dict) -> None:
    pcode = it.parent_code
    if pcode is None:
        return
    parent_item = in_file.get(pcode)
    if parent_item is not None and parent_item.errors:
        it.fail(
            DomainError(
                "parent_invalid",
                _("The parent %(parent)s (feature %(n)d) has errors.")
                % {"parent": pcode, "n": parent_item.number},
                field="code",
            )
        )
        return
    parent = parent_item or (areas.get(pcode) if it.layer != MICRO else grids.get(pcode))
    try:
        if it.layer == AREA:
            check_area_code(
                it.code,
                pcode if parent is not None else None,
                parent.level if parent is not None else None,
            )
        elif it.layer == GRID:
            try:
                plevel = codes.area_level(pcode)
            except DomainError:
                plevel = None
            if plevel is not None and plevel != codes.VILLAGE:
                raise DomainError(
                    "parent_level",
                    _("Grid %(code)s must belong to a village/community; %(area)s is not one.")
                    % {"code": it.code, "area": pcode},
                    field="code",
                )
            if plevel is None or parent is None:
                raise DomainError(
                    "parent_missing",
                    _(
                        "The community %(area)s of grid %(code)s is neither in the database nor "
                        "in the file."
                    )
                    % {"area": pcode, "code": it.code},
                    field="code",
                )
        elif parent is None:
            raise DomainError(
                "parent_missing",
                _(
                    "The grid %(grid)s of micro-grid %(code)s is neither in the database nor in "
                    "the file."
                )
                % {"grid": pcode, "code": it.code},
                field="code",
            )
    except DomainError as exc:
        it.fail(exc)


def _parent_geom(it: Item, in_file: dict[str, Item], parents: dict) -> BaseGeometry | None:
    p = in_file.get(it.parent_code or "")
    if p is not None:
        return p.final_geom
    obj = parents.get(it.parent_code)
    return obj.geometry if obj is not None else None


def _check_inside(items: list[Item], in_file: dict[str, Item]) -> None:
    """Children inside parents, with the tolerance of geometry.py; both directions of change."""
    live = [it for it in items if it.layer and not it.errors]
    parent_codes = {
        it.parent_code for it in live if it.parent_code and it.parent_code not in in_file
    }
    area_parents = _load(Area, {c for c in parent_codes if len(c) == 12})
    grid_parents = _load(Grid, {c for c in parent_codes if len(c) == 15})
    parents = {**area_parents, **grid_parents}

    # (child label, child geom, parent label, parent geom, item to blame)
    checks: list[tuple[str, BaseGeometry, str, BaseGeometry, Item]] = []
    for it in live:
        if it.parent_code is None or it.final_geom is None:
            continue
        p_item = in_file.get(it.parent_code)
        parent_changed = p_item is not None and p_item.geom_changed
        if not (it.geom_changed or parent_changed):
            continue
        pg = _parent_geom(it, in_file, parents)
        if pg is not None:
            checks.append((it.code, it.final_geom, it.parent_code, pg, it))

    # Existing children, not in the file, of parents whose boundary changes in the file.
    changed_parents = [
        it for it in live if it.existing is not None and it.geom_changed and it.layer != MICRO
    ]
    if changed_parents:
        by_pk = {it.existing.pk: it for it in changed_parents}
        area_pks = [pk for pk, it in by_pk.items() if it.layer == AREA]
        grid_pks = [pk for pk, it in by_pk.items() if it.layer == GRID]
        sources = []
        for chunk in _chunks(area_pks):
            sources.append((Area.objects.filter(parent_id__in=chunk), "parent_id", AREA))
            sources.append((Grid.objects.filter(area_id__in=chunk), "area_id", AREA))
        for chunk in _chunks(grid_pks):
            sources.append((MicroGrid.objects.filter(grid_id__in=chunk), "grid_id", GRID))
        for qs, fk, _layer in sources:
            for code, pk, blob in qs.exclude(boundary=None).values_list("code", fk, "boundary"):
                if code in in_file:
                    continue
                parent_it = by_pk.get(pk)
                if parent_it is None or parent_it.final_geom is None:
                    continue
                checks.append(
                    (
                        code,
                        shapely.from_wkb(bytes(blob)),
                        parent_it.code,
                        parent_it.final_geom,
                        parent_it,
                    )
                )
    if not checks:
        return
    child_geoms = np.array([c[1] for c in checks], dtype=object)
    parent_geoms = np.array([c[3] for c in checks], dtype=object)
    shapely.prepare(parent_geoms)
    covered = shapely.covers(parent_geoms, child_geoms)
    for k in np.flatnonzero(~covered):
        label, child, plabel, pgeom, blame = checks[k]
        rest = shapely.difference(child, pgeom)
        if rest.is_empty:
            continue
        out_m2 = area_m2(rest)
        total = area_m2(child)
        if out_m2 <= outside_allowance_m2(total):
            continue
        err = outside_error(label, plabel, out_m2, total, rest)
        if blame.code != label:
            err = DomainError(
                "children_outside",
                _("The new boundary of %(code)s leaves %(child)s partly outside: %(msg)s")
                % {"code": blame.code, "child": label, "msg": err.message},
                field="geometry",
                details={**err.details, "child": label},
            )
        blame.fail(err)


def _check_overlaps(items: list[Item], in_file: dict[str, Item], *, force: bool, actor) -> list:
    """Overlaps among imported and existing siblings; refused unless an admin forces."""
    admin_force = force and is_territory_admin(actor)
    forced: list[dict[str, Any]] = []
    for layer in (AREA, GRID, MICRO):
        changed = [
            it
            for it in items
            if it.layer == layer and it.geom_changed and not it.errors and it.final_geom is not None
        ]
        if not changed:
            continue
        groups = {it.parent_code for it in changed}
        members = [
            it
            for it in items
            if it.layer == layer
            and it.parent_code in groups
            and it.final_geom is not None
            and not it.errors
        ]
        labels = [it.code for it in members]
        geoms = [it.final_geom for it in members]
        for code, blob in _db_siblings(layer, groups, in_file):
            labels.append(code)
            geoms.append(shapely.from_wkb(bytes(blob)))
        if len(geoms) < 2:
            continue
        by_item: dict[str, list] = defaultdict(list)
        for o in find_overlaps(geoms, labels):
            if _parent_code(o.a, layer) != _parent_code(o.b, layer):
                continue
            a, b = in_file.get(o.a), in_file.get(o.b)
            if not ((a and a.geom_changed) or (b and b.geom_changed)):
                continue  # an overlap already in the database is the coverage check's business
            if admin_force:
                forced.append(o.as_dict())
                continue
            for side in (a, b):
                if side is not None and side.geom_changed:
                    by_item[side.code].append(o)
        for code, found in by_item.items():
            in_file[code].fail(overlap_error(found, label=code, forced_by_non_admin=force))
    return forced


def _db_siblings(layer: str, groups: set[str | None], in_file: dict[str, Item]):
    """(code, boundary) of existing children of these parents that the file does not touch."""
    parents = sorted(g for g in groups if g)
    roots = [None] if None in groups else []
    for chunk in _chunks(parents):
        if layer == AREA:
            qs = Area.objects.filter(parent__code__in=chunk)
        elif layer == GRID:
            qs = Grid.objects.filter(area__code__in=chunk)
        else:
            qs = MicroGrid.objects.filter(grid__code__in=chunk)
        for code, blob in qs.exclude(boundary=None).values_list("code", "boundary"):
            if code not in in_file:
                yield code, blob
    if roots and layer == AREA:
        for code, blob in (
            Area.objects.filter(parent=None).exclude(boundary=None).values_list("code", "boundary")
        ):
            if code not in in_file:
                yield code, blob
