"""Import and export of territory: GeoJSON and zipped Shapefile, dry run, atomic apply."""

import io
import json
import time
import zipfile

import pytest
import shapefile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation
from shapely.geometry import box, mapping

from civicgrid.conftest import X0, Y0
from civicgrid.core.errors import DomainError
from civicgrid.territory import crs as crs_module
from civicgrid.territory.io import export_territory, import_territory
from civicgrid.territory.io.writers import write_shapefile_zip
from civicgrid.territory.models import Area, Grid, MicroGrid, TerritoryVersion

FREE = box(X0 + 0.015, Y0, X0 + 0.02, Y0 + 0.02)  # community A's east strip, once A2 shrinks


@pytest.fixture(autouse=True)
def english():
    """Messages are asserted in English; the Chinese catalogue may or may not be compiled."""
    with translation.override("en"):
        yield


@pytest.fixture
def w(world):
    world.grid_a2.set_geometry(box(X0 + 0.01, Y0, X0 + 0.015, Y0 + 0.02))
    world.grid_a2.save()
    return world


def feature(code, name="名称", geom=None, **props):
    return {
        "type": "Feature",
        "properties": {"code": code, "name": name, **props},
        "geometry": mapping(geom) if geom is not None and hasattr(geom, "geom_type") else geom,
    }


def fc(*features) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features)}).encode()


def counts():
    return Area.objects.count(), Grid.objects.count(), MicroGrid.objects.count()


def version() -> int:
    row = TerritoryVersion.objects.filter(pk=1).first()
    return row.value if row else 0


def errors_by_feature(plan) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for e in plan.errors:
        out.setdefault(e.number, set()).add(e.error)
    return out


def new_community_file():
    """A new street (no boundary) with a community and two grids, children listed first."""
    comm = box(X0 + 0.02, Y0 + 0.02, X0 + 0.04, Y0 + 0.04)
    return fc(
        feature(
            "140213002001002",
            "新二网格",
            box(X0 + 0.03, Y0 + 0.02, X0 + 0.04, Y0 + 0.04),
            kind="rural",
            households=310,
            population=900,
        ),
        feature(
            "140213002001001",
            "新一网格",
            box(X0 + 0.02, Y0 + 0.02, X0 + 0.03, Y0 + 0.04),
            kind="农村网格",
            households="350",
        ),
        feature("140213002001", "新社区", comm),
        feature("140213002000", "新街道"),
    )


# --- dry run and apply -----------------------------------------------------------------------------


def test_dry_run_lists_creates_and_writes_nothing(w):
    before, v = counts(), version()
    plan = import_territory(new_community_file(), actor=w.admin, dry_run=True)
    assert plan.ok, plan.errors
    assert [(r.number, r.code, r.action) for r in plan.creates] == [
        (1, "140213002001002", "create"),
        (2, "140213002001001", "create"),
        (3, "140213002001", "create"),
        (4, "140213002000", "create"),
    ]
    assert not plan.applied
    assert counts() == before
    assert version() == v


def test_apply_creates_parents_first_from_the_same_file(w):
    v = version()
    plan = import_territory(new_community_file(), actor=w.admin, dry_run=False)
    assert plan.applied
    street = Area.objects.get(code="140213002000")
    assert (street.parent, street.level, street.boundary) == (w.dist_a, 3, None)
    comm = Area.objects.get(code="140213002001")
    assert (comm.parent, comm.level, comm.name) == (street, 4, "新社区")
    g1 = Grid.objects.get(code="140213002001001")
    assert (g1.area, g1.kind, g1.households, g1.population) == (comm, "rural", 350, 0)
    assert g1.geometry.equals(box(X0 + 0.02, Y0 + 0.02, X0 + 0.03, Y0 + 0.04))
    assert g1.min_lat == pytest.approx(Y0 + 0.02)
    assert version() == v + 1


