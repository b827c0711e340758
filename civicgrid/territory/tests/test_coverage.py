"""Coverage check: overlaps, gaps and spills with their m², tolerance, tree walk, command, admin."""

from __future__ import annotations

import io
import json
import os

import pytest
import shapely
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import translation
from pyproj import Geod
from shapely.geometry import Polygon, box
from shapely.geometry.polygon import orient

from civicgrid.core.testing import chromium
from civicgrid.territory.coverage import (
    Plane,
    area_m2,
    check_all,
    check_coverage,
    find_gaps,
    find_outside,
    find_overlaps,
)
from civicgrid.territory.tests.factories import AreaFactory, GridFactory

X0, Y0 = 113.30, 40.10
GEOD = Geod(ellps="WGS84")


@pytest.fixture(autouse=True)
def english():
    # Assertions read the English notes and command output; the default language is Chinese.
    with translation.override("en"):
        yield


def geod_m2(geom) -> float:
    """Reference area straight from pyproj.Geod (CCW exterior, so the sign is positive)."""
    area, _perimeter = GEOD.geometry_area_perimeter(orient(geom, 1.0))
    return area


def assert_close(value: float, expected: float, rel: float = 0.005) -> None:
    assert expected > 0
    assert abs(value - expected) / expected <= rel, (value, expected)


# --- area_m2 ---------------------------------------------------------------------------------------


def test_area_m2_matches_geod_for_a_one_kilometre_square():
    sq = box(X0, Y0, X0 + 0.0117, Y0 + 0.009)  # ~1 km × 1 km near Datong
    assert_close(area_m2(sq), geod_m2(sq), rel=1e-9)
    assert 0.95e6 < area_m2(sq) < 1.05e6


def test_area_m2_subtracts_holes_whatever_the_ring_orientation():
    outer = box(X0, Y0, X0 + 0.02, Y0 + 0.02)
    inner = box(X0 + 0.005, Y0 + 0.005, X0 + 0.01, Y0 + 0.01)
    expected = geod_m2(outer) - geod_m2(inner)
    for sign in (1.0, -1.0):
        holed = orient(Polygon(outer.exterior.coords, [inner.exterior.coords]), sign)
        assert_close(area_m2(holed), expected, rel=1e-6)


def test_area_m2_sums_multipolygons_and_ignores_lines():
    a, b = box(X0, Y0, X0 + 0.01, Y0 + 0.01), box(X0 + 0.02, Y0, X0 + 0.03, Y0 + 0.01)
    coll = shapely.GeometryCollection([a, b, shapely.LineString([(X0, Y0), (X0 + 1, Y0)])])
    assert_close(area_m2(coll), geod_m2(a) + geod_m2(b), rel=1e-9)
    assert area_m2(None) == 0.0
    assert area_m2(shapely.Point(X0, Y0)) == 0.0


def test_local_equal_area_plane_agrees_with_geod_far_from_its_centre():
    # The plane of a whole city is centred on the city; a grid 50 km off-centre keeps its area.
    plane = Plane(X0, Y0)
    far = box(X0 + 0.6, Y0 + 0.4, X0 + 0.61, Y0 + 0.41)
    assert_close(float(plane.area_m2(shapely.from_wkb([far.wkb]))[0]), geod_m2(far), rel=1e-5)


def test_a_sliver_of_zero_lng_lat_area_measures_zero_not_the_projection_sag():
    # Three points on one straight lng/lat line 2.3 km long (from a Voronoi overlay): measured by
    # its vertices alone, on the ellipsoid the triangle would weigh ~240 m².
    sliver = Polygon(
        [(112.5171015887852, 37.850122218154596), (112.50772505016091, 37.832185086486675),
         (112.50147763677089, 37.82023390907985)]
    )  # fmt: skip
    assert geod_m2(sliver) > 100 or geod_m2(orient(sliver, -1.0)) > 100
    assert area_m2(sliver) < 0.1
    assert float(Plane(112.5, 37.8).area_m2([sliver])[0]) < 0.1


