"""Every write of territory: areas, grids and micro-grids, validated, in one transaction each.

Who may write: a user holding the admin or operator role whose scope covers the code (the
district/street centers draw and adjust their own grids), or ``actor=None`` for the system
(management commands run without --user, the demo generator). Overlaps with siblings are refused
unless ``force=True`` and the actor is an admin (role admin or superuser, or the system).
Any geometry change bumps the territory version in the same transaction so that every process's
spatial index is rebuilt.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from shapely.geometry.base import BaseGeometry

from civicgrid.core.errors import Conflict, DomainError, Forbidden, NotFound

from . import codes
from .coverage import find_overlaps
from .geometry import check_inside, outside_allowance_m2, outside_area, parse_geometry
from .models import Area, Grid, MicroGrid
from .spatial import bump_territory_version


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Any = _Unset()

NAME_MAX = 100
COUNT_MAX = 2_147_483_647  # PositiveIntegerField on PostgreSQL

# Chinese labels used in grid registers, accepted next to the machine values.
KIND_ALIASES = {
    "urban": Grid.Kind.URBAN,
    "城镇": Grid.Kind.URBAN,
    "城镇网格": Grid.Kind.URBAN,
    "城市": Grid.Kind.URBAN,
    "城市网格": Grid.Kind.URBAN,
    "rural": Grid.Kind.RURAL,
    "农村": Grid.Kind.RURAL,
    "农村网格": Grid.Kind.RURAL,
    "dedicated": Grid.Kind.DEDICATED,
    "专属": Grid.Kind.DEDICATED,
    "专属网格": Grid.Kind.DEDICATED,
}


# --- permissions ---------------------------------------------------------------------------------


def _editor_roles() -> tuple[str, ...]:
    from civicgrid.people.models import Role

    return (Role.ADMIN, Role.OPERATOR)


def is_territory_admin(actor) -> bool:
    """May force overlaps: the system (None), a superuser or a holder of the admin role."""
    if actor is None:
        return True
    from civicgrid.people.models import Role
    from civicgrid.people.scoping import has_role

    return bool(getattr(actor, "is_active", False)) and has_role(actor, Role.ADMIN)


def can_edit_territory(actor, code: str) -> bool:
    """The actor may write the area/grid/micro-grid with this code."""
    if actor is None:
        return True
    from civicgrid.people.scoping import in_scope

    return bool(getattr(actor, "is_authenticated", False)) and in_scope(
        actor, code, roles=_editor_roles()
    )


def require_editor(actor) -> None:
    """Refuse users holding neither the admin nor the operator role (403)."""
    if actor is None:
        return
    from civicgrid.people.scoping import has_role

    if not (getattr(actor, "is_active", False) and has_role(actor, *_editor_roles())):
        raise Forbidden(_("Only administrators and center operators may change territory."))


def check_editor(actor, code: str, what: str = "area") -> None:
    """Refuse non-editors (403) and targets outside the editor's scope (404, not disclosed)."""
    if actor is None:
        return
    require_editor(actor)
    if not can_edit_territory(actor, code):
        raise NotFound(what)


# --- field cleaning (shared with the importer: one rule, one place) -----------------------------


def clean_name(value: Any, field: str = "name") -> str:
    name = "" if value is None else str(value).strip()
    if not name:
        raise DomainError("name_required", _("The name is required."), field=field)
    if len(name) > NAME_MAX:
        raise DomainError(
            "name_too_long",
            _("The name has %(n)d characters; at most %(max)d are allowed.")
            % {"n": len(name), "max": NAME_MAX},
            field=field,
        )
    return name


def clean_kind(value: Any, field: str = "kind") -> str:
    key = "" if value is None else str(value).strip()
    kind = KIND_ALIASES.get(key.lower()) or KIND_ALIASES.get(key)
    if kind is None:
        raise DomainError(
            "invalid_kind",
            _("Grid kind %(kind)r is not one of urban, rural, dedicated.") % {"kind": key},
            field=field,
        )
    return str(kind)


