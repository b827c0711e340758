"""Locate: inside, border rule, micro-grids, nearest grid, CRS input, and index freshness.

World grids (conftest): A1 = [X0, X0+.01], A2 = [X0+.01, X0+.02], B1 = [X0+.02, X0+.04] in lng,
all [Y0, Y0+.02] in lat.
"""

import numpy as np
import pytest
import shapely
from django.db import connection, transaction
from django.db.models import F
from django_tasks import task
from pyproj import Geod
from shapely.geometry import box

from civicgrid.conftest import X0, Y0
from civicgrid.core.errors import DomainError
from civicgrid.territory import crs, spatial
from civicgrid.territory.models import Grid, MicroGrid, TerritoryVersion
from civicgrid.territory.spatial import (
    bump_territory_version,
    ensure_fresh,
    locate,
    locate_many,
    nearest_grid,
)
from civicgrid.territory.tests.factories import AreaFactory, GridFactory

GEOD = Geod(ellps="WGS84")
MID_LAT = Y0 + 0.01


@pytest.fixture(autouse=True)
def fresh_index():
    spatial.reset()
    yield
    spatial.reset()


def independent_distance_m(lat: float, lng: float, polygon) -> float:
    """Geodesic distance to a polygon by brute force: its boundary sampled every ~10 cm."""
    ring = shapely.segmentize(polygon.exterior, 1e-6)
    xy = shapely.get_coordinates(ring)
    _a, _b, d = GEOD.inv(np.full(len(xy), lng), np.full(len(xy), lat), xy[:, 0], xy[:, 1])
    return float(d.min())


def micro(grid: Grid, serial: str, geom) -> MicroGrid:
    m = MicroGrid(grid=grid, code=grid.code + serial, name=f"{serial}号楼")
    m.set_geometry(geom)
    m.save()
    return m


def other_process_moves(grid: Grid, new_geom) -> None:
    """What another process does: write the row and bump the version, no signal in this one."""
    xmin, ymin, xmax, ymax = new_geom.bounds
    Grid.objects.filter(pk=grid.pk).update(
        boundary=shapely.to_wkb(new_geom),
        min_lng=xmin,
        min_lat=ymin,
        max_lng=xmax,
        max_lat=ymax,
    )
    if not TerritoryVersion.objects.filter(pk=1).update(value=F("value") + 1):
        TerritoryVersion.objects.create(pk=1, value=1)


# --- inside, border, micro-grid ---------------------------------------------------------------


def test_point_inside_a_grid(world):
    r = locate(MID_LAT, X0 + 0.015)
    assert r.found
    assert (r.grid_id, r.grid_code) == (world.grid_a2.pk, world.grid_a2.code)
    assert r.area_code == world.comm_a.code
    assert (r.nearest_grid_code, r.distance_m) == (None, None)
    assert (r.lat, r.lng) == (MID_LAT, X0 + 0.015)


@pytest.mark.parametrize(
    "lat,lng,winner",
    [
        (MID_LAT, X0 + 0.01, "grid_a1"),  # edge A1|A2
        (Y0, X0 + 0.01, "grid_a1"),  # shared corner A1|A2 on the outer edge
        (MID_LAT, X0 + 0.02, "grid_a2"),  # edge A2|B1, across communities
        (Y0 + 0.02, X0 + 0.02, "grid_a2"),  # shared corner A2|B1
        (MID_LAT, X0, "grid_a1"),  # outer edge, one grid only
    ],
)
def test_point_on_a_border_goes_to_the_lowest_code(world, lat, lng, winner):
    assert locate(lat, lng).grid_code == getattr(world, winner).code


def test_border_rule_does_not_depend_on_insertion_order(db):
    comm = AreaFactory(code="140299001001", geom=box(X0 + 2, Y0, X0 + 2.02, Y0 + 0.02))
    # The higher code is inserted first, so it has the lower primary key.
    high = GridFactory(
        area=comm, code="140299001001009", geom=box(X0 + 2.01, Y0, X0 + 2.02, Y0 + 0.02)
    )
    low = GridFactory(area=comm, code="140299001001003", geom=box(X0 + 2, Y0, X0 + 2.01, Y0 + 0.02))
    assert high.pk < low.pk
    assert locate(Y0 + 0.01, X0 + 2.01).grid_code == low.code
    assert locate_many([Y0 + 0.01], [X0 + 2.01]) == [low.code]


