"""Parsing and validating boundary polygons."""

import json

import pytest
import shapely
from django.utils import translation
from shapely.geometry import Polygon, box, mapping

from civicgrid.core.errors import DomainError
from civicgrid.territory.coverage import area_m2
from civicgrid.territory.geometry import (
    OUTSIDE_RATIO,
    check_inside,
    parse_and_check,
    parse_geometry,
    same_geometry,
)

X0, Y0 = 113.30, 40.10
SQUARE = box(X0, Y0, X0 + 0.01, Y0 + 0.01)
# A bow-tie: the two diagonals cross at the centre.
BOWTIE = [[X0, Y0], [X0 + 0.01, Y0 + 0.01], [X0 + 0.01, Y0], [X0, Y0 + 0.01], [X0, Y0]]


@pytest.fixture(autouse=True)
def english():
    """Messages are asserted in English; the Chinese catalogue may or may not be compiled."""
    with translation.override("en"):
        yield


def code_of(value, **kw):
    with pytest.raises(DomainError) as exc:
        parse_geometry(value, **kw)
    return exc.value


@pytest.mark.parametrize(
    "value",
    [
        mapping(SQUARE),
        json.dumps(mapping(SQUARE)),
        SQUARE.wkt,
        shapely.to_wkb(SQUARE),
        {"type": "Feature", "properties": {}, "geometry": mapping(SQUARE)},
        SQUARE,
    ],
    ids=["geojson-dict", "geojson-text", "wkt", "wkb", "feature", "shapely"],
)
def test_parse_accepts_geojson_wkt_wkb_and_shapely(value):
    geom = parse_geometry(value)
    assert geom.geom_type == "Polygon"
    assert geom.equals(SQUARE)


def test_parse_accepts_multipolygon_and_drops_z():
    mp = {
        "type": "MultiPolygon",
        "coordinates": [
            [[[X0, Y0, 5], [X0 + 0.01, Y0, 5], [X0 + 0.01, Y0 + 0.01, 5], [X0, Y0, 5]]],
            [[[X0 + 0.02, Y0], [X0 + 0.03, Y0], [X0 + 0.03, Y0 + 0.01], [X0 + 0.02, Y0]]],
        ],
    }
    geom = parse_geometry(mp)
    assert geom.geom_type == "MultiPolygon"
    assert not geom.has_z


@pytest.mark.parametrize(
    "value",
    [
        {"type": "Point", "coordinates": [X0, Y0]},
        {"type": "LineString", "coordinates": [[X0, Y0], [X0 + 1, Y0]]},
        f"POINT ({X0} {Y0})",
        {"type": "GeometryCollection", "geometries": []},
    ],
)
def test_non_polygon_refused(value):
    assert code_of(value).code == "not_polygon"


@pytest.mark.parametrize("value", ["POLYGON EMPTY", {"type": "Polygon", "coordinates": []}])
def test_empty_polygon_refused(value):
    assert code_of(value).code == "empty_geometry"


@pytest.mark.parametrize("value", [None, "", "   "])
def test_missing_geometry_refused(value):
    assert code_of(value).code == "geometry_required"


def test_unclosed_ring_refused_in_geojson_and_wkt():
    ring = [[X0, Y0], [X0 + 0.01, Y0], [X0 + 0.01, Y0 + 0.01], [X0, Y0 + 0.01]]
    err = code_of({"type": "Polygon", "coordinates": [ring]})
    assert err.code == "ring_not_closed"
    assert err.field == "geometry"
    assert code_of(
        f"POLYGON (({X0} {Y0}, {X0 + 1} {Y0}, {X0 + 1} {Y0 + 1}, {X0} {Y0 + 1}))"
    ).code == ("ring_not_closed")


def test_too_few_points_refused():
    ring = [[X0, Y0], [X0 + 0.01, Y0], [X0, Y0]]
    assert code_of({"type": "Polygon", "coordinates": [ring]}).code == "too_few_points"
    assert code_of(f"POLYGON (({X0} {Y0}, {X0 + 1} {Y0}, {X0} {Y0}))").code == "too_few_points"


@pytest.mark.parametrize(
    "point",
    [[500000.0, 4440000.0], [X0, 95.0], [-181.0, Y0], [float("nan"), Y0]],
    ids=["projected-metres", "lat>90", "lng<-180", "nan"],
)
def test_coordinates_out_of_range_refused(point):
    ring = [point, [X0 + 0.01, Y0], [X0 + 0.01, Y0 + 0.01], point]
    err = code_of({"type": "Polygon", "coordinates": [ring]})
    assert err.code in ("coordinates_out_of_range", "invalid_geojson")
    if point[0] == point[0]:  # not NaN: JSON-like numbers reach the range check
        assert err.code == "coordinates_out_of_range"
        assert "longitude" in err.message


def test_non_numeric_position_refused():
    ring = [["a", Y0], [X0 + 0.01, Y0], [X0 + 0.01, Y0 + 0.01], ["a", Y0]]
    assert code_of({"type": "Polygon", "coordinates": [ring]}).code == "invalid_geojson"


