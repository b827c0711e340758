"""Export areas, grids and micro-grids (optionally one subtree) as GeoJSON or zipped Shapefile.

The properties are those the importer reads (code, name, kind, households, population), so an
export imported again is a no-op: every feature comes back "unchanged".
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapefile
import shapely
from shapely.geometry import mapping, polygon
from shapely.geometry.base import BaseGeometry

from ..crs import WGS84, check_crs, geometry_from_wgs84
from ..models import Area, Grid, MicroGrid

WGS84_PRJ = (
    'GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],'
    'PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]'
)
CHUNK = 2000


@dataclass
class ExportRow:
    properties: dict[str, Any]
    geometry: BaseGeometry | None


def _scoped(qs, actor):
    if actor is None:
        return qs
    from civicgrid.people.scoping import scope_filter

    return scope_filter(qs, actor)


def _geoms(blobs: list) -> np.ndarray:
    arr = np.empty(len(blobs), dtype=object)
    idx = [i for i, b in enumerate(blobs) if b]
    if idx:
        arr[idx] = shapely.from_wkb([bytes(blobs[i]) for i in idx])
    return arr


def export_rows(
    *, root: Area | None = None, actor=None, include_micro: bool = True, crs: str = WGS84
) -> Iterator[ExportRow]:
    """Areas, then grids, then micro-grids, each by code; limited to ``root``'s subtree and to
    what ``actor`` may see (``None``: everything). Geometries in ``crs`` (edges densified
    before conversion, so shared edges and vertices on a parent's edge stay where they are)."""
    crs = check_crs(crs)
    prefix = root.prefix if root is not None else ""
    layers: list[tuple[Any, tuple[str, ...]]] = [
        (Area, ("code", "name", "boundary")),
        (Grid, ("code", "name", "kind", "households", "population", "boundary")),
    ]
    if include_micro:
        layers.append((MicroGrid, ("code", "name", "households", "boundary")))
    for model, fields in layers:
        qs = _scoped(model.objects.filter(code__startswith=prefix), actor).order_by("code")
        rows = list(qs.values_list(*fields))
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            geoms = _geoms([r[-1] for r in chunk])
            for r, g in zip(chunk, geoms, strict=True):
                if g is not None and crs != WGS84:
                    g = geometry_from_wgs84(g, crs)
                yield ExportRow(dict(zip(fields[:-1], r[:-1], strict=True)), g)


def write_geojson(rows) -> bytes:
    """A FeatureCollection; coordinates keep full double precision so a round trip is exact."""
    out = io.StringIO()
    out.write('{"type":"FeatureCollection","features":[')
    first = True
    for row in rows:
        if not first:
            out.write(",\n")
        first = False
        geom = "null" if row.geometry is None else shapely.to_geojson(row.geometry)
        props = json.dumps(row.properties, ensure_ascii=False)
        out.write(f'{{"type":"Feature","properties":{props},"geometry":{geom}}}')
    out.write("]}\n")
    return out.getvalue().encode("utf-8")


def _shp_parts(geom: BaseGeometry) -> list[list[tuple[float, float]]]:
    """Rings in Shapefile order: each exterior clockwise followed by its holes anticlockwise."""
    rings: list[list[tuple[float, float]]] = []
    for poly in shapely.get_parts(geom):
        poly = polygon.orient(poly, sign=-1.0)
        rings.append([tuple(c) for c in poly.exterior.coords])
        rings.extend([tuple(c) for c in r.coords] for r in poly.interiors)
    return rings


def write_shapefile_zip(rows, basename: str = "territory") -> bytes:
    """A zip with .shp/.shx/.dbf/.prj/.cpg; attributes in UTF-8 (declared in the .cpg)."""
    shp, shx, dbf = io.BytesIO(), io.BytesIO(), io.BytesIO()
    w = shapefile.Writer(shp=shp, shx=shx, dbf=dbf, shapeType=shapefile.POLYGON, encoding="utf-8")
    w.field("code", "C", 17)
    # DBF sizes are bytes: 254 holds 84 Chinese characters in UTF-8.
    w.field("name", "C", 254)
    w.field("kind", "C", 10)
    w.field("households", "N", 10, 0)
    w.field("population", "N", 10, 0)
    for row in rows:
        p = row.properties
        if row.geometry is None or row.geometry.is_empty:
            w.null()
        else:
            w.poly(_shp_parts(row.geometry))
        w.record(
            p["code"], p["name"], p.get("kind") or "", p.get("households"), p.get("population")
        )
    w.close()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{basename}.shp", shp.getvalue())
        zf.writestr(f"{basename}.shx", shx.getvalue())
        zf.writestr(f"{basename}.dbf", dbf.getvalue())
        zf.writestr(f"{basename}.prj", WGS84_PRJ)
        zf.writestr(f"{basename}.cpg", "UTF-8")
    return buf.getvalue()


def export_territory(
    *,
    fmt: str = "geojson",
    root: Area | None = None,
    actor=None,
    include_micro: bool = True,
    crs: str = WGS84,
) -> bytes:
    """The file's bytes in the given format ('geojson' or 'shp'), coordinates in ``crs``.

    GCJ-02 and BD-09 have no EPSG code: a Shapefile in them carries the WGS-84 .prj (as Chinese
    GIS tools write it) and is imported back with the same ``crs``.
    """
    rows = export_rows(root=root, actor=actor, include_micro=include_micro, crs=crs)
    if fmt == "geojson":
        return write_geojson(rows)
    if fmt in ("shp", "shapefile", "zip"):
        return write_shapefile_zip(rows)
    raise ValueError(f"unknown export format {fmt!r}")


__all__ = [
    "ExportRow",
    "export_rows",
    "export_territory",
    "mapping",
    "write_geojson",
    "write_shapefile_zip",
]