def test_micro_grid_is_located_within_the_found_grid(world):
    a1 = world.grid_a1
    north = micro(a1, "01", box(X0, Y0 + 0.01, X0 + 0.01, Y0 + 0.02))
    south = micro(a1, "02", box(X0, Y0, X0 + 0.01, Y0 + 0.01))
    # A2's micro-grid wrongly spills 0.002° into A1: it must not be reported for points in A1.
    micro(world.grid_a2, "01", box(X0 + 0.008, Y0, X0 + 0.02, Y0 + 0.02))
    r = locate(Y0 + 0.015, X0 + 0.005)
    assert (r.grid_code, r.micro_grid_code, r.micro_grid_id) == (a1.code, north.code, north.pk)
    assert locate(Y0 + 0.005, X0 + 0.005).micro_grid_code == south.code
    assert locate(Y0 + 0.01, X0 + 0.005).micro_grid_code == north.code  # border: lowest code
    assert locate(Y0 + 0.005, X0 + 0.009).micro_grid_code == south.code  # inside A1, not A2's
    assert locate(Y0 + 0.005, X0 + 0.015).micro_grid_code == world.grid_a2.code + "01"


def test_grid_without_micro_grids_reports_none(world):
    r = locate(MID_LAT, X0 + 0.03)
    assert r.grid_code == world.grid_b1.code
    assert (r.micro_grid_id, r.micro_grid_code) == (None, None)


# --- outside: nearest grid and distance -------------------------------------------------------


@pytest.mark.parametrize(
    "lat,lng,nearest",
    [
        (MID_LAT, X0 - 0.006, "grid_a1"),  # ~510 m west of A1
        (Y0 - 0.004, X0 - 0.003, "grid_a1"),  # south-west: nearest point is A1's corner
        (Y0 + 0.023, X0 + 0.0151, "grid_a2"),  # north of A2
        (Y0 - 0.05, X0 + 0.035, "grid_b1"),  # 5.5 km south of B1
    ],
)
def test_point_outside_every_grid_reports_the_nearest_and_its_distance(world, lat, lng, nearest):
    r = locate(lat, lng)
    assert not r.found
    assert (r.grid_id, r.grid_code, r.micro_grid_code, r.area_code) == (None, None, None, None)
    grid = getattr(world, nearest)
    assert r.nearest_grid_code == grid.code
    expected = independent_distance_m(lat, lng, grid.geometry)
    assert r.distance_m == pytest.approx(expected, abs=0.05)
    assert nearest_grid(lat, lng) == (r.nearest_grid_code, pytest.approx(r.distance_m))


def test_nearest_is_measured_in_metres_not_degrees(db):
    """East of the point 0.010° of longitude, north 0.009° of latitude: east is nearer in metres."""
    comm = AreaFactory(code="140299002001", geom=box(X0 + 3, Y0, X0 + 3.2, Y0 + 0.2))
    lat, lng = Y0 + 0.05, X0 + 3.05
    east = GridFactory(
        area=comm,
        code="140299002001002",
        geom=box(lng + 0.010, lat - 0.02, lng + 0.03, lat + 0.0085),
    )
    north = GridFactory(
        area=comm,
        code="140299002001001",
        geom=box(lng - 0.03, lat + 0.009, lng + 0.0095, lat + 0.03),
    )
    code, dist = nearest_grid(lat, lng)
    assert code == east.code
    assert dist == pytest.approx(independent_distance_m(lat, lng, east.geometry), abs=0.05)
    assert dist < independent_distance_m(lat, lng, north.geometry)
    # A planar nearest in degrees would have picked the other one: the test can fail.
    assert shapely.distance(north.geometry, shapely.Point(lng, lat)) < shapely.distance(
        east.geometry, shapely.Point(lng, lat)
    )


def test_nearest_grid_inside_is_zero(world):
    assert nearest_grid(MID_LAT, X0 + 0.015) == (world.grid_a2.code, 0.0)
    assert nearest_grid(MID_LAT, X0 + 0.01) == (world.grid_a1.code, 0.0)


def test_no_grids_at_all(db):
    r = locate(40.0, 113.0)
    assert not r.found and r.nearest_grid_code is None and r.distance_m is None
    assert locate_many([40.0], [113.0]) == [None]
    with pytest.raises(DomainError) as e:
        nearest_grid(40.0, 113.0)
    assert e.value.code == "no_grids"


def test_grid_without_boundary_is_ignored(world):
    GridFactory(area=world.comm_a, code="140213001001009")  # no geometry yet
    assert locate(MID_LAT, X0 + 0.005).grid_code == world.grid_a1.code


# --- CRS input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,forward", [("gcj02", crs.wgs84_to_gcj02), ("bd09", crs.wgs84_to_bd09)]
)
def test_phone_map_coordinates_are_converted_before_locating(world, name, forward):
    # 85 m west of the A1|A2 border in WGS-84; the China offset is hundreds of metres east.
    lat, lng = MID_LAT, X0 + 0.009
    in_lat, in_lng = forward(lat, lng)
    r = locate(in_lat, in_lng, crs=name)
    assert r.grid_code == world.grid_a1.code
    assert r.lat == pytest.approx(lat, abs=1e-9) and r.lng == pytest.approx(lng, abs=1e-9)
    # Taken as WGS-84 the same numbers land in another grid: the conversion matters.
    assert locate(in_lat, in_lng).grid_code != world.grid_a1.code
    assert locate_many([in_lat], [in_lng], crs=name) == [world.grid_a1.code]


