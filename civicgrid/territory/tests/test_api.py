"""Territory API: scope matrix over the world personas, filters, pagination, GeoJSON, locate."""

import pytest
import shapely
from shapely.geometry import Polygon, box, shape

from civicgrid.conftest import X0, Y0
from civicgrid.people.models import AdviserKind, GridAdviser, WorkerType
from civicgrid.people.tests.factories import add_member
from civicgrid.territory import crs, spatial
from civicgrid.territory.models import MicroGrid
from civicgrid.territory.tests.factories import GridFactory

API = "/api/territory"
MID_LAT = Y0 + 0.01

AREAS = {
    "city": "140200000000",
    "dist_a": "140213000000",
    "dist_b": "140214000000",
    "street_a": "140213001000",
    "street_b": "140214001000",
    "comm_a": "140213001001",
    "comm_b": "140214001001",
}
GRIDS = {"grid_a1": "140213001001001", "grid_a2": "140213001001002", "grid_b1": "140214001001001"}
DIST_A_AREAS = {"dist_a", "street_a", "comm_a"}
# Written out by hand from the personas' assignments, not computed with the scoping module.
VISIBLE_AREAS = {
    "operator_a": DIST_A_AREAS,
    "handler_a": DIST_A_AREAS,
    "leader_a": DIST_A_AREAS,
    "chief_a": {"street_a", "comm_a"},
    "worker_a1": set(),  # a grid worker's scope is their grids
    "admin": set(AREAS),
    "outsider_b": {"dist_b", "street_b", "comm_b"},
    "citizen": set(),
}
VISIBLE_GRIDS = {
    "operator_a": {"grid_a1", "grid_a2"},
    "handler_a": {"grid_a1", "grid_a2"},
    "leader_a": {"grid_a1", "grid_a2"},
    "chief_a": {"grid_a1", "grid_a2"},
    "worker_a1": {"grid_a1"},
    "admin": set(GRIDS),
    "outsider_b": {"grid_b1"},
    "citizen": set(),
}
PERSONAS = sorted(VISIBLE_AREAS)
# A point inside each world grid.
INSIDE = {
    "grid_a1": (MID_LAT, X0 + 0.005),
    "grid_a2": (MID_LAT, X0 + 0.015),
    "grid_b1": (MID_LAT, X0 + 0.03),
}


@pytest.fixture(autouse=True)
def fresh_index():
    spatial.reset()
    yield
    spatial.reset()


@pytest.fixture
def as_user(client, world):
    def login(persona: str):
        client.force_login(getattr(world, persona))
        # Messages are checked for the field's English name; the UI default is Chinese.
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        return client

    return login


def assert_error(response, status: int, code: str, field: str | None = None):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "details"}
    assert body["code"] == code
    if field is not None:
        fields = {e["field"] for e in body["details"].get("errors", [])}
        fields.add(body["details"].get("field"))
        assert field in fields, body
        assert field.lower() in body["message"].lower()


def assert_geojson_polygon(geometry: dict) -> Polygon:
    """RFC 7946: a Polygon/MultiPolygon, lng-lat positions, closed rings, exterior CCW."""
    assert geometry["type"] in ("Polygon", "MultiPolygon")
    polys = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    for rings in polys:
        for k, ring in enumerate(rings):
            assert len(ring) >= 4 and ring[0] == ring[-1]
            assert all(len(p) == 2 and -180 <= p[0] <= 180 and -90 <= p[1] <= 90 for p in ring)
            assert shapely.LinearRing(ring).is_ccw == (k == 0)
    geom = shape(geometry)
    assert geom.is_valid
    return geom


def assert_feature_collection(body: dict) -> list[dict]:
    assert body["type"] == "FeatureCollection"
    for f in body["features"]:
        assert f["type"] == "Feature"
        assert f["id"] == f["properties"]["code"]
        if f["geometry"] is not None:
            assert_geojson_polygon(f["geometry"])
    return body["features"]


# --- scope matrix ---------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
def test_area_list_shows_exactly_the_scope(as_user, persona):
    body = as_user(persona).get(f"{API}/areas").json()
    features = assert_feature_collection(body)
    assert {f["id"] for f in features} == {AREAS[k] for k in VISIBLE_AREAS[persona]}
    assert body["total"] == len(VISIBLE_AREAS[persona])


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("area", sorted(AREAS))
def test_area_detail_is_404_out_of_scope(as_user, persona, area):
    response = as_user(persona).get(f"{API}/areas/{AREAS[area]}")
    if area in VISIBLE_AREAS[persona]:
        assert response.status_code == 200
        assert response.json()["properties"]["code"] == AREAS[area]
    else:
        assert_error(response, 404, "not_found")