def test_plane_areas_count_holes_multipolygons_and_nothing_for_missing():
    a = box(X0, Y0, X0 + 0.01, Y0 + 0.01)
    holed = Polygon(
        box(X0, Y0, X0 + 0.02, Y0 + 0.02).exterior.coords,
        [box(X0 + 0.005, Y0 + 0.005, X0 + 0.01, Y0 + 0.01).exterior.coords],
    )
    multi = shapely.MultiPolygon([a, box(X0 + 0.02, Y0, X0 + 0.03, Y0 + 0.01)])
    got = Plane(X0, Y0).area_m2([a, holed, multi, None, shapely.LineString([(X0, Y0), (X0, 41)])])
    assert_close(got[0], geod_m2(a), rel=1e-6)
    assert_close(got[1], area_m2(holed), rel=1e-6)
    assert_close(got[2], area_m2(multi), rel=1e-6)
    assert list(got[3:]) == [0.0, 0.0]


# --- find_overlaps ---------------------------------------------------------------------------------


def test_overlap_of_two_squares_has_the_strip_area_and_a_point_inside_it():
    a = box(X0, Y0, X0 + 0.01, Y0 + 0.01)
    b = box(X0 + 0.008, Y0, X0 + 0.018, Y0 + 0.01)  # overlaps a by a 0.002° strip
    c = box(X0 - 0.01, Y0, X0, Y0 + 0.01)  # only touches a along an edge
    found = find_overlaps([a, b, c], ["A", "B", "C"])
    assert len(found) == 1
    ov = found[0]
    strip = box(X0 + 0.008, Y0, X0 + 0.01, Y0 + 0.01)
    assert (ov.a, ov.b) == ("A", "B")
    assert_close(ov.area_m2, geod_m2(strip))
    assert strip.contains(shapely.Point(ov.lng, ov.lat))
    assert ov.geometry.equals(strip)


def test_a_grid_inside_another_is_an_overlap_of_its_whole_area():
    big = box(X0, Y0, X0 + 0.02, Y0 + 0.02)
    small = box(X0 + 0.005, Y0 + 0.005, X0 + 0.006, Y0 + 0.006)
    (ov,) = find_overlaps([big, small], ["BIG", "SMALL"])
    assert_close(ov.area_m2, geod_m2(small))


def test_an_overlap_in_two_places_is_reported_as_two_pieces():
    u = Polygon(
        [(X0, Y0), (X0 + 0.03, Y0), (X0 + 0.03, Y0 + 0.01), (X0 + 0.02, Y0 + 0.01),
         (X0 + 0.02, Y0 + 0.005), (X0 + 0.01, Y0 + 0.005), (X0 + 0.01, Y0 + 0.01),
         (X0, Y0 + 0.01)]
    )  # fmt: skip
    bar = box(X0, Y0 + 0.008, X0 + 0.03, Y0 + 0.012)
    found = find_overlaps([u, bar], ["U", "BAR"])
    assert len(found) == 2
    expected = geod_m2(box(X0, Y0 + 0.008, X0 + 0.01, Y0 + 0.01))
    for ov in found:
        assert_close(ov.area_m2, expected)
        assert ov.geometry.contains(shapely.Point(ov.lng, ov.lat))


def test_overlaps_below_the_area_tolerance_are_ignored():
    a = box(X0, Y0, X0 + 0.01, Y0 + 0.01)
    # 1e-5° ≈ 0.85 m of lng × 0.9 m of lat at the corner: about 0.77 m².
    b = box(X0 + 0.01 - 1e-5, Y0 + 0.01 - 1e-5, X0 + 0.02, Y0 + 0.02)
    assert find_overlaps([a, b], ["A", "B"]) == []
    (ov,) = find_overlaps([a, b], ["A", "B"], min_area_m2=0.1)
    assert 0.5 < ov.area_m2 < 1.0


def test_a_long_sliver_is_dropped_only_with_a_width_tolerance():
    a = box(X0, Y0, X0 + 0.01, Y0 + 0.01)
    # 2e-6° of lng ≈ 0.17 m wide, 1.1 km long: ~190 m², above the area tolerance.
    b = box(X0 + 0.01 - 2e-6, Y0, X0 + 0.02, Y0 + 0.01)
    (ov,) = find_overlaps([a, b], ["A", "B"])
    assert 150 < ov.area_m2 < 250
    assert find_overlaps([a, b], ["A", "B"], min_width_m=0.5) == []
    assert len(find_overlaps([a, b], ["A", "B"], min_width_m=0.1)) == 1


def test_find_overlaps_skips_missing_geometries_and_checks_lengths():
    a = box(X0, Y0, X0 + 0.01, Y0 + 0.01)
    assert find_overlaps([a, None, a], ["A", "X", "A2"])[0].b == "A2"
    with pytest.raises(ValueError):
        find_overlaps([a], ["A", "B"])