def test_updates_list_changed_fields_and_unchanged_rows(w):
    data = export_territory(fmt="geojson", root=w.comm_a)
    doc = json.loads(data)
    a1 = next(f for f in doc["features"] if f["properties"]["code"] == w.grid_a1.code)
    a1["properties"].update(name="甲一网格（新）", households=380)
    plan = import_territory(json.dumps(doc).encode(), actor=w.operator_a)
    assert plan.ok, plan.errors
    (upd,) = plan.updates
    assert upd.code == w.grid_a1.code
    assert upd.changes == {"name": ("甲一网格", "甲一网格（新）"), "households": (400, 380)}
    assert {r.code for r in plan.unchanged} == {w.comm_a.code, w.grid_a2.code}
    v = version()
    import_territory(json.dumps(doc).encode(), actor=w.operator_a, dry_run=False)
    w.grid_a1.refresh_from_db()
    assert (w.grid_a1.name, w.grid_a1.households, w.grid_a1.population) == (
        "甲一网格（新）",
        380,
        1100,
    )
    assert version() == v  # attributes only: the spatial index stays valid


def test_geometry_update_is_shown_and_bumps_the_version(w):
    smaller = box(X0 + 0.01, Y0, X0 + 0.014, Y0 + 0.02)
    data = fc(feature(w.grid_a2.code, w.grid_a2.name, smaller))
    plan = import_territory(data, actor=w.admin)
    (upd,) = plan.updates
    assert set(upd.changes) == {"geometry"}
    v = version()
    import_territory(data, actor=w.admin, dry_run=False)
    w.grid_a2.refresh_from_db()
    assert w.grid_a2.geometry.equals(smaller)
    assert version() == v + 1


def test_a_bad_row_in_a_three_feature_file_imports_nothing(w):
    data = fc(
        feature("140213001001003", "甲三网格", FREE),
        feature("14021300100100X", "坏编码", FREE),
        feature("140213001002", "新社区"),
    )
    before, v = counts(), version()
    plan = import_territory(data, actor=w.admin, dry_run=False)
    assert not plan.applied
    assert errors_by_feature(plan) == {2: {"invalid_code"}}
    assert plan.errors[0].number == 2
    assert "15 digits" in plan.errors[0].message
    assert counts() == before
    assert version() == v


def test_every_bad_row_is_reported_with_its_number(w):
    bowtie = {
        "type": "Polygon",
        "coordinates": [
            [
                [X0 + 0.015, Y0],
                [X0 + 0.02, Y0 + 0.02],
                [X0 + 0.02, Y0],
                [X0 + 0.015, Y0 + 0.02],
                [X0 + 0.015, Y0],
            ]
        ],
    }
    data = fc(
        feature("1402130010", "短编码"),  # 1
        feature("140213001000001", "挂在街道下", FREE),  # 2: parent is a township
        feature("140213009001001", "无社区", FREE),  # 3: community missing
        feature("140213001001003", "自相交", bowtie),  # 4
        feature("140213001001004", "出界", box(X0 + 0.015, Y0, X0 + 0.03, Y0 + 0.02)),  # 5
        feature("140213001001005", "类型错", FREE, kind="suburban"),  # 6
        feature("140213001001006", "户数错", FREE, households=-5),  # 7
        feature("140213001001007", "", FREE),  # 8: no name
        feature("140213001001008", "无边界"),  # 9
        feature("140213000001", "跳级"),  # 10: township digits zero
        "not a feature",  # 11
        feature(
            "140213001001009",
            "不闭合",
            {
                "type": "Polygon",
                "coordinates": [
                    [[X0 + 0.015, Y0], [X0 + 0.02, Y0], [X0 + 0.02, Y0 + 0.02], [X0 + 0.016, Y0]]
                ],
            },
        ),
    )
    plan = import_territory(data, actor=w.admin, dry_run=False)
    assert not plan.applied
    assert errors_by_feature(plan) == {
        1: {"invalid_code"},
        2: {"parent_level"},
        3: {"parent_missing"},
        4: {"self_intersection"},
        5: {"outside_parent"},
        6: {"invalid_kind"},
        7: {"invalid_number"},
        8: {"name_required"},
        9: {"geometry_required"},
        10: {"invalid_code"},
        11: {"invalid_geojson"},
        12: {"ring_not_closed"},
    }
    self_int = next(e for e in plan.errors if e.number == 4)
    assert self_int.details["lng"] == pytest.approx(X0 + 0.0175)
    assert "Self-intersection" in self_int.message
    outside = next(e for e in plan.errors if e.number == 5)
    assert outside.details["outside_m2"] > 1_000_000
    assert Grid.objects.count() == 3