@pytest.mark.parametrize("persona", PERSONAS)
def test_grid_list_shows_exactly_the_scope(as_user, persona):
    body = as_user(persona).get(f"{API}/grids").json()
    features = assert_feature_collection(body)
    assert {f["id"] for f in features} == {GRIDS[k] for k in VISIBLE_GRIDS[persona]}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("grid", sorted(GRIDS))
def test_grid_detail_is_404_out_of_scope(as_user, persona, grid):
    response = as_user(persona).get(f"{API}/grids/{GRIDS[grid]}")
    if grid in VISIBLE_GRIDS[persona]:
        assert response.status_code == 200
        assert response.json()["properties"]["code"] == GRIDS[grid]
    else:
        assert_error(response, 404, "not_found")


@pytest.mark.parametrize(
    "path",
    [
        "/areas",
        f"/areas/{AREAS['city']}",
        "/grids",
        f"/grids/{GRIDS['grid_a1']}",
        "/locate?lat=40&lng=113",
    ],
)
def test_anonymous_callers_get_401(client, world, path):
    assert_error(client.get(API + path), 401, "unauthenticated")


def test_unknown_codes_answer_404(as_user):
    c = as_user("admin")
    assert_error(c.get(f"{API}/areas/149999999999"), 404, "not_found")
    assert_error(c.get(f"{API}/grids/nonsense"), 404, "not_found")


# --- areas ----------------------------------------------------------------------------------------


def test_area_filters_level_parent_and_bbox(as_user):
    c = as_user("admin")

    def codes(query):
        return [f["id"] for f in c.get(f"{API}/areas?{query}").json()["features"]]

    assert codes("level=2") == [AREAS["dist_a"], AREAS["dist_b"]]
    assert codes(f"parent={AREAS['city']}") == [AREAS["dist_a"], AREAS["dist_b"]]
    assert codes(f"parent={AREAS['dist_b']}") == [AREAS["street_b"]]
    east = f"{X0 + 0.03},{Y0 + 0.005},{X0 + 0.035},{Y0 + 0.01}"  # inside district B only
    assert codes(f"bbox={east}&level=4") == [AREAS["comm_b"]]
    assert codes(f"bbox={east}") == [AREAS[k] for k in ("city", "dist_b", "street_b", "comm_b")]


def test_area_detail_lists_children_and_grids_in_scope(as_user):
    body = as_user("operator_a").get(f"{API}/areas/{AREAS['comm_a']}").json()
    props = body["properties"]
    assert (props["level"], props["parent_code"]) == (4, AREAS["street_a"])
    assert props["grid_count"] == 2 and props["children"] == []
    assert_geojson_polygon(body["geometry"])
    props = as_user("operator_a").get(f"{API}/areas/{AREAS['dist_a']}").json()["properties"]
    assert [c["code"] for c in props["children"]] == [AREAS["street_a"]]
    # The city is out of operator_a's scope but still named as the parent of district A.
    assert props["parent_code"] == AREAS["city"]
    props = as_user("admin").get(f"{API}/areas/{AREAS['city']}").json()["properties"]
    assert props["grid_count"] == 3 and len(props["children"]) == 2


@pytest.mark.parametrize(
    "query,field",
    [
        ("level=5", "level"),
        ("level=x", "level"),
        ("bbox=1,2,3", "bbox"),
        ("bbox=113,40,112,41", "bbox"),
        ("bbox=a,b,c,d", "bbox"),
        ("limit=0", "limit"),
        ("limit=5001", "limit"),
        ("offset=-1", "offset"),
    ],
)
def test_bad_area_filters_answer_422_naming_the_field(as_user, query, field):
    response = as_user("admin").get(f"{API}/areas?{query}")
    assert response.status_code == 422
    assert_error(response, 422, response.json()["code"], field)


# --- grids ----------------------------------------------------------------------------------------


def test_grid_list_properties_and_geometry_round_trip(as_user, world):
    features = assert_feature_collection(as_user("admin").get(f"{API}/grids").json())
    a1 = next(f for f in features if f["id"] == GRIDS["grid_a1"])
    assert a1["properties"] == {
        "code": GRIDS["grid_a1"],
        "name": "甲一网格",
        "kind": "urban",
        "kind_label": a1["properties"]["kind_label"],
        "dedicated_type": "",
        "area_code": AREAS["comm_a"],
        "households": world.grid_a1.households,
        "population": world.grid_a1.population,
    }
    assert shape(a1["geometry"]).equals(world.grid_a1.geometry)


