"""Import and export of areas, grids and micro-grids (GeoJSON, zipped Shapefile).

plan = import_territory(data, filename="grids.zip", actor=user, dry_run=True)
plan.summary(), plan.errors          # nothing written
plan = import_territory(data, filename="grids.zip", actor=user, dry_run=False)
plan.applied                         # all or nothing

data = export_territory(fmt="shp", root=area, actor=user)
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

from django.db import transaction

from ..services import require_editor
from .apply import apply_plan
from .plan import ImportPlan, PlanError, PlanRow, build_plan
from .readers import RawFeature, read_features, sniff_format
from .writers import export_rows, export_territory, write_geojson, write_shapefile_zip

CRS_CHOICES = ("wgs84", "gcj02", "bd09")  # as in civicgrid/territory/crs.py


def coordinate_transform(crs: str | None):
    """A function mapping a geometry given in ``crs`` to WGS-84 (edges densified); None for WGS-84."""
    from ..crs import WGS84, check_crs, geometry_to_wgs84

    name = check_crs(crs or WGS84)
    if name == WGS84:
        return None
    return lambda geom: geometry_to_wgs84(geom, name)


def _read_bytes(source: bytes | str | Path | IO[bytes]) -> tuple[bytes, str | None]:
    if isinstance(source, bytes | bytearray):
        return bytes(source), None
    if isinstance(source, str | Path):
        p = Path(source)
        return p.read_bytes(), p.name
    name = getattr(source, "name", None)
    return source.read(), str(name) if name else None


def import_territory(
    source: bytes | str | Path | IO[bytes],
    *,
    actor,
    filename: str | None = None,
    fmt: str | None = None,
    dry_run: bool = True,
    force: bool = False,
    repair: bool = False,
    crs: str | None = "wgs84",
    update_existing: bool = True,
) -> ImportPlan:
    """Check (and unless ``dry_run``, apply) a file of areas, grids and micro-grids.

    The apply is all or nothing: with any error nothing is written and ``plan.applied`` is
    False. File-level problems (unreadable file, missing .dbf, foreign projection) raise
    DomainError. ``force`` lets an admin import overlapping siblings.
    """
    require_editor(actor)
    data, name = _read_bytes(source)
    features = read_features(data, filename=filename or name, fmt=fmt)
    transform = coordinate_transform(crs)
    options: dict[str, Any] = dict(
        actor=actor,
        force=force,
        repair=repair,
        transform=transform,
        update_existing=update_existing,
    )
    if dry_run:
        return build_plan(features, **options)
    with transaction.atomic():
        # Re-checked inside the transaction that writes: what was shown in a dry run minutes ago
        # may no longer hold.
        plan = build_plan(features, **options)
        if plan.ok:
            apply_plan(plan)
            plan.applied = True
    return plan


__all__ = [
    "CRS_CHOICES",
    "ImportPlan",
    "PlanError",
    "PlanRow",
    "RawFeature",
    "export_rows",
    "export_territory",
    "import_territory",
    "read_features",
    "sniff_format",
    "write_geojson",
    "write_shapefile_zip",
]
