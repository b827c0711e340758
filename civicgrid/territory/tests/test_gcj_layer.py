"""A real city's layer drawn on a Chinese web map (GCJ-02), with grids split out of communities.

A GIS "split polygon" leaves each child's vertex exactly on its parent's edge. The GCJ-02 offset
is not linear, so converting only the corners bends every long edge, and the children's vertices
end up off their parents' edges. The layer must import with zero errors, the coverage check must
then report nothing, and an export in GCJ-02 must give back the drawn coordinates within 0.5 m.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Polygon, mapping, shape
from shapely.ops import split

from civicgrid.territory import crs
from civicgrid.territory.coverage import check_all
from civicgrid.territory.io import export_territory, import_territory
from civicgrid.territory.models import Area, Grid
from civicgrid.territory.tests.factories import AreaFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def city(db):
    """The city the layer's district belongs to (no boundary of its own)."""
    return AreaFactory(code="140200000000", name="测试市")


# A district as drawn on 高德 (GCJ-02) near 大同: edges of 10–20 km.
DISTRICT = Polygon(
    [(113.18, 40.02), (113.36, 40.00), (113.42, 40.09), (113.33, 40.17), (113.20, 40.15)]
)


def cut(poly: Polygon, line: LineString) -> list[Polygon]:
    """Split like a GIS does: the cut's ends become vertices on the polygon's edges."""
    parts = sorted(split(poly, line).geoms, key=lambda p: (p.centroid.x, p.centroid.y))
    assert len(parts) == 2
    return parts


def layer() -> list[tuple[str, str, Polygon]]:
    """(code, kind, GCJ-02 polygon): district, street, 3 communities, 2–3 grids each."""
    west, rest = cut(DISTRICT, LineString([(113.26, 39.9), (113.27, 40.3)]))
    middle, east = cut(rest, LineString([(113.345, 39.9), (113.35, 40.3)]))
    rows = [
        ("140299000000", "area", DISTRICT),
        ("140299001000", "area", DISTRICT),
    ]
    communities = [west, middle, east]
    for i, community in enumerate(communities, start=1):
        code = f"140299001{i:03d}"
        rows.append((code, "area", community))
        a, b = cut(community, LineString([(113.1, 40.07 + 0.01 * i), (113.5, 40.09 + 0.01 * i)]))
        grids = [a, b]
        if i == 2:  # one community in three grids: the second cut goes through a cut piece
            grids = [a, *cut(b, LineString([(113.3, 39.9), (113.31, 40.3)]))]
        for k, g in enumerate(grids, start=1):
            rows.append((f"{code}{k:03d}", "grid", g))
    return rows


def geojson(rows) -> bytes:
    features = [
        {
            "type": "Feature",
            "properties": {"code": code, "name": f"区划{code}"}
            | ({"kind": "urban", "households": 400} if kind == "grid" else {}),
            "geometry": mapping(geom),
        }
        for code, kind, geom in rows
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def metres_between(a, b) -> float:
    """Hausdorff distance of two lng/lat geometries, in metres (locally flat)."""
    lat = math.radians(a.centroid.y)
    scale = np.array([111_320.0 * math.cos(lat), 110_540.0])
    fa = shapely.transform(a, lambda xy: xy * scale)
    fb = shapely.transform(b, lambda xy: xy * scale)
    return shapely.hausdorff_distance(fa, fb, densify=0.05)


def test_split_vertices_lie_on_their_parents_edges_as_drawn():
    rows = {code: g for code, _kind, g in layer()}
    for code, g in rows.items():
        if len(code) == 15:
            parent = rows[code[:12]].boundary
            on_edge = [p for p in g.exterior.coords if parent.distance(shapely.Point(p)) < 1e-12]
            assert len(on_edge) >= 3  # corners of the parent and the ends of the cut


def test_vertex_by_vertex_conversion_moves_children_off_their_parents(monkeypatch):
    """What the import did before: the same layer, corners only, leaves slivers of many m²."""
    monkeypatch.setattr(crs, "DENSIFY_DEGREES", 10.0)  # no edge is longer: nothing added
    rows = {code: crs.geometry_to_wgs84(g, "gcj02") for code, _k, g in layer()}
    worst = 0.0
    for code, g in rows.items():
        if len(code) == 15:
            worst = max(worst, shapely.difference(g, rows[code[:12]]).area)
    assert worst * 111_320 * 85_000 > 50  # m²; the densified import below leaves none


def test_gcj02_layer_imports_with_zero_errors_and_full_coverage():
    data = geojson(layer())
    plan = import_territory(data, actor=None, crs="gcj02", dry_run=False)
    assert plan.applied and not plan.errors, plan.errors
    assert Grid.objects.filter(code__startswith="140299").count() == 7
    reports = check_all(Area.objects.get(code="140299000000"))
    assert reports and all(r.ok for r in reports), [
        (r.code, r.overlaps, r.gaps, r.outside) for r in reports if not r.ok
    ]


@pytest.mark.parametrize("fmt", ["geojson", "shp"])
def test_gcj02_export_round_trips_within_half_a_metre(fmt):
    drawn = {code: g for code, _k, g in layer()}
    assert import_territory(geojson(layer()), actor=None, crs="gcj02", dry_run=False).applied
    data = export_territory(fmt=fmt, root=Area.objects.get(code="140299000000"), crs="gcj02")
    if fmt == "geojson":
        features = json.loads(data)["features"]
        back = {f["properties"]["code"]: shape(f["geometry"]) for f in features}
    else:
        import io
        import zipfile

        import shapefile

        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            reader = shapefile.Reader(
                shp=io.BytesIO(zf.read("territory.shp")),
                dbf=io.BytesIO(zf.read("territory.dbf")),
                encoding="utf-8",
            )
            back = {r.record["code"]: shape(r.shape.__geo_interface__) for r in reader}
    assert set(back) == set(drawn)
    worst = max(metres_between(back[code], g) for code, g in drawn.items())
    assert worst < 0.5, worst
    # and the exported file imports back as "unchanged"
    again = import_territory(data, actor=None, crs="gcj02", filename=f"t.{fmt}", dry_run=True)
    assert not again.errors, again.errors