def test_grid_filters_area_kind_and_bbox(as_user, world):
    GridFactory(
        area=world.comm_b,
        code="140214001001002",
        kind="dedicated",
        dedicated_type="school",
        geom=box(X0 + 0.03, Y0 + 0.02, X0 + 0.04, Y0 + 0.03),
    )
    c = as_user("admin")

    def codes(query):
        return [f["id"] for f in c.get(f"{API}/grids?{query}").json()["features"]]

    assert codes(f"area={AREAS['dist_a']}") == [GRIDS["grid_a1"], GRIDS["grid_a2"]]
    assert codes(f"area={AREAS['comm_b']}") == [GRIDS["grid_b1"], "140214001001002"]
    assert codes(f"area={AREAS['city']}&kind=dedicated") == ["140214001001002"]
    assert codes("kind=urban") == [GRIDS["grid_a1"], GRIDS["grid_a2"], GRIDS["grid_b1"]]
    inside_a2 = f"{X0 + 0.012},{Y0 + 0.005},{X0 + 0.018},{Y0 + 0.01}"
    assert codes(f"bbox={inside_a2}") == [GRIDS["grid_a2"]]
    # Scope still applies under every filter.
    assert [
        f["id"]
        for f in as_user("outsider_b").get(f"{API}/grids?area={AREAS['dist_a']}").json()["features"]
    ] == []


@pytest.mark.parametrize(
    "query,field",
    [
        ("kind=village", "kind"),
        ("area=12345", "area"),
        ("area=140000000000", "area"),
        ("simplify=-1", "simplify"),
        ("simplify=5000", "simplify"),
        ("bbox=113,40,114", "bbox"),
        ("limit=100000", "limit"),
    ],
)
def test_bad_grid_filters_answer_422_naming_the_field(as_user, query, field):
    response = as_user("admin").get(f"{API}/grids?{query}")
    assert_error(response, 422, response.json()["code"], field)


def test_grid_list_pagination(as_user):
    c = as_user("admin")
    body = c.get(f"{API}/grids?limit=2").json()
    assert [f["id"] for f in body["features"]] == [GRIDS["grid_a1"], GRIDS["grid_a2"]]
    assert (body["total"], body["limit"], body["offset"], body["next_offset"]) == (3, 2, 0, 2)
    body = c.get(f"{API}/grids?limit=2&offset=2").json()
    assert [f["id"] for f in body["features"]] == [GRIDS["grid_b1"]]
    assert body["next_offset"] is None


def test_simplify_reduces_vertices_for_map_display(as_user, world):
    # A wiggly boundary: 400 vertices with ~1 m zig-zags along a 0.01° square.
    ring = shapely.segmentize(box(X0, Y0 + 0.02, X0 + 0.01, Y0 + 0.03).exterior, 0.0001)
    xy = shapely.get_coordinates(ring)
    xy[1:-1:2, 1] += 0.00001
    wiggly = shapely.make_valid(Polygon(xy))
    GridFactory(area=world.comm_a, code="140213001001003", geom=wiggly)
    c = as_user("admin")
    full = c.get(f"{API}/grids?area={AREAS['comm_a']}").json()["features"][2]["geometry"]
    simple = c.get(f"{API}/grids?area={AREAS['comm_a']}&simplify=5").json()["features"][2][
        "geometry"
    ]
    n_full = len(shapely.get_coordinates(shape(full)))
    n_simple = len(shapely.get_coordinates(assert_geojson_polygon(simple)))
    assert n_full > 300 and n_simple <= 10
    assert shape(simple).symmetric_difference(shape(full)).area / shape(full).area < 0.01


def test_grid_list_query_count_does_not_grow_with_grids(
    as_user, world, django_assert_max_num_queries
):
    for k in range(3, 40):
        GridFactory(
            area=world.comm_a, code=f"140213001001{k:03d}", geom=box(X0, Y0, X0 + 0.001, Y0 + 0.001)
        )
    c = as_user("operator_a")
    with django_assert_max_num_queries(6):
        body = c.get(f"{API}/grids").json()
    assert body["total"] == 39