def clean_count(value: Any, field: str) -> int:
    """A non-negative whole number (households, population); numeric text is accepted."""
    n: Any = value
    if isinstance(value, str):
        text = value.strip()
        try:
            n = float(text) if any(c in text for c in ".eE") else int(text)
        except ValueError:
            n = None
    if isinstance(n, bool) or not isinstance(n, int | float):
        raise DomainError(
            "invalid_number",
            _("%(field)s must be a whole number, not %(value)r.")
            % {"field": field, "value": value},
            field=field,
        )
    if isinstance(n, float):
        if not n.is_integer():
            raise DomainError(
                "invalid_number",
                _("%(field)s must be a whole number, not %(value)r.")
                % {"field": field, "value": value},
                field=field,
            )
        n = int(n)
    if n < 0 or n > COUNT_MAX:
        raise DomainError(
            "invalid_number",
            _("%(field)s must be between 0 and %(max)d, not %(value)s.")
            % {"field": field, "max": COUNT_MAX, "value": n},
            field=field,
        )
    return n


def clean_code(value: Any, field: str = "code") -> str:
    """Codes are text; integers are accepted because spreadsheets and GIS tools turn them into
    numbers (a division code never starts with 0, so nothing is lost)."""
    if isinstance(value, bool) or value is None:
        code = ""
    elif isinstance(value, int):
        code = str(value)
    elif isinstance(value, float) and value.is_integer():
        code = str(int(value))
    else:
        code = str(value).strip()
    if not code:
        raise DomainError("code_required", _("The code is required."), field=field)
    return code


def check_area_code(code: str, parent_code: str | None, parent_level: int | None) -> int:
    """Format of an area code and its fit with the parent; returns the level."""
    level = codes.area_level(code)
    expected = codes.expected_parent_code(code)
    if expected is None:
        if parent_code is not None:
            raise DomainError(
                "parent_level",
                _("Area %(code)s is a city and cannot have a parent.") % {"code": code},
                field="parent",
            )
        return level
    if parent_code is None:
        raise DomainError(
            "parent_missing",
            _("The parent area %(parent)s of %(code)s does not exist.")
            % {"parent": expected, "code": code},
            field="parent",
        )
    if parent_code != expected:
        raise DomainError(
            "code_prefix_mismatch",
            _(
                "Area code %(code)s does not match its parent %(parent)s: it must start with "
                "%(prefix)s (parent %(expected)s)."
            )
            % {
                "code": code,
                "parent": parent_code,
                "prefix": expected[: codes.PREFIX_LEN[level - 1]],
                "expected": expected,
            },
            field="code",
        )
    if parent_level is not None and parent_level != level - 1:
        raise DomainError(
            "parent_level",
            _("The parent of a level-%(level)d area must be at level %(plevel)d.")
            % {"level": level, "plevel": level - 1},
            field="parent",
        )
    return level


def check_grid_parent(code: str, area_code: str, area_level: int) -> None:
    codes.check_grid_code(code, area_code)
    if area_level != codes.VILLAGE:
        raise DomainError(
            "parent_level",
            _("Grid %(code)s must belong to a village/community, not to area %(area)s.")
            % {"code": code, "area": area_code},
            field="area",
        )


def check_grid_code_format(code: str) -> None:
    """Format of a 15-digit grid code on its own (the prefix is checked against the parent)."""
    codes.check_grid_code(code, code[:12])


def check_micro_code_format(code: str) -> None:
    codes.check_micro_code(code, code[:15])


def overlap_error(overlaps, *, label: str, forced_by_non_admin: bool) -> DomainError:
    items = [o.as_dict() for o in overlaps]
    first = overlaps[0]
    other = first.b if first.a == label else first.a
    msg = _(
        "%(code)s overlaps %(n)d sibling(s), e.g. %(other)s by %(m2).1f m² near "
        "(%(lng).6f, %(lat).6f)."
    ) % {
        "code": label,
        "n": len({o.a if o.b == label else o.b for o in overlaps}),
        "other": other,
        "m2": first.area_m2,
        "lng": first.lng,
        "lat": first.lat,
    }
    if forced_by_non_admin:
        msg += " " + _("Only an administrator may force an import or change with overlaps.")
    else:
        msg += " " + _("An administrator may force it.")
    return DomainError("overlap", msg, field="geometry", details={"overlaps": items})


# --- helpers -------------------------------------------------------------------------------------


def bump_version() -> None:
    """Invalidate every process's spatial index; call inside the writing transaction."""
    bump_territory_version()


def _geometry(value: Any, repair: bool) -> BaseGeometry | None:
    if value is None:
        return None
    return parse_geometry(value, repair=repair)