def test_self_intersection_repaired_only_with_repair(w):
    bowtie = {
        "type": "Polygon",
        "coordinates": [
            [
                [X0 + 0.015, Y0],
                [X0 + 0.02, Y0 + 0.02],
                [X0 + 0.02, Y0],
                [X0 + 0.015, Y0 + 0.02],
                [X0 + 0.015, Y0],
            ]
        ],
    }
    data = fc(feature("140213001001003", "甲三网格", bowtie))
    assert not import_territory(data, actor=w.admin, dry_run=False).applied
    plan = import_territory(data, actor=w.admin, dry_run=False, repair=True)
    assert plan.applied
    assert plan.creates[0].repaired.startswith("Self-intersection")
    assert Grid.objects.get(code="140213001001003").geometry.is_valid


def test_children_of_a_bad_parent_are_reported(w):
    data = fc(
        feature("140213002001", "新社区", {"type": "Point", "coordinates": [X0, Y0]}),
        feature("140213002001001", "新一网格", box(X0 + 0.02, Y0 + 0.02, X0 + 0.03, Y0 + 0.04)),
        feature("140213002000", "新街道"),
    )
    plan = import_territory(data, actor=w.admin)
    assert errors_by_feature(plan) == {1: {"not_polygon"}, 2: {"parent_invalid"}}


def test_parent_boundary_shrunk_in_the_file_must_still_hold_its_grids(w):
    data = fc(feature(w.comm_a.code, w.comm_a.name, box(X0, Y0, X0 + 0.01, Y0 + 0.02)))
    plan = import_territory(data, actor=w.admin)
    assert errors_by_feature(plan) == {1: {"children_outside"}}
    # ... unless the same file moves the grids inside it too.
    data = fc(
        feature(w.comm_a.code, w.comm_a.name, box(X0, Y0, X0 + 0.01, Y0 + 0.02)),
        feature(w.grid_a1.code, "甲一", box(X0, Y0, X0 + 0.005, Y0 + 0.02)),
        feature(w.grid_a2.code, "甲二", box(X0 + 0.005, Y0, X0 + 0.01, Y0 + 0.02)),
    )
    assert import_territory(data, actor=w.admin, dry_run=False).applied


# --- duplicates ------------------------------------------------------------------------------------


def test_duplicate_codes_within_the_file_refused(w):
    data = fc(
        feature("140213001001003", "甲三网格", FREE),
        feature("140213001001003", "甲三网格重复", FREE),
    )
    plan = import_territory(data, actor=w.admin, dry_run=False)
    assert errors_by_feature(plan) == {2: {"duplicate_code"}}
    assert "feature 1" in plan.errors[0].message
    assert not Grid.objects.filter(code="140213001001003").exists()


def test_duplicate_codes_against_the_database_refused_without_update(w):
    data = fc(feature(w.grid_a1.code, "甲一网格"))
    plan = import_territory(data, actor=w.admin, update_existing=False)
    assert errors_by_feature(plan) == {1: {"duplicate_code"}}
    assert "already exists" in plan.errors[0].message
    # With the default (update) the same file is an update of the existing grid.
    assert import_territory(data, actor=w.admin).ok


# --- overlaps, force, permissions ------------------------------------------------------------------

OVERLAPPING = box(X0 + 0.012, Y0, X0 + 0.02, Y0 + 0.02)


@pytest.mark.parametrize("who", ["admin", "operator_a"])
@pytest.mark.parametrize("force", [False, True])
def test_overlap_with_an_existing_sibling_refused_unless_forced_by_an_admin(w, who, force):
    data = fc(feature("140213001001003", "甲三网格", OVERLAPPING))
    plan = import_territory(data, actor=getattr(w, who), force=force, dry_run=False)
    if who == "admin" and force:
        assert plan.applied
        (o,) = plan.forced_overlaps
        assert {o["a"], o["b"]} == {"140213001001003", w.grid_a2.code}
        assert Grid.objects.filter(code="140213001001003").exists()
        return
    assert not plan.applied
    assert errors_by_feature(plan) == {1: {"overlap"}}
    err = plan.errors[0]
    assert err.details["overlaps"][0]["area_m2"] > 100_000
    if force:
        assert "administrator" in err.message
    assert not Grid.objects.filter(code="140213001001003").exists()