def test_find_overlaps_repairs_a_bow_tie_instead_of_crashing():
    bow = Polygon([(X0, Y0), (X0 + 0.01, Y0 + 0.01), (X0 + 0.01, Y0), (X0, Y0 + 0.01)])
    sq = box(X0, Y0, X0 + 0.01, Y0 + 0.01)
    found = find_overlaps([bow, sq], ["BOW", "SQ"])
    assert_close(sum(o.area_m2 for o in found), geod_m2(sq) / 2, rel=0.01)


# --- find_gaps / find_outside ----------------------------------------------------------------------


def test_gaps_are_the_uncovered_pieces_with_their_areas():
    parent = box(X0, Y0, X0 + 0.03, Y0 + 0.01)
    left = box(X0, Y0, X0 + 0.01, Y0 + 0.01)
    right = box(X0 + 0.02, Y0, X0 + 0.03, Y0 + 0.01)
    holed = Polygon(
        left.exterior.coords, [box(X0 + 0.002, Y0 + 0.002, X0 + 0.004, Y0 + 0.004).exterior.coords]
    )
    gaps = find_gaps(parent, [holed, right])
    assert len(gaps) == 2
    middle, hole = gaps  # largest first
    assert_close(middle.area_m2, geod_m2(box(X0 + 0.01, Y0, X0 + 0.02, Y0 + 0.01)))
    assert_close(hole.area_m2, geod_m2(box(X0 + 0.002, Y0 + 0.002, X0 + 0.004, Y0 + 0.004)))
    assert box(X0 + 0.002, Y0 + 0.002, X0 + 0.004, Y0 + 0.004).contains(
        shapely.Point(hole.lng, hole.lat)
    )


def test_a_parent_with_no_children_is_one_gap():
    parent = box(X0, Y0, X0 + 0.01, Y0 + 0.01)
    (gap,) = find_gaps(parent, [])
    assert_close(gap.area_m2, geod_m2(parent))


def test_exact_tiling_has_no_gaps_even_with_t_junctions_on_parallels():
    # The right half is split in two: its vertices sit on the left child's and the parent's
    # straight lng/lat edges. Projecting before the overlay would turn them into m² slivers.
    parent = box(X0, Y0, X0 + 0.024, Y0 + 0.02)
    kids = [
        box(X0, Y0, X0 + 0.012, Y0 + 0.02),
        box(X0 + 0.012, Y0, X0 + 0.024, Y0 + 0.007),
        box(X0 + 0.012, Y0 + 0.007, X0 + 0.024, Y0 + 0.02),
    ]
    assert find_gaps(parent, kids, min_area_m2=0.01) == []
    assert find_overlaps(kids, ["L", "R1", "R2"], min_area_m2=0.01) == []
    assert find_outside(parent, kids, ["L", "R1", "R2"], min_area_m2=0.01) == []


def test_outside_reports_the_part_of_a_child_beyond_its_parent():
    parent = box(X0, Y0, X0 + 0.02, Y0 + 0.01)
    spill = box(X0 + 0.01, Y0, X0 + 0.025, Y0 + 0.01)
    (out,) = find_outside(parent, [box(X0, Y0, X0 + 0.01, Y0 + 0.01), spill], ["IN", "SPILL"])
    assert out.code == "SPILL"
    assert_close(out.area_m2, geod_m2(box(X0 + 0.02, Y0, X0 + 0.025, Y0 + 0.01)))


# --- the territory tree ----------------------------------------------------------------------------


def test_the_world_city_is_fully_covered_at_every_level(world):
    reports = check_all()
    by_code = {r.code: r for r in reports}
    assert set(by_code) == {
        "140200000000", "140213000000", "140214000000", "140213001000",
        "140214001000", "140213001001", "140214001001",
    }  # fmt: skip
    assert all(r.ok for r in reports), [r.as_dict() for r in reports if not r.ok]
    comm = by_code["140213001001"]
    assert (comm.children_kind, comm.children, comm.boundary) == ("grid", 2, "polygon")
    assert comm.gaps_checked
    assert_close(comm.covered_m2, comm.area_m2, rel=1e-6)
    assert by_code["140200000000"].children_kind == "area"