@pytest.mark.parametrize(
    "args,field,code",
    [
        ((91, 113.3), "lat", "invalid_coordinate"),
        ((40.1, -181), "lng", "invalid_coordinate"),
        ((40.1, 113.3, "mercator"), "crs", "invalid_crs"),
    ],
)
def test_bad_input_is_refused_naming_the_field(world, args, field, code):
    with pytest.raises(DomainError) as e:
        locate(*args)
    assert (e.value.code, e.value.field) == (code, field)


# --- bulk -----------------------------------------------------------------------------------------


def test_locate_many_matches_single_locate(world):
    rng = np.random.default_rng(5)
    lats = rng.uniform(Y0 - 0.005, Y0 + 0.025, 500)
    lngs = rng.uniform(X0 - 0.005, X0 + 0.045, 500)
    lats[:3] = MID_LAT
    lngs[:3] = [X0 + 0.01, X0 + 0.02, X0 - 1]  # two borders and one far outside
    got = locate_many(lats, lngs)
    assert got == [locate(la, ln).grid_code for la, ln in zip(lats, lngs, strict=True)]
    assert got[:3] == [world.grid_a1.code, world.grid_a2.code, None]
    assert {world.grid_a1.code, world.grid_a2.code, world.grid_b1.code, None} == set(got)


def test_locate_many_refuses_bad_points_with_their_index(world):
    with pytest.raises(DomainError) as e:
        locate_many([40.1, 40.1, 140], [113.3, 113.3, 113.3])
    assert e.value.field == "lat" and e.value.details["index"] == 2


# --- freshness --------------------------------------------------------------------------------------


def test_index_is_rebuilt_after_a_grid_changes(world):
    pt = (MID_LAT, X0 + 0.005)
    assert locate(*pt).grid_code == world.grid_a1.code
    # What a service does: new geometry and a version bump in one transaction.
    a1, a2 = world.grid_a1, world.grid_a2
    a1.set_geometry(box(X0, Y0, X0 + 0.004, Y0 + 0.02))
    a1.save()
    a2.set_geometry(box(X0 + 0.004, Y0, X0 + 0.02, Y0 + 0.02))
    a2.save()
    bump_territory_version()
    assert locate(*pt).grid_code == a2.code
    assert locate_many([pt[0]], [pt[1]]) == [a2.code]


def test_deleted_grid_disappears_from_the_index(world):
    assert locate(MID_LAT, X0 + 0.03).grid_code == world.grid_b1.code
    world.grid_b1.delete()
    r = locate(MID_LAT, X0 + 0.03)
    assert not r.found and r.nearest_grid_code == world.grid_a2.code


def test_change_by_another_process_is_seen_by_ensure_fresh(world):
    pt = (MID_LAT, X0 + 0.005)
    assert locate(*pt).grid_code == world.grid_a1.code
    other_process_moves(world.grid_a1, box(X0 + 1, Y0, X0 + 1.01, Y0 + 0.02))
    # Within the same unit of work the version is not read again (the documented cost model).
    assert locate(*pt).grid_code == world.grid_a1.code
    idx = ensure_fresh()
    assert idx.version == TerritoryVersion.objects.get(pk=1).value
    r = locate(*pt)
    assert not r.found and r.nearest_grid_code == world.grid_a2.code
    assert locate(MID_LAT, X0 + 1.005).grid_code == world.grid_a1.code


def test_change_by_another_process_is_seen_by_the_next_request(world, client):
    client.force_login(world.admin)
    url = f"/api/territory/locate?lat={MID_LAT}&lng={X0 + 0.005}"
    assert client.get(url).json()["grid_code"] == world.grid_a1.code
    other_process_moves(world.grid_a1, box(X0 + 1, Y0, X0 + 1.01, Y0 + 0.02))
    body = client.get(url).json()
    assert body["grid_code"] is None and body["nearest_grid_code"] == world.grid_a2.code


@task()
def locate_in_task(lat: float, lng: float) -> str | None:
    return locate(lat, lng).grid_code


def test_change_by_another_process_is_seen_by_the_next_task(world):
    pt = (MID_LAT, X0 + 0.005)
    assert locate_in_task.enqueue(*pt).return_value == world.grid_a1.code
    other_process_moves(world.grid_a1, box(X0 + 1, Y0, X0 + 1.01, Y0 + 0.02))
    assert locate_in_task.enqueue(*pt).return_value is None