def test_overlap_between_two_imported_siblings_refused(w):
    data = fc(
        feature("140213002001", "新社区", box(X0 + 0.02, Y0 + 0.02, X0 + 0.04, Y0 + 0.04)),
        feature("140213002001001", "一", box(X0 + 0.02, Y0 + 0.02, X0 + 0.031, Y0 + 0.04)),
        feature("140213002001002", "二", box(X0 + 0.03, Y0 + 0.02, X0 + 0.04, Y0 + 0.04)),
        feature("140213002000", "新街道"),
    )
    plan = import_territory(data, actor=w.admin)
    assert errors_by_feature(plan) == {2: {"overlap"}, 3: {"overlap"}}


def test_existing_overlap_in_the_database_does_not_block_an_unrelated_import(w):
    w.grid_a2.set_geometry(box(X0 + 0.009, Y0, X0 + 0.015, Y0 + 0.02))  # overlaps A1 already
    w.grid_a2.save()
    plan = import_territory(fc(feature("140213001001003", "甲三", FREE)), actor=w.admin)
    assert plan.ok, plan.errors


@pytest.mark.parametrize("who", ["worker_a1", "leader_a", "handler_a", "citizen", "chief_a"])
def test_non_editors_may_not_import(w, who):
    with pytest.raises(DomainError) as exc:
        import_territory(fc(feature("140213001001003", "甲三", FREE)), actor=getattr(w, who))
    assert exc.value.code == "permission_denied"


def test_operator_may_not_import_outside_their_scope(w):
    data = fc(
        feature("140213001001003", "甲三", FREE),
        feature(w.grid_b1.code, "改乙一"),
    )
    plan = import_territory(data, actor=w.operator_a, dry_run=False)
    assert errors_by_feature(plan) == {2: {"out_of_scope"}}
    assert not Grid.objects.filter(code="140213001001003").exists()
    w.grid_b1.refresh_from_db()
    assert w.grid_b1.name == "乙一网格"


# --- file-level problems ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data,code",
    [
        (b"{not json", "invalid_geojson"),
        (b'{"type": "Polygon", "coordinates": []}', "invalid_geojson"),
        (b"[1, 2]", "invalid_geojson"),
        (
            json.dumps(
                {
                    "type": "FeatureCollection",
                    "crs": {"type": "name", "properties": {"name": "EPSG:4547"}},
                    "features": [],
                }
            ).encode(),
            "unsupported_crs",
        ),
    ],
)
def test_unreadable_geojson_refused(w, data, code):
    with pytest.raises(DomainError) as exc:
        import_territory(data, actor=w.admin, filename="x.geojson")
    assert exc.value.code == code


def shp_zip(rows, *, drop=(), prj=None, encoding="utf-8", cpg=True) -> bytes:
    """A hand-made zipped Shapefile: rows are (code, name, kind, households, geom)."""
    shp, shx, dbf = io.BytesIO(), io.BytesIO(), io.BytesIO()
    wr = shapefile.Writer(shp=shp, shx=shx, dbf=dbf, shapeType=shapefile.POLYGON, encoding=encoding)
    wr.field("CODE", "C", 17)
    wr.field("NAME", "C", 100)
    wr.field("KIND", "C", 10)
    wr.field("HOUSEHOLDS", "N", 10, 0)
    for code, name, kind, hh, geom in rows:
        wr.poly([list(geom.exterior.coords)[::-1]])
        wr.record(code, name, kind, hh)
    wr.close()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for ext, f in ((".shp", shp), (".shx", shx), (".dbf", dbf)):
            if ext not in drop:
                zf.writestr("grids/网格" + ext, f.getvalue())
        if prj is not None:
            zf.writestr("grids/网格.prj", prj)
        if cpg:
            zf.writestr("grids/网格.cpg", "UTF-8" if encoding == "utf-8" else "936")
    return buf.getvalue()


def test_shapefile_import_with_upper_case_columns(w):
    data = shp_zip([("140213001001003", "甲三网格", "urban", 333, FREE)])
    plan = import_territory(data, actor=w.admin, filename="grids.zip", dry_run=False)
    assert plan.applied, plan.errors
    g = Grid.objects.get(code="140213001001003")
    assert (g.name, g.households) == ("甲三网格", 333)
    assert g.geometry.equals(FREE)