def _check_overlaps(
    qs, geom: BaseGeometry | None, label: str, *, force: bool, actor, exclude_pk=None
) -> None:
    """Refuse overlaps with siblings in ``qs`` unless an admin forces."""
    if geom is None:
        return
    x0, y0, x1, y1 = geom.bounds
    near = qs.filter(min_lng__lte=x1, max_lng__gte=x0, min_lat__lte=y1, max_lat__gte=y0)
    if exclude_pk is not None:
        near = near.exclude(pk=exclude_pk)
    rows = [(c, b) for c, b in near.values_list("code", "boundary") if b]
    if not rows:
        return
    import shapely

    siblings = shapely.from_wkb([bytes(b) for _c, b in rows])
    found = find_overlaps([geom, *siblings], [label, *[c for c, _b in rows]])
    mine = [o for o in found if label in (o.a, o.b)]
    if not mine:
        return
    if force and is_territory_admin(actor):
        return
    raise overlap_error(mine, label=label, forced_by_non_admin=force)


def _check_children_inside(parent_geom: BaseGeometry | None, parent_code: str, children) -> None:
    """After a parent's boundary changes, its children must still lie inside it."""
    if parent_geom is None:
        return
    from .coverage import area_m2

    bad = []
    for child in children:
        geom = child.geometry
        if geom is None:
            continue
        out_m2, rest = outside_area(geom, parent_geom)
        if rest is not None and out_m2 > outside_allowance_m2(area_m2(geom)):
            bad.append({"code": child.code, "outside_m2": round(out_m2, 2)})
    if bad:
        raise DomainError(
            "children_outside",
            _(
                "The new boundary of %(code)s leaves %(n)d child(ren) partly outside, e.g. "
                "%(child)s by %(m2).1f m²."
            )
            % {
                "code": parent_code,
                "n": len(bad),
                "child": bad[0]["code"],
                "m2": bad[0]["outside_m2"],
            },
            field="geometry",
            details={"children": bad},
        )


def _refuse_if_referenced(obj, what: str) -> None:
    """Refuse a delete while anything points at ``obj`` (teams, cases, micro-grids...)."""
    used = []
    for rel in obj._meta.related_objects:
        model = rel.related_model
        n = model._base_manager.filter(**{rel.field.name: obj}).count()
        if n:
            used.append({"model": str(model._meta.verbose_name_plural), "count": n})
    if used:
        raise Conflict(
            "in_use",
            _("%(what)s %(code)s is still referenced (%(refs)s); remove those first.")
            % {
                "what": what,
                "code": obj.code,
                "refs": ", ".join(f"{u['model']}: {u['count']}" for u in used),
            },
            details={"references": used},
        )


def _refuse_duplicate(model, code: str) -> None:
    if model.objects.filter(code=code).exists():
        raise Conflict(
            "duplicate_code",
            _("Code %(code)s is already used.") % {"code": code},
            field="code",
        )


# --- areas ---------------------------------------------------------------------------------------


def area_create(
    *,
    code: Any,
    name: Any,
    actor,
    parent: Area | None = None,
    geometry: Any = None,
    repair: bool = False,
    force: bool = False,
) -> Area:
    """Create an area; its parent (derived from the code if not given) must exist."""
    code = clean_code(code)
    check_editor(actor, code)
    with transaction.atomic():
        if parent is None:
            expected = codes.expected_parent_code(code)
            if expected is not None:
                # Lock the parent: concurrent creations under it are then checked one by one.
                parent = Area.objects.select_for_update().filter(code=expected).first()
        else:
            parent = Area.objects.select_for_update().get(pk=parent.pk)
        level = check_area_code(
            code, parent.code if parent else None, parent.level if parent else None
        )
        _refuse_duplicate(Area, code)
        area = Area(code=code, name=clean_name(name), level=level, parent=parent)
        geom = _geometry(geometry, repair)
        if geom is not None:
            if parent is not None:
                check_inside(geom, parent.geometry, child_label=code, parent_label=parent.code)
            _check_overlaps(
                Area.objects.filter(parent=parent), geom, code, force=force, actor=actor
            )
            area.set_geometry(geom)
        area.save()
        if geom is not None:
            bump_version()
    return area