def test_bulk_call_always_checks_the_version(world):
    pt = (MID_LAT, X0 + 0.005)
    assert locate(*pt).grid_code == world.grid_a1.code
    other_process_moves(world.grid_a1, box(X0 + 1, Y0, X0 + 1.01, Y0 + 0.02))
    assert locate_many([pt[0]], [pt[1]]) == [None]


def test_version_is_read_once_per_unit_of_work(world, django_assert_num_queries):
    locate(MID_LAT, X0 + 0.005)  # builds the index
    with django_assert_num_queries(0):
        for k in range(50):
            locate(MID_LAT, X0 + 0.0004 * k)
    spatial._new_unit_of_work()  # what request_started does
    with django_assert_num_queries(1):
        for k in range(50):
            locate(MID_LAT, X0 + 0.0004 * k)
    with django_assert_num_queries(1):
        ensure_fresh()


def test_a_long_unit_of_work_rechecks_after_max_age(world, monkeypatch, django_assert_num_queries):
    locate(MID_LAT, X0 + 0.005)
    monkeypatch.setattr(spatial, "MAX_AGE", 0.0)
    with django_assert_num_queries(3):
        for _k in range(3):
            locate(MID_LAT, X0 + 0.005)


def test_bump_creates_the_version_row_then_increments(db):
    assert spatial.read_territory_version() == 0
    bump_territory_version()
    assert TerritoryVersion.objects.get(pk=1).value == 1
    bump_territory_version()
    bump_territory_version()
    assert spatial.read_territory_version() == 3


def test_index_built_from_uncommitted_writes_stays_private(world):
    """Inside a transaction with our own writes the index is not published to other threads."""
    assert connection.in_atomic_block  # pytest-django wraps each test in a transaction
    locate(MID_LAT, X0 + 0.005)
    assert spatial._shared is None
    assert spatial._local.private is not None


@pytest.mark.django_db(transaction=True)
def test_index_follows_a_committed_transaction_even_without_a_bump():
    comm = AreaFactory(code="140299003001", geom=box(X0, Y0, X0 + 0.02, Y0 + 0.02))
    grid = GridFactory(area=comm, code="140299003001001", geom=box(X0, Y0, X0 + 0.01, Y0 + 0.02))
    assert locate(MID_LAT, X0 + 0.005).grid_code == grid.code
    assert spatial._shared is not None  # committed data: published to every thread
    with transaction.atomic():
        grid.set_geometry(box(X0 + 0.01, Y0, X0 + 0.02, Y0 + 0.02))
        grid.save()
        assert locate(MID_LAT, X0 + 0.015).grid_code == grid.code  # private, own writes
        assert spatial._shared.grid_count == 1 and locate(MID_LAT, X0 + 0.005).grid_code is None
    # Committed; nobody bumped the version, and the index still follows.
    assert locate(MID_LAT, X0 + 0.015).grid_code == grid.code
    assert spatial._local.private is None


@pytest.mark.django_db(transaction=True)
def test_index_forgets_a_rolled_back_transaction():
    comm = AreaFactory(code="140299004001", geom=box(X0, Y0, X0 + 0.02, Y0 + 0.02))
    grid = GridFactory(area=comm, code="140299004001001", geom=box(X0, Y0, X0 + 0.01, Y0 + 0.02))
    assert locate(MID_LAT, X0 + 0.005).grid_code == grid.code
    with pytest.raises(RuntimeError), transaction.atomic():
        grid.set_geometry(box(X0 + 0.01, Y0, X0 + 0.02, Y0 + 0.02))
        grid.save()
        bump_territory_version()
        assert locate(MID_LAT, X0 + 0.015).grid_code == grid.code
        raise RuntimeError("rolled back")
    assert locate(MID_LAT, X0 + 0.005).grid_code == grid.code
    assert locate(MID_LAT, X0 + 0.015).grid_code is None


def test_fast_single_point_path_agrees_with_the_public_shapely_api(world, monkeypatch):
    micro(world.grid_a1, "01", box(X0, Y0, X0 + 0.005, Y0 + 0.01))
    rng = np.random.default_rng(9)
    pts = list(
        zip(
            rng.uniform(Y0 - 0.002, Y0 + 0.022, 300),
            rng.uniform(X0 - 0.002, X0 + 0.042, 300),
            strict=True,
        )
    )
    pts += [(MID_LAT, X0 + 0.01), (Y0, X0 + 0.02), (Y0 + 0.01, X0 + 0.005)]
    fast = [locate(*p) for p in pts]
    assert spatial._query_points is not spatial._point_query_public  # the fast path is in use
    monkeypatch.setattr(spatial, "_points1", spatial._points_public)
    monkeypatch.setattr(spatial, "_query_points", spatial._point_query_public)
    assert [locate(*p) for p in pts] == fast