def test_shapefile_in_gbk_without_cpg_is_decoded(w):
    data = shp_zip([("140213001001003", "甲三网格", "urban", 1, FREE)], encoding="gbk", cpg=False)
    plan = import_territory(data, actor=w.admin)  # format sniffed from the zip signature
    assert plan.ok, plan.errors
    assert plan.creates[0].name == "甲三网格"


@pytest.mark.parametrize("missing", [".dbf", ".shx", ".shp"])
def test_shapefile_zip_missing_a_member_refused(w, missing):
    data = shp_zip([("140213001001003", "甲三网格", "urban", 1, FREE)], drop=(missing,))
    with pytest.raises(DomainError) as exc:
        import_territory(data, actor=w.admin, filename="grids.zip")
    assert exc.value.code == "shapefile_incomplete"
    assert exc.value.details["missing"] == [missing]
    assert missing in exc.value.message


def test_not_a_zip_refused(w):
    with pytest.raises(DomainError) as exc:
        import_territory(b"hello", actor=w.admin, filename="grids.zip")
    assert exc.value.code == "not_a_zip"


def test_projected_shapefile_refused_with_its_crs_named(w):
    from pyproj import CRS

    prj = CRS.from_epsg(4547).to_wkt("WKT1_ESRI")
    data = shp_zip([("140213001001003", "甲三网格", "urban", 1, FREE)], prj=prj)
    with pytest.raises(DomainError) as exc:
        import_territory(data, actor=w.admin, filename="grids.zip")
    assert exc.value.code == "unsupported_crs"
    assert "Gauss-Kruger" in exc.value.message


@pytest.mark.parametrize("epsg", [4326, 4490])
def test_wgs84_and_cgcs2000_prj_accepted(w, epsg):
    from pyproj import CRS

    prj = CRS.from_epsg(epsg).to_wkt("WKT1_ESRI")
    data = shp_zip([("140213001001003", "甲三网格", "urban", 1, FREE)], prj=prj)
    assert import_territory(data, actor=w.admin, filename="grids.zip").ok


def test_gcj02_input_is_converted_to_wgs84(w):
    xs, ys = zip(*FREE.exterior.coords, strict=True)
    glat, glng = crs_module.wgs84_to_gcj02_array(ys, xs)
    shifted = {"type": "Polygon", "coordinates": [[list(p) for p in zip(glng, glat, strict=True)]]}
    assert abs(glng[0] - xs[0]) > 1e-3  # the offset is hundreds of metres
    data = fc(feature("140213001001003", "甲三网格", shifted))
    plan = import_territory(data, actor=w.admin, crs="gcj02", dry_run=False)
    assert plan.applied, plan.errors
    g = Grid.objects.get(code="140213001001003").geometry
    # Edges were densified before conversion: the same square, with points along its edges.
    assert g.hausdorff_distance(FREE) < 1e-7
    assert len(g.exterior.coords) > len(FREE.exterior.coords)


def test_unknown_crs_refused(w):
    with pytest.raises(DomainError) as exc:
        import_territory(fc(), actor=w.admin, crs="utm50")
    assert exc.value.code == "invalid_crs"


# --- export and round trips ------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["geojson", "shp"])
def test_round_trip_shows_everything_unchanged(w, fmt):
    w.grid_a1.micro_grids.create(code=w.grid_a1.code + "01", name="1号楼", households=20)
    m = w.grid_a1.micro_grids.get()
    m.set_geometry(box(X0, Y0, X0 + 0.001, Y0 + 0.001))
    m.save()
    data = export_territory(fmt=fmt)
    plan = import_territory(data, actor=w.admin, filename=f"t.{'zip' if fmt == 'shp' else 'json'}")
    assert plan.ok, plan.errors
    assert not plan.creates and not plan.updates
    assert len(plan.unchanged) == Area.objects.count() + Grid.objects.count() + 1


@pytest.mark.parametrize("fmt", ["geojson", "shp"])
def test_round_trip_recreates_a_deleted_grid_identically(w, fmt):
    data = export_territory(fmt=fmt, root=w.comm_a)
    original = w.grid_a2.geometry
    Grid.objects.filter(pk=w.grid_a2.pk).delete()
    plan = import_territory(data, actor=w.admin, dry_run=False)
    assert plan.applied, plan.errors
    assert [r.code for r in plan.creates] == [w.grid_a2.code]
    g = Grid.objects.get(code=w.grid_a2.code)
    assert (g.name, g.kind, g.households, g.population) == ("甲二网格", "urban", 400, 1100)
    assert g.geometry.equals(original)