def test_unreadable_text_refused():
    assert code_of("{not json").code == "invalid_geojson"
    assert code_of("POLYGON ((1 2, 3").code == "invalid_wkt"


def test_self_intersection_refused_with_location():
    err = code_of({"type": "Polygon", "coordinates": [BOWTIE]})
    assert err.code == "self_intersection"
    assert "Self-intersection" in err.message
    assert err.details["lng"] == pytest.approx(X0 + 0.005)
    assert err.details["lat"] == pytest.approx(Y0 + 0.005)


def test_self_intersection_repaired_only_on_request():
    geom, reason = parse_and_check({"type": "Polygon", "coordinates": [BOWTIE]}, repair=True)
    assert reason.startswith("Self-intersection")
    assert geom.is_valid
    assert geom.geom_type == "MultiPolygon"
    # The two triangles of the bow-tie: half of the square.
    assert area_m2(geom) == pytest.approx(area_m2(SQUARE) / 2, rel=1e-3)


def test_hole_outside_shell_is_invalid_and_repair_gives_a_valid_polygon():
    poly = Polygon(
        SQUARE.exterior.coords,
        [[(X0 + 0.02, Y0), (X0 + 0.03, Y0), (X0 + 0.03, Y0 + 0.01), (X0 + 0.02, Y0)]],
    )
    err = code_of(poly.wkt)
    assert err.code == "invalid_geometry"
    assert "Hole lies outside shell" in err.message
    fixed = parse_geometry(poly.wkt, repair=True)
    assert fixed.is_valid
    assert fixed.covers(SQUARE)


def test_overlapping_holes_repaired_as_one_hole():
    outer = box(X0, Y0, X0 + 0.04, Y0 + 0.04)
    h1 = box(X0 + 0.01, Y0 + 0.01, X0 + 0.02, Y0 + 0.02)
    h2 = box(X0 + 0.015, Y0 + 0.015, X0 + 0.03, Y0 + 0.03)
    poly = Polygon(outer.exterior.coords, [h1.exterior.coords, h2.exterior.coords])
    assert code_of(poly.wkt).code == "self_intersection"
    fixed = parse_geometry(poly.wkt, repair=True)
    assert fixed.equals(outer.difference(h1.union(h2)))


def test_repair_drops_collapsed_spikes():
    spike = Polygon(
        [
            (X0, Y0),
            (X0 + 0.02, Y0),
            (X0 + 0.02, Y0 + 0.02),
            (X0 + 0.01, Y0 + 0.02),
            (X0 + 0.01, Y0 + 0.03),
            (X0 + 0.01, Y0 + 0.02),
            (X0, Y0 + 0.02),
        ]
    )
    assert code_of(spike.wkt).code == "self_intersection"
    fixed = parse_geometry(spike.wkt, repair=True)
    assert fixed.geom_type in ("Polygon", "MultiPolygon")
    assert fixed.equals(box(X0, Y0, X0 + 0.02, Y0 + 0.02))


def test_child_inside_parent_passes():
    check_inside(box(X0, Y0, X0 + 0.005, Y0 + 0.005), SQUARE, child_label="c", parent_label="p")


def test_child_without_parent_boundary_passes():
    check_inside(SQUARE, None, child_label="c", parent_label="p")


def test_child_outside_parent_refused_with_area_and_location():
    # 10 % of the child sticks out east of the parent.
    child = box(X0 + 0.001, Y0, X0 + 0.011, Y0 + 0.01)
    with pytest.raises(DomainError) as exc:
        check_inside(child, SQUARE, child_label="140213001001009", parent_label="140213001001")
    err = exc.value
    assert err.code == "outside_parent"
    expected = area_m2(box(X0 + 0.01, Y0, X0 + 0.011, Y0 + 0.01))
    assert err.details["outside_m2"] == pytest.approx(expected, rel=1e-3)
    assert err.details["outside_percent"] == pytest.approx(10.0, rel=1e-2)
    assert X0 + 0.01 < err.details["lng"] < X0 + 0.011
    assert "140213001001009" in err.message and "m²" in err.message


def test_sliver_within_tolerance_is_accepted():
    # 0.1 % outside (a ~1 m sliver along an 1.1 km edge): digitising noise, accepted.
    child = box(X0 + 0.00001, Y0, X0 + 0.01001, Y0 + 0.01)
    outside = area_m2(box(X0 + 0.01, Y0, X0 + 0.01001, Y0 + 0.01))
    assert outside > 1.0
    assert outside < OUTSIDE_RATIO * area_m2(child)
    check_inside(child, SQUARE, child_label="c", parent_label="p")


def test_same_geometry_ignores_ring_start_and_orientation():
    a = SQUARE
    b = shapely.geometry.polygon.orient(SQUARE, sign=-1.0)
    c = Polygon(list(SQUARE.exterior.coords)[2:-1] + list(SQUARE.exterior.coords)[:3])
    assert same_geometry(a, b)
    assert same_geometry(a, c)
    assert not same_geometry(a, box(X0, Y0, X0 + 0.01, Y0 + 0.011))
    assert same_geometry(None, None)
    assert not same_geometry(a, None)