def area_update(
    *,
    area: Area,
    actor,
    name: Any = UNSET,
    geometry: Any = UNSET,
    repair: bool = False,
    force: bool = False,
) -> Area:
    """Rename an area or change its boundary (``geometry=None`` removes it). The code is fixed."""
    check_editor(actor, area.code)
    with transaction.atomic():
        area = Area.objects.select_for_update().get(pk=area.pk)
        fields = []
        if name is not UNSET:
            area.name = clean_name(name)
            fields.append("name")
        if geometry is not UNSET:
            geom = _geometry(geometry, repair)
            if geom is not None:
                parent = area.parent
                if parent is not None:
                    check_inside(
                        geom, parent.geometry, child_label=area.code, parent_label=parent.code
                    )
                _check_overlaps(
                    Area.objects.filter(parent_id=area.parent_id),
                    geom,
                    area.code,
                    force=force,
                    actor=actor,
                    exclude_pk=area.pk,
                )
                _check_children_inside(geom, area.code, [*area.children.all(), *area.grids.all()])
            area.set_geometry(geom)
            fields += ["boundary", "min_lng", "min_lat", "max_lng", "max_lat"]
            bump_version()
        if fields:
            area.save(update_fields=[*fields, "updated_at"])
    return area


def area_delete(*, area: Area, actor) -> None:
    """Delete an area that nothing refers to (no children, grids, centers, assignments...)."""
    check_editor(actor, area.code)
    with transaction.atomic():
        area = Area.objects.select_for_update().get(pk=area.pk)
        _refuse_if_referenced(area, _("Area"))
        had_geom = area.boundary is not None
        area.delete()
        if had_geom:
            bump_version()


# --- grids ---------------------------------------------------------------------------------------


def grid_create(
    *,
    code: Any,
    name: Any,
    geometry: Any,
    actor,
    area: Area | None = None,
    kind: Any = Grid.Kind.URBAN,
    households: Any = 0,
    population: Any = 0,
    dedicated_type: str = "",
    duty: str = "",
    repair: bool = False,
    force: bool = False,
) -> Grid:
    """Create a grid in a village/community (derived from the code if ``area`` is not given)."""
    code = clean_code(code)
    check_editor(actor, code, "grid")
    with transaction.atomic():
        if area is None:
            check_grid_code_format(code)
            area = Area.objects.select_for_update().filter(code=code[:12]).first()
            if area is None:
                raise DomainError(
                    "parent_missing",
                    _("The community %(area)s of grid %(code)s does not exist.")
                    % {"area": code[:12], "code": code},
                    field="area",
                )
        else:
            area = Area.objects.select_for_update().get(pk=area.pk)
        check_grid_parent(code, area.code, area.level)
        _refuse_duplicate(Grid, code)
        grid = Grid(
            code=code,
            name=clean_name(name),
            area=area,
            kind=clean_kind(kind),
            households=clean_count(households, "households"),
            population=clean_count(population, "population"),
            dedicated_type=str(dedicated_type or "").strip()[:30],
            duty=str(duty or ""),
        )
        geom = parse_geometry(geometry, repair=repair)
        check_inside(geom, area.geometry, child_label=code, parent_label=area.code)
        _check_overlaps(Grid.objects.filter(area=area), geom, code, force=force, actor=actor)
        grid.set_geometry(geom)
        grid.save()
        bump_version()
    return grid


def grid_update(
    *,
    grid: Grid,
    actor,
    name: Any = UNSET,
    kind: Any = UNSET,
    households: Any = UNSET,
    population: Any = UNSET,
    geometry: Any = UNSET,
    dedicated_type: Any = UNSET,
    duty: Any = UNSET,
    repair: bool = False,
    force: bool = False,
) -> Grid:
    """Change a grid's attributes or boundary; the code (and so the community) is fixed."""
    check_editor(actor, grid.code, "grid")
    with transaction.atomic():
        Area.objects.select_for_update().filter(pk=grid.area_id).first()
        grid = Grid.objects.select_related("area").get(pk=grid.pk)
        fields = []
        if name is not UNSET:
            grid.name = clean_name(name)
            fields.append("name")
        if kind is not UNSET:
            grid.kind = clean_kind(kind)
            fields.append("kind")
        if households is not UNSET:
            grid.households = clean_count(households, "households")
            fields.append("households")
        if population is not UNSET:
            grid.population = clean_count(population, "population")
            fields.append("population")
        if dedicated_type is not UNSET:
            grid.dedicated_type = str(dedicated_type or "").strip()[:30]
            fields.append("dedicated_type")
        if duty is not UNSET:
            grid.duty = str(duty or "")
            fields.append("duty")
        if geometry is not UNSET:
            geom = parse_geometry(geometry, repair=repair)
            check_inside(
                geom, grid.area.geometry, child_label=grid.code, parent_label=grid.area.code
            )
            _check_overlaps(
                Grid.objects.filter(area_id=grid.area_id),
                geom,
                grid.code,
                force=force,
                actor=actor,
                exclude_pk=grid.pk,
            )
            _check_children_inside(geom, grid.code, grid.micro_grids.all())
            grid.set_geometry(geom)
            fields += ["boundary", "min_lng", "min_lat", "max_lng", "max_lat"]
            bump_version()
        if fields:
            grid.save(update_fields=[*fields, "updated_at"])
    return grid