def test_subtree_export_has_the_subtree_only(w):
    doc = json.loads(export_territory(fmt="geojson", root=w.dist_a))
    codes = [f["properties"]["code"] for f in doc["features"]]
    assert codes == ["140213000000", "140213001000", "140213001001", w.grid_a1.code, w.grid_a2.code]
    grid = doc["features"][3]["properties"]
    assert grid == {
        "code": w.grid_a1.code,
        "name": "甲一网格",
        "kind": "urban",
        "households": 400,
        "population": 1100,
    }


def test_export_is_limited_to_the_actors_scope(w):
    doc = json.loads(export_territory(fmt="geojson", actor=w.outsider_b))
    codes = {f["properties"]["code"] for f in doc["features"]}
    assert codes == {"140214000000", "140214001000", "140214001001", w.grid_b1.code}


def test_shapefile_export_members_and_attributes(w):
    data = export_territory(fmt="shp", root=w.comm_a)
    zf = zipfile.ZipFile(io.BytesIO(data))
    assert sorted(zf.namelist()) == [
        "territory.cpg",
        "territory.dbf",
        "territory.prj",
        "territory.shp",
        "territory.shx",
    ]
    r = shapefile.Reader(
        shp=io.BytesIO(zf.read("territory.shp")),
        shx=io.BytesIO(zf.read("territory.shx")),
        dbf=io.BytesIO(zf.read("territory.dbf")),
        encoding="utf-8",
    )
    recs = [rec.as_dict() for rec in r.records()]
    assert [x["code"] for x in recs] == [w.comm_a.code, w.grid_a1.code, w.grid_a2.code]
    assert recs[1]["name"] == "甲一网格" and recs[1]["households"] == 400
    assert recs[0]["households"] is None  # areas carry no household count


def test_shapefile_null_shape_keeps_the_area_boundary(w):
    # An area without boundary in the file does not erase the stored one.
    from civicgrid.territory.io.writers import ExportRow

    data = write_shapefile_zip([ExportRow({"code": w.comm_a.code, "name": "甲社区"}, None)])
    plan = import_territory(data, actor=w.admin)
    assert [r.code for r in plan.unchanged] == [w.comm_a.code]


# --- management commands ---------------------------------------------------------------------------


def test_import_command_dry_run_then_apply(w, tmp_path, capsys):
    path = tmp_path / "new.geojson"
    path.write_bytes(new_community_file())
    out = io.StringIO()
    call_command("import_territory", str(path), "--dry-run", stdout=out)
    assert "4 to create" in out.getvalue()
    assert not Area.objects.filter(code="140213002001").exists()
    out = io.StringIO()
    call_command("import_territory", str(path), "--user", "admin", stdout=out)
    assert Grid.objects.filter(code__startswith="140213002001").count() == 2


def test_import_command_reports_errors_and_exits_1(w, tmp_path):
    path = tmp_path / "bad.geojson"
    path.write_bytes(fc(feature("140213001001003", "甲三", OVERLAPPING)))
    err = io.StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("import_territory", str(path), "--user", "operator_a", "--force", stderr=err)
    assert exc.value.returncode == 1
    assert "feature 1 140213001001003: overlap" in err.getvalue()
    call_command("import_territory", str(path), "--user", "admin", "--force", stdout=io.StringIO())
    assert Grid.objects.filter(code="140213001001003").exists()


def test_import_command_bad_options(w, tmp_path):
    with pytest.raises(CommandError) as exc:
        call_command("import_territory", str(tmp_path / "nope.json"))
    assert exc.value.returncode == 2
    path = tmp_path / "x.geojson"
    path.write_bytes(fc())
    with pytest.raises(CommandError) as exc:
        call_command("import_territory", str(path), "--user", "nobody")
    assert exc.value.returncode == 2