def test_overlapping_grid_is_reported_with_its_codes_and_area(world):
    # Grid A2 is pushed 0.002° west over A1.
    world.grid_a2.set_geometry(box(X0 + 0.008, Y0, X0 + 0.02, Y0 + 0.02))
    world.grid_a2.save()
    report = check_coverage(world.comm_a)
    (ov,) = report.overlaps
    assert (ov.a, ov.b) == (world.grid_a1.code, world.grid_a2.code)
    assert_close(ov.area_m2, geod_m2(box(X0 + 0.008, Y0, X0 + 0.01, Y0 + 0.02)))
    assert report.gaps == [] and report.outside == []
    assert not report.ok and report.problems == 1


def test_shrunk_grid_leaves_a_gap_and_a_spilling_grid_is_outside(world):
    world.grid_a2.set_geometry(box(X0 + 0.01, Y0, X0 + 0.019, Y0 + 0.02))
    world.grid_a2.save()
    world.grid_a1.set_geometry(box(X0 - 0.001, Y0, X0 + 0.01, Y0 + 0.02))
    world.grid_a1.save()
    report = check_coverage(world.comm_a)
    (gap,) = report.gaps
    assert_close(gap.area_m2, geod_m2(box(X0 + 0.019, Y0, X0 + 0.02, Y0 + 0.02)))
    (out,) = report.outside
    assert out.code == world.grid_a1.code
    assert_close(out.area_m2, geod_m2(box(X0 - 0.001, Y0, X0, Y0 + 0.02)))
    assert report.covered_ratio == pytest.approx(0.95, abs=1e-3)


def test_parent_without_polygon_uses_the_union_of_its_children_and_skips_gaps(world):
    world.dist_a.set_geometry(None)
    world.dist_a.save()
    # A gap between the grids would be invisible here: only the level above can see it.
    report = check_coverage(world.dist_a)
    assert report.boundary == "children"
    assert not report.gaps_checked
    assert report.gaps == []
    assert any("no boundary polygon" in n for n in report.notes)
    assert_close(report.area_m2, geod_m2(box(X0, Y0, X0 + 0.02, Y0 + 0.02)), rel=1e-6)


def test_community_without_polygon_is_judged_from_its_grids_at_the_street_level(world):
    world.comm_a.set_geometry(None)
    world.comm_a.save()
    world.grid_a2.set_geometry(box(X0 + 0.01, Y0, X0 + 0.015, Y0 + 0.02))
    world.grid_a2.save()
    street = check_coverage(world.street_a)
    (gap,) = street.gaps
    assert_close(gap.area_m2, geod_m2(box(X0 + 0.015, Y0, X0 + 0.02, Y0 + 0.02)))
    comm = check_coverage(world.comm_a)
    assert comm.gaps == [] and not comm.gaps_checked


def test_community_without_grids_is_one_big_gap_and_children_without_boundary_are_listed(world):
    empty = AreaFactory(
        code="140214001002", parent=world.street_b, geom=box(X0 + 0.05, Y0, X0 + 0.06, Y0 + 0.01)
    )
    report = check_coverage(empty)
    (gap,) = report.gaps
    assert_close(gap.area_m2, geod_m2(box(X0 + 0.05, Y0, X0 + 0.06, Y0 + 0.01)))
    assert any("No children" in n for n in report.notes)

    GridFactory(area=world.comm_b, code="140214001001002")  # no boundary drawn yet
    report = check_coverage(world.comm_b)
    assert report.children_without_boundary == ["140214001001002"]
    assert report.ok


def test_area_with_neither_polygon_nor_children_reports_nothing_to_check(world):
    bare = AreaFactory(code="140214001003", parent=world.street_b)
    report = check_coverage(bare)
    assert report.ok and report.boundary == "none" and report.notes
    assert "140214001003" not in {r.code for r in check_all()}


def test_invalid_stored_boundary_is_repaired_for_the_check_only(world):
    bow = Polygon([(X0, Y0), (X0 + 0.01, Y0 + 0.02), (X0 + 0.01, Y0), (X0, Y0 + 0.02)])
    world.grid_a1.set_geometry(bow)
    world.grid_a1.save()
    report = check_coverage(world.comm_a)
    assert report.repaired == [world.grid_a1.code]
    assert report.gaps  # the bow tie leaves two triangles of A1's square uncovered
    world.grid_a1.refresh_from_db()
    assert not world.grid_a1.geometry.is_valid  # the stored data is untouched