def grid_delete(*, grid: Grid, actor) -> None:
    """Delete a grid nothing refers to: no micro-grids, team members, advisers, cases..."""
    check_editor(actor, grid.code, "grid")
    with transaction.atomic():
        grid = Grid.objects.select_for_update().get(pk=grid.pk)
        _refuse_if_referenced(grid, _("Grid"))
        grid.delete()
        bump_version()


# --- micro-grids ---------------------------------------------------------------------------------


def microgrid_create(
    *,
    code: Any,
    name: Any,
    geometry: Any,
    actor,
    grid: Grid | None = None,
    households: Any = 0,
    repair: bool = False,
    force: bool = False,
) -> MicroGrid:
    """Create a micro-grid inside its grid (derived from the code if ``grid`` is not given)."""
    code = clean_code(code)
    check_editor(actor, code, "micro-grid")
    with transaction.atomic():
        if grid is None:
            check_micro_code_format(code)
            grid = Grid.objects.select_for_update().filter(code=code[:15]).first()
            if grid is None:
                raise DomainError(
                    "parent_missing",
                    _("The grid %(grid)s of micro-grid %(code)s does not exist.")
                    % {"grid": code[:15], "code": code},
                    field="grid",
                )
        else:
            grid = Grid.objects.select_for_update().get(pk=grid.pk)
        codes.check_micro_code(code, grid.code)
        _refuse_duplicate(MicroGrid, code)
        micro = MicroGrid(
            code=code,
            name=clean_name(name),
            grid=grid,
            households=clean_count(households, "households"),
        )
        geom = parse_geometry(geometry, repair=repair)
        check_inside(geom, grid.geometry, child_label=code, parent_label=grid.code)
        _check_overlaps(MicroGrid.objects.filter(grid=grid), geom, code, force=force, actor=actor)
        micro.set_geometry(geom)
        micro.save()
        bump_version()
    return micro


def microgrid_update(
    *,
    micro_grid: MicroGrid,
    actor,
    name: Any = UNSET,
    households: Any = UNSET,
    geometry: Any = UNSET,
    repair: bool = False,
    force: bool = False,
) -> MicroGrid:
    """Change a micro-grid's name, households or boundary; the code is fixed."""
    check_editor(actor, micro_grid.code, "micro-grid")
    with transaction.atomic():
        Grid.objects.select_for_update().filter(pk=micro_grid.grid_id).first()
        micro = MicroGrid.objects.select_related("grid").get(pk=micro_grid.pk)
        fields = []
        if name is not UNSET:
            micro.name = clean_name(name)
            fields.append("name")
        if households is not UNSET:
            micro.households = clean_count(households, "households")
            fields.append("households")
        if geometry is not UNSET:
            geom = parse_geometry(geometry, repair=repair)
            check_inside(
                geom, micro.grid.geometry, child_label=micro.code, parent_label=micro.grid.code
            )
            _check_overlaps(
                MicroGrid.objects.filter(grid_id=micro.grid_id),
                geom,
                micro.code,
                force=force,
                actor=actor,
                exclude_pk=micro.pk,
            )
            micro.set_geometry(geom)
            fields += ["boundary", "min_lng", "min_lat", "max_lng", "max_lat"]
            bump_version()
        if fields:
            micro.save(update_fields=[*fields, "updated_at"])
    return micro


def microgrid_delete(*, micro_grid: MicroGrid, actor) -> None:
    check_editor(actor, micro_grid.code, "micro-grid")
    with transaction.atomic():
        micro = MicroGrid.objects.select_for_update().get(pk=micro_grid.pk)
        _refuse_if_referenced(micro, _("Micro-grid"))
        micro.delete()
        bump_version()


__all__ = [
    "UNSET",
    "area_create",
    "area_delete",
    "area_update",
    "bump_version",
    "can_edit_territory",
    "check_editor",
    "require_editor",
    "clean_code",
    "clean_count",
    "clean_kind",
    "clean_name",
    "grid_create",
    "grid_delete",
    "grid_update",
    "is_territory_admin",
    "microgrid_create",
    "microgrid_delete",
    "microgrid_update",
]