@pytest.mark.parametrize("fmt,name", [("geojson", "out.geojson"), ("shp", "out.zip")])
def test_export_command_writes_the_subtree(w, tmp_path, fmt, name):
    path = tmp_path / name
    call_command("export_territory", str(path), "--area", w.comm_a.code, stderr=io.StringIO())
    plan = import_territory(path.read_bytes(), actor=w.admin, filename=name)
    assert [r.code for r in plan.unchanged] == [w.comm_a.code, w.grid_a1.code, w.grid_a2.code]


def test_export_command_unknown_area(w, tmp_path):
    with pytest.raises(CommandError):
        call_command("export_territory", str(tmp_path / "x.json"), "--area", "149999000000")


# --- scale -----------------------------------------------------------------------------------------


def big_file(communities: int = 200, per: int = 10) -> bytes:
    """A district's street with `communities` communities of `per` strip grids each."""
    feats = [feature("140213002000", "大街道")]  # no boundary: outside district A's box
    for c in range(communities):
        cx, cy = X0 + (c % 20) * 0.01, Y0 + 0.1 + (c // 20) * 0.01
        ccode = f"140213002{c + 1:03d}"
        feats.append(feature(ccode, f"社区{c + 1}", box(cx, cy, cx + 0.01, cy + 0.01)))
        step = 0.01 / per
        for g in range(per):
            feats.append(
                feature(
                    f"{ccode}{g + 1:03d}",
                    f"网格{g + 1}",
                    box(cx + g * step, cy, cx + (g + 1) * step, cy + 0.01),
                    households=300 + g,
                    population=900,
                )
            )
    return fc(*feats)


def test_import_of_2000_grids_is_fast_and_uses_few_queries(w, django_assert_max_num_queries):
    data = big_file()
    started = time.perf_counter()
    with django_assert_max_num_queries(120):
        plan = import_territory(data, actor=w.admin, dry_run=False)
    elapsed = time.perf_counter() - started
    assert plan.applied, plan.errors[:3]
    assert Grid.objects.filter(code__startswith="140213002").count() == 2000
    assert elapsed < 15, f"import of 2,000 grids took {elapsed:.1f}s"
    # The same file again: a dry run finds all 2,201 features unchanged.
    started = time.perf_counter()
    plan = import_territory(data, actor=w.admin)
    assert len(plan.unchanged) == 2201
    assert time.perf_counter() - started < 15


# --- admin import page -----------------------------------------------------------------------------


def upload(client, url, data: bytes, name="grids.geojson", **options):
    from django.core.files.uploadedfile import SimpleUploadedFile

    post = {"action": "upload", "crs": "wgs84", "update_existing": "on", **options}
    post["file"] = SimpleUploadedFile(name, data)
    return client.post(url, post)


IMPORT_URL = "/admin/territory/area/import/"


def test_changelists_link_to_import_and_export(w, client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", password="x"))
    for model in ("area", "grid"):
        html = client.get(f"/admin/territory/{model}/").content.decode()
        assert f"/admin/territory/{model}/import/" in html
        assert f"/admin/territory/{model}/export/?format=shp" in html


def test_admin_import_dry_run_then_confirm(w, client):
    from django.core.files.storage import default_storage

    from civicgrid.territory.io.admin_views import SESSION_KEY

    client.force_login(w.admin)
    page = client.get(IMPORT_URL)
    assert page.status_code == 200
    assert 'name="force"' in page.content.decode()  # admins may force

    r = upload(client, IMPORT_URL, new_community_file())
    html = r.content.decode()
    assert r.status_code == 200
    assert 'id="import-creates"' in html and "140213002001001" in html
    assert 'value="apply"' in html
    stored = client.session[SESSION_KEY]["path"]
    assert default_storage.exists(stored)
    assert not Area.objects.filter(code="140213002001").exists()  # a dry run only

    r = client.post(IMPORT_URL, {"action": "apply"})
    assert r.status_code == 302
    assert Grid.objects.filter(code__startswith="140213002001").count() == 2
    assert not default_storage.exists(stored)
    assert SESSION_KEY not in client.session


def test_admin_import_with_errors_lists_them_and_offers_no_apply(w, client):
    from civicgrid.territory.io.admin_views import SESSION_KEY

    client.force_login(w.admin)
    data = fc(
        feature("140213001001003", "甲三网格", FREE),
        feature("14021300100100X", "坏编码", FREE),
        feature("140213001001004", "重叠", OVERLAPPING),
    )
    html = upload(client, IMPORT_URL, data).content.decode()
    assert 'id="import-errors"' in html
    assert "invalid_code" in html and "overlap" in html
    assert 'value="apply"' not in html
    assert SESSION_KEY not in client.session
    # A crafted apply without a pending upload writes nothing.
    assert client.post(IMPORT_URL, {"action": "apply"}).status_code == 302
    assert not Grid.objects.filter(code="140213001001003").exists()


def test_admin_import_unreadable_file(w, client):
    client.force_login(w.admin)
    r = upload(client, IMPORT_URL, b"not a zip", name="grids.zip")
    assert r.status_code == 400
    assert "not_a_zip" in r.content.decode()


def test_admin_import_cancel_deletes_the_upload(w, client):
    from django.core.files.storage import default_storage

    from civicgrid.territory.io.admin_views import SESSION_KEY

    client.force_login(w.admin)
    upload(client, IMPORT_URL, new_community_file())
    stored = client.session[SESSION_KEY]["path"]
    client.post(IMPORT_URL, {"action": "cancel"})
    assert not default_storage.exists(stored)
    assert not Area.objects.filter(code="140213002001").exists()


def test_operator_import_page_has_no_force_and_force_is_ignored(w, client):
    w.operator_a.is_staff = True
    w.operator_a.save()
    client.force_login(w.operator_a)
    assert 'name="force"' not in client.get(IMPORT_URL).content.decode()
    data = fc(feature("140213001001003", "甲三网格", OVERLAPPING))
    html = upload(client, "/admin/territory/grid/import/", data, force="on").content.decode()
    assert "overlap" in html and 'value="apply"' not in html


@pytest.mark.parametrize("who", ["worker_a1", "leader_a"])
def test_non_editor_staff_cannot_open_the_import_page(w, client, who):
    user = getattr(w, who)
    user.is_staff = True
    user.save()
    client.force_login(user)
    assert client.get(IMPORT_URL).status_code == 403


def test_admin_export_download_scoped(w, client):
    w.outsider_b.is_staff = True
    w.outsider_b.save()
    from django.contrib.auth.models import Permission

    w.outsider_b.user_permissions.add(Permission.objects.get(codename="view_area"))
    client.force_login(w.outsider_b)
    r = client.get("/admin/territory/area/export/?format=geojson&area=" + w.comm_b.code)
    assert r.status_code == 200
    assert r["Content-Disposition"] == 'attachment; filename="territory-140214001001.geojson"'
    codes = [f["properties"]["code"] for f in json.loads(r.content)["features"]]
    assert codes == [w.comm_b.code, w.grid_b1.code]
    # District A is out of scope: answered like a missing area.
    r = client.get("/admin/territory/area/export/?format=shp&area=" + w.comm_a.code)
    assert r.status_code == 404
    # Without an area: everything in scope, nothing of district A.
    r = client.get("/admin/territory/area/export/?format=shp")
    assert r["Content-Type"] == "application/zip"
    plan = import_territory(r.content, actor=w.admin, filename="x.zip")
    assert {row.code for row in plan.unchanged} == {
        "140214000000",
        "140214001000",
        "140214001001",
        w.grid_b1.code,
    }


def test_numeric_codes_and_chinese_headers_are_understood(w):
    data = json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {
                        "网格编码": 140213001001003,
                        "名称": "甲三网格",
                        "户数": "280",
                        "类型": "专属网格",
                    },
                    "geometry": mapping(FREE),
                }
            ],
        },
        ensure_ascii=False,
    ).encode()
    plan = import_territory(data, actor=w.admin, dry_run=False)
    assert plan.applied, plan.errors
    g = Grid.objects.get(code="140213001001003")
    assert (g.name, g.households, g.kind) == ("甲三网格", 280, "dedicated")


def test_missing_properties_keep_stored_values(w):
    data = fc(
        {
            "type": "Feature",
            "properties": {"code": w.grid_a1.code, "households": 390},
            "geometry": None,
        }
    )
    plan = import_territory(data, actor=w.admin, dry_run=False)
    assert plan.updates[0].changes == {"households": (400, 390)}
    w.grid_a1.refresh_from_db()
    assert (w.grid_a1.name, w.grid_a1.population, w.grid_a1.households) == ("甲一网格", 1100, 390)
    assert w.grid_a1.geometry is not None