def test_tolerance_hides_small_overlaps_in_the_tree(world):
    world.grid_a2.set_geometry(box(X0 + 0.01 - 1e-6, Y0, X0 + 0.02, Y0 + 0.02))  # 0.085 m × 2.2 km
    world.grid_a2.save()
    assert len(check_coverage(world.comm_a).overlaps) == 1
    assert check_coverage(world.comm_a, min_area_m2=500).ok
    assert check_coverage(world.comm_a, min_width_m=0.5).ok


def test_check_all_under_a_root_only_covers_its_subtree(world):
    codes = {r.code for r in check_all(world.dist_b)}
    assert codes == {"140214000000", "140214001000", "140214001001"}


def test_check_all_crosses_parents_only_for_siblings(world):
    # Grids of different communities may touch without being siblings; overlap across communities
    # shows at the street level (communities overlap) or as a spill, never as a grid pair.
    world.grid_b1.set_geometry(box(X0 + 0.019, Y0, X0 + 0.04, Y0 + 0.02))
    world.grid_b1.save()
    reports = {r.code: r for r in check_all()}
    assert reports["140214001001"].outside[0].code == world.grid_b1.code
    assert all(
        {o.a, o.b} != {world.grid_a2.code, world.grid_b1.code}
        for r in reports.values()
        for o in r.overlaps
    )


# --- management command ----------------------------------------------------------------------------


def run_command(*args):
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("coverage_check", *args, stdout=out, stderr=err)
        code = 0
    except CommandError as exc:
        code = exc.returncode
        err.write(str(exc))
    return code, out.getvalue(), err.getvalue()


def test_command_is_silent_and_exits_zero_on_a_clean_territory(world):
    code, out, _err = run_command()
    assert code == 0
    assert "OVERLAP" not in out and "0 overlaps" in out


def test_command_prints_each_problem_and_exits_one(world):
    world.grid_a2.set_geometry(box(X0 + 0.008, Y0, X0 + 0.019, Y0 + 0.02))
    world.grid_a2.save()
    code, out, err = run_command("--area", "140213000000")
    assert code == 1
    assert "2 coverage problems" in err
    lines = [ln for ln in out.splitlines() if "OVERLAP" in ln or "GAP" in ln]
    assert len(lines) == 2
    overlap = next(ln for ln in lines if "OVERLAP" in ln)
    assert world.grid_a1.code in overlap and world.grid_a2.code in overlap and "m²" in overlap


def test_command_json_lists_problems_with_area_and_location(world):
    world.grid_a2.set_geometry(box(X0 + 0.008, Y0, X0 + 0.02, Y0 + 0.02))
    world.grid_a2.save()
    code, out, _err = run_command("--json")
    assert code == 1
    doc = json.loads(out)
    assert doc["overlaps"] == 1 and doc["gaps"] == 0 and doc["ok"] is False
    (report,) = [r for r in doc["reports"] if r["overlaps"]]
    ov = report["overlaps"][0]
    assert report["code"] == "140213001001"
    assert ov["area_m2"] == pytest.approx(
        geod_m2(box(X0 + 0.008, Y0, X0 + 0.01, Y0 + 0.02)), rel=0.005
    )
    assert X0 + 0.008 < ov["lng"] < X0 + 0.01 and Y0 < ov["lat"] < Y0 + 0.02


def test_command_min_area_raises_the_tolerance(world):
    world.grid_a2.set_geometry(box(X0 + 0.01 - 1e-6, Y0, X0 + 0.02, Y0 + 0.02))  # ~190 m² overlap
    world.grid_a2.save()
    assert run_command()[0] == 1
    assert run_command("--min-area", "1000")[0] == 0


@pytest.mark.parametrize(
    "args", [["--area", "149999999999"], ["--min-area", "-1"], ["--min-width", "-2"]]
)
def test_command_bad_input_exits_two(world, args):
    code, _out, err = run_command(*args)
    assert code == 2 and err


def test_command_exit_code_from_the_command_line(world, capsys):
    from civicgrid.territory.management.commands.coverage_check import Command

    world.grid_a2.set_geometry(box(X0 + 0.008, Y0, X0 + 0.02, Y0 + 0.02))
    world.grid_a2.save()
    with pytest.raises(SystemExit) as exc:
        Command().run_from_argv(["manage.py", "coverage_check"])
    assert exc.value.code == 1
    assert "coverage problems" in capsys.readouterr().err


# --- admin page ------------------------------------------------------------------------------------


@pytest.fixture
def superuser(db):
    from civicgrid.people.tests.factories import UserFactory

    return UserFactory(username="root", is_staff=True, is_superuser=True)