def test_grid_detail_has_team_advisers_and_micro_grids(as_user, world):
    police = world.handler_a
    add_member(police, world.grid_a1, worker_type=WorkerType.POLICE)
    GridAdviser.objects.create(
        grid=world.grid_a1, kind=AdviserKind.LAWYER, name="李律师", phone="13800000000"
    )
    m = MicroGrid(grid=world.grid_a1, code=GRIDS["grid_a1"] + "01", name="1号楼", households=24)
    m.set_geometry(box(X0, Y0, X0 + 0.005, Y0 + 0.005))
    m.save()
    body = as_user("chief_a").get(f"{API}/grids/{GRIDS['grid_a1']}").json()
    assert_geojson_polygon(body["geometry"])
    props = body["properties"]
    assert props["area_name"] == "甲社区"
    members = {x["name"]: x["worker_type"] for x in props["members"]}
    assert members["甲一网格员"] and members["甲区城管"] == "police"
    assert [(a["kind"], a["name"]) for a in props["advisers"]] == [("lawyer", "李律师")]
    assert [(x["code"], x["households"]) for x in props["micro_grids"]] == [(m.code, 24)]
    assert_geojson_polygon(props["micro_grids"][0]["geometry"])


# --- locate ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("grid", sorted(GRIDS))
def test_locate_answers_everyone_but_out_of_scope_sees_code_and_name_only(
    as_user, world, persona, grid
):
    lat, lng = INSIDE[grid]
    body = as_user(persona).get(f"{API}/locate?lat={lat}&lng={lng}").json()
    obj = getattr(world, grid)
    assert body["found"] and body["grid_code"] == obj.code and body["grid_name"] == obj.name
    assert body["area_code"] == obj.area.code
    if grid in VISIBLE_GRIDS[persona]:
        assert body["in_scope"] is True
        assert body["grid_id"] == obj.pk and body["area_name"] == obj.area.name
    else:
        assert body["in_scope"] is False
        assert (body["grid_id"], body["area_name"], body["micro_grid_id"]) == (None, None, None)


def test_locate_micro_grid_names_only_in_scope(as_user, world):
    m = MicroGrid(grid=world.grid_a1, code=GRIDS["grid_a1"] + "01", name="1号楼")
    m.set_geometry(box(X0, Y0, X0 + 0.01, Y0 + 0.02))
    m.save()
    url = f"{API}/locate?lat={MID_LAT}&lng={X0 + 0.005}"
    body = as_user("worker_a1").get(url).json()
    assert (body["micro_grid_code"], body["micro_grid_id"], body["micro_grid_name"]) == (
        m.code,
        m.pk,
        "1号楼",
    )
    body = as_user("citizen").get(url).json()
    assert (body["micro_grid_code"], body["micro_grid_id"], body["micro_grid_name"]) == (
        m.code,
        None,
        None,
    )


def test_locate_outside_gives_the_nearest_grid_and_distance(as_user, world):
    body = as_user("citizen").get(f"{API}/locate?lat={MID_LAT}&lng={X0 - 0.006}").json()
    assert not body["found"] and body["grid_code"] is None and body["grid_name"] is None
    assert body["nearest_grid_code"] == GRIDS["grid_a1"]
    assert body["nearest_grid_name"] == "甲一网格"
    assert 505 < body["distance_m"] < 515  # 0.006° of longitude at 40.1°N ≈ 511 m


@pytest.mark.parametrize("name", ["gcj02", "bd09"])
def test_locate_converts_phone_map_coordinates(as_user, world, name):
    lat, lng = MID_LAT, X0 + 0.009
    in_lat, in_lng = crs.from_wgs84(lat, lng, name)
    body = as_user("operator_a").get(f"{API}/locate?lat={in_lat}&lng={in_lng}&crs={name}").json()
    assert body["grid_code"] == GRIDS["grid_a1"] and body["crs"] == name
    assert body["lat"] == pytest.approx(lat, abs=1e-9) and body["lng"] == pytest.approx(
        lng, abs=1e-9
    )


@pytest.mark.parametrize(
    "query,code,field",
    [
        ("lat=40.1&lng=113.3&crs=utm", "invalid_crs", "crs"),
        ("lat=91&lng=113.3", "invalid_coordinate", "lat"),
        ("lat=40.1&lng=-200", "invalid_coordinate", "lng"),
        ("lat=nan&lng=113.3", "invalid_coordinate", "lat"),
        ("lng=113.3", "validation_error", "lat"),
        ("lat=40.1", "validation_error", "lng"),
        ("lat=north&lng=113.3", "validation_error", "lat"),
    ],
)
def test_locate_bad_input_answers_422_naming_the_field(as_user, query, code, field):
    assert_error(as_user("citizen").get(f"{API}/locate?{query}"), 422, code, field)