def coverage_url(area):
    return reverse("admin:territory_area_coverage", args=[area.pk])


def test_admin_coverage_page_lists_problems_for_a_superuser(world, superuser, client):
    world.grid_a2.set_geometry(box(X0 + 0.008, Y0, X0 + 0.019, Y0 + 0.02))
    world.grid_a2.save()
    client.force_login(superuser)
    resp = client.get(coverage_url(world.comm_a))
    assert resp.status_code == 200
    html = resp.content.decode()
    assert world.grid_a1.code in html and world.grid_a2.code in html
    assert resp.context["report"].problems == 2
    assert "vendor/leaflet/leaflet.js" in html
    assert 'id="coverage-data"' in html  # the map's GeoJSON


def test_admin_coverage_page_takes_a_tolerance(world, superuser, client):
    world.grid_a2.set_geometry(box(X0 + 0.01 - 1e-6, Y0, X0 + 0.02, Y0 + 0.02))  # ~190 m²
    world.grid_a2.save()
    client.force_login(superuser)
    assert client.get(coverage_url(world.comm_a)).context["report"].problems == 1
    resp = client.get(coverage_url(world.comm_a), {"min_area": "1000"})
    assert resp.context["report"].ok
    resp = client.get(coverage_url(world.comm_a), {"min_area": "lots"})
    assert resp.status_code == 200 and resp.context["report"].problems == 1


def test_admin_change_page_links_to_the_coverage_page(world, superuser, client):
    client.force_login(superuser)
    resp = client.get(reverse("admin:territory_area_change", args=[world.comm_a.pk]))
    assert coverage_url(world.comm_a) in resp.content.decode()


def test_admin_action_redirects_to_the_coverage_page_of_one_area(world, superuser, client):
    client.force_login(superuser)
    resp = client.post(
        reverse("admin:territory_area_changelist"),
        {"action": "check_coverage", "_selected_action": [world.comm_a.pk]},
    )
    assert resp.status_code == 302 and resp.url == coverage_url(world.comm_a)
    resp = client.post(
        reverse("admin:territory_area_changelist"),
        {"action": "check_coverage", "_selected_action": [world.comm_a.pk, world.comm_b.pk]},
        follow=True,
    )
    messages = [str(m) for m in resp.context["messages"]]
    assert any(world.comm_a.code in m for m in messages)
    assert any(world.comm_b.code in m for m in messages)


@pytest.mark.parametrize(
    ("persona", "perm", "status"),
    [
        ("anonymous", False, 302),
        ("worker_a1", False, 302),  # not staff: sent to the admin login
        ("citizen", False, 302),
        ("admin", False, 403),  # staff, but no permission to view areas
        ("admin", True, 200),
        ("outsider_b", True, 404),  # staff with the permission, area outside their scope
    ],
)
def test_admin_coverage_page_access(world, client, persona, perm, status):
    if persona != "anonymous":
        user = getattr(world, persona)
        if perm:
            user.is_staff = True
            user.save()
            user.user_permissions.add(Permission.objects.get(codename="view_area"))
        client.force_login(user)
    resp = client.get(coverage_url(world.comm_a))
    assert resp.status_code == status
    if status == 302:
        assert reverse("admin:login") in resp.url


@pytest.mark.browser
def test_admin_coverage_map_draws_problems_and_opens_a_location(
    transactional_db, world, superuser, client, live_server, monkeypatch
):

    world.grid_a2.set_geometry(box(X0 + 0.008, Y0, X0 + 0.019, Y0 + 0.02))
    world.grid_a2.save()
    client.force_login(superuser)
    cookie = client.cookies["sessionid"]
    with chromium() as browser:
        context = browser.new_context()
        context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": live_server.url}])
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(live_server.url + coverage_url(world.comm_a))
        # Parent outline, two grids, one overlap and one gap, all as SVG paths.
        page.wait_for_function(
            "document.querySelectorAll('#coverage-map path.leaflet-interactive').length >= 5"
        )
        assert page.locator("#coverage-problems tbody tr").count() == 2
        assert page.evaluate("document.querySelector('#coverage-map').offsetHeight") > 100
        page.locator("#coverage-problems .js-show").first.click()
        page.wait_for_function(
            "document.querySelectorAll('#coverage-map path.leaflet-interactive').length >= 6"
        )
        assert errors == []
        if shot := os.environ.get("COVERAGE_SCREENSHOT"):
            page.screenshot(path=shot, full_page=True)
