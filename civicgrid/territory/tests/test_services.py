"""Territory writes: validation, permissions, overlaps, version bumps, deletes."""

import pytest
from django.utils import translation
from shapely.geometry import box, mapping

from civicgrid.conftest import X0, Y0
from civicgrid.core.errors import DomainError
from civicgrid.people.tests.factories import add_member
from civicgrid.territory import services
from civicgrid.territory.models import Area, Grid, MicroGrid, TerritoryVersion
from civicgrid.territory.tests.factories import MicroGridFactory

# Grid A2 is shrunk to the middle of community A so that the east strip is free.
FREE = box(X0 + 0.015, Y0, X0 + 0.02, Y0 + 0.02)
BOWTIE = {
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


def version() -> int:
    row = TerritoryVersion.objects.filter(pk=1).first()
    return row.value if row else 0


def refused(fn, **kw) -> DomainError:
    before = (Area.objects.count(), Grid.objects.count(), MicroGrid.objects.count(), version())
    with pytest.raises(DomainError) as exc:
        fn(**kw)
    after = (Area.objects.count(), Grid.objects.count(), MicroGrid.objects.count(), version())
    assert before == after, "nothing may change when a write is refused"
    return exc.value


def new_grid(w, **kw):
    args = dict(
        code="140213001001003",
        name="甲三网格",
        geometry=mapping(FREE),
        kind="urban",
        households=420,
        population=1200,
        actor=w.admin,
    )
    args.update(kw)
    return args


# --- grids: the happy path -------------------------------------------------------------------------


def test_grid_create_derives_the_community_and_bumps_the_version(w):
    v = version()
    grid = services.grid_create(**new_grid(w))
    assert grid.area == w.comm_a
    assert (grid.kind, grid.households, grid.population) == ("urban", 420, 1200)
    assert grid.geometry.equals(FREE)
    assert grid.min_lng == pytest.approx(X0 + 0.015)
    assert version() == v + 1


@pytest.mark.parametrize(
    "alias,kind", [("农村网格", "rural"), ("专属", "dedicated"), ("URBAN", "urban")]
)
def test_grid_kind_accepts_chinese_labels(w, alias, kind):
    assert services.grid_create(**new_grid(w, kind=alias)).kind == kind


def test_grid_update_of_attributes_only_keeps_the_version(w):
    v = version()
    grid = services.grid_update(grid=w.grid_a1, name="新名", households="350", actor=w.admin)
    grid.refresh_from_db()
    assert (grid.name, grid.households) == ("新名", 350)
    assert version() == v


def test_grid_update_of_geometry_bumps_the_version(w):
    v = version()
    smaller = box(X0, Y0, X0 + 0.009, Y0 + 0.02)
    grid = services.grid_update(grid=w.grid_a1, geometry=smaller.wkt, actor=w.operator_a)
    grid.refresh_from_db()
    assert grid.geometry.equals(smaller)
    assert version() == v + 1


# --- grids: bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kw,code,field",
    [
        ({"code": "14021300100100"}, "invalid_code", "code"),
        ({"code": "1402130010010034"}, "invalid_code", "code"),
        ({"code": "14021300100100A"}, "invalid_code", "code"),
        ({"code": "140213001001000"}, "invalid_code", "code"),
        ({"code": ""}, "code_required", "code"),
        ({"name": "  "}, "name_required", "name"),
        ({"name": "网" * 101}, "name_too_long", "name"),
        ({"kind": "suburban"}, "invalid_kind", "kind"),
        ({"households": -1}, "invalid_number", "households"),
        ({"households": "many"}, "invalid_number", "households"),
        ({"population": 10.5}, "invalid_number", "population"),
        ({"population": True}, "invalid_number", "population"),
        ({"geometry": BOWTIE}, "self_intersection", "geometry"),
        ({"geometry": None}, "geometry_required", "geometry"),
        ({"geometry": {"type": "Point", "coordinates": [X0, Y0]}}, "not_polygon", "geometry"),
    ],
)
def test_grid_create_refuses_bad_input(w, kw, code, field):
    err = refused(services.grid_create, **new_grid(w, **kw))
    assert err.code == code
    assert err.field == field


def test_grid_code_prefix_must_match_the_community(w):
    err = refused(services.grid_create, **new_grid(w, code="140214001001005", area=w.comm_a))
    assert err.code == "code_prefix_mismatch"
    assert "140213001001" in err.message


def test_grid_parent_must_be_a_community(w):
    err = refused(services.grid_create, **new_grid(w, code="140213001000001"))
    assert err.code == "parent_level"


def test_grid_in_a_missing_community_refused(w):
    err = refused(services.grid_create, **new_grid(w, code="140213001009001"))
    assert err.code == "parent_missing"


def test_duplicate_grid_code_refused(w):
    err = refused(services.grid_create, **new_grid(w, code=w.grid_a1.code))
    assert err.code == "duplicate_code"
    assert err.status == 409


def test_self_intersecting_grid_repaired_only_with_repair(w):
    refused(services.grid_create, **new_grid(w, geometry=BOWTIE))
    grid = services.grid_create(**new_grid(w, geometry=BOWTIE, repair=True))
    assert grid.geometry.is_valid
    assert grid.geometry.geom_type == "MultiPolygon"


def test_grid_outside_its_community_refused(w):
    # Spills 0.005° into district B's community.
    spill = box(X0 + 0.015, Y0, X0 + 0.025, Y0 + 0.02)
    err = refused(services.grid_create, **new_grid(w, geometry=mapping(spill)))
    assert err.code == "outside_parent"
    assert err.details["outside_m2"] > 400_000


# --- overlaps and force ----------------------------------------------------------------------------

OVERLAPPING = box(X0 + 0.012, Y0, X0 + 0.02, Y0 + 0.02)  # takes 0.003° of A2


@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize("who", ["operator_a", "admin"])
def test_overlap_refused_unless_forced_by_an_admin(w, who, force):
    args = new_grid(w, geometry=mapping(OVERLAPPING), actor=getattr(w, who), force=force)
    if who == "admin" and force:
        grid = services.grid_create(**args)
        assert grid.geometry.equals(OVERLAPPING)
        return
    err = refused(services.grid_create, **args)
    assert err.code == "overlap"
    (o,) = err.details["overlaps"]
    assert {o["a"], o["b"]} == {"140213001001003", w.grid_a2.code}
    assert o["area_m2"] == pytest.approx(0.003 * 0.02 * 85_200 * 111_000, rel=0.02)
    if force:
        assert "administrator" in err.message


def test_superuser_may_force(w, django_user_model):
    root = django_user_model.objects.create_superuser("root", password="x")
    args = new_grid(w, geometry=mapping(OVERLAPPING), actor=root, force=True)
    assert services.grid_create(**args).pk


def test_touching_siblings_are_not_an_overlap(w):
    assert services.grid_create(**new_grid(w)).pk  # shares an edge with A2


def test_grid_update_overlap_refused(w):
    err = refused(
        services.grid_update,
        grid=w.grid_a1,
        geometry=mapping(box(X0, Y0, X0 + 0.012, Y0 + 0.02)),
        actor=w.operator_a,
    )
    assert err.code == "overlap"


# --- permissions (persona × object) ----------------------------------------------------------------

WRITERS = {"admin", "operator_a"}


@pytest.mark.parametrize(
    "who",
    [
        "admin",
        "operator_a",
        "handler_a",
        "worker_a1",
        "chief_a",
        "leader_a",
        "citizen",
        "outsider_b",
    ],
)
@pytest.mark.parametrize("target", ["comm_a", "comm_b"])
def test_grid_create_permission_matrix(w, who, target):
    actor = getattr(w, who)
    if target == "comm_a":
        args = new_grid(w, actor=actor)
        in_scope = who in WRITERS
    else:
        w.grid_b1.set_geometry(box(X0 + 0.02, Y0, X0 + 0.03, Y0 + 0.02))
        w.grid_b1.save()
        args = new_grid(
            w,
            code="140214001001002",
            geometry=mapping(box(X0 + 0.03, Y0, X0 + 0.04, Y0 + 0.02)),
            actor=actor,
        )
        in_scope = who in {"admin", "outsider_b"}
    if in_scope:
        assert services.grid_create(**args).pk
        return
    err = refused(services.grid_create, **args)
    if who in {"admin", "operator_a", "outsider_b"}:
        assert (err.code, err.status) == ("not_found", 404)  # out of scope is not disclosed
    else:
        assert (err.code, err.status) == ("permission_denied", 403)


@pytest.mark.parametrize("who", ["admin", "operator_a", "outsider_b", "leader_a", "worker_a1"])
def test_grid_update_permission_matrix(w, who):
    actor = getattr(w, who)
    if who in WRITERS:
        services.grid_update(grid=w.grid_a1, name="改名", actor=actor)
        w.grid_a1.refresh_from_db()
        assert w.grid_a1.name == "改名"
    else:
        err = refused(services.grid_update, grid=w.grid_a1, name="改名", actor=actor)
        assert err.status in (403, 404)
        w.grid_a1.refresh_from_db()
        assert w.grid_a1.name != "改名"


# --- delete ----------------------------------------------------------------------------------------


def test_grid_delete_refused_while_referenced(w):
    err = refused(services.grid_delete, grid=w.grid_a1, actor=w.admin)  # worker_a1's grid
    assert err.code == "in_use"
    assert err.status == 409
    assert Grid.objects.filter(pk=w.grid_a1.pk).exists()


def test_grid_delete_refused_while_it_has_micro_grids(w):
    MicroGridFactory(grid=w.grid_a2, code=w.grid_a2.code + "01")
    err = refused(services.grid_delete, grid=w.grid_a2, actor=w.admin)
    assert err.code == "in_use"


def test_unreferenced_grid_deleted_and_version_bumped(w):
    v = version()
    services.grid_delete(grid=w.grid_a2, actor=w.operator_a)
    assert not Grid.objects.filter(pk=w.grid_a2.pk).exists()
    assert version() == v + 1


def test_grid_delete_by_a_non_editor_refused(w):
    add_member(w.worker_a1, w.grid_a2)
    err = refused(services.grid_delete, grid=w.grid_a2, actor=w.worker_a1)
    assert err.code == "permission_denied"


# --- areas -----------------------------------------------------------------------------------------


def test_area_create_without_boundary(w):
    area = services.area_create(code="140213001002", name="新社区", actor=w.admin)
    assert (area.parent, area.level) == (w.street_a, 4)
    assert area.boundary is None


@pytest.mark.parametrize(
    "code,parent,err_code",
    [
        ("1402130010", None, "invalid_code"),
        ("140213001002", "street_b", "code_prefix_mismatch"),
        ("140214001002", "street_a", "code_prefix_mismatch"),
        ("140213002001", None, "parent_missing"),
        ("140213001002", "dist_a", "code_prefix_mismatch"),
        ("140213001001", None, "duplicate_code"),
        ("140200000000", "city", "parent_level"),
    ],
)
def test_area_create_refuses_bad_codes(w, code, parent, err_code):
    err = refused(
        services.area_create,
        code=code,
        name="x",
        parent=getattr(w, parent) if parent else None,
        actor=None,
    )
    assert err.code == err_code


def test_area_overlapping_a_sibling_refused(w):
    # Community A covers all of street A, so a second community there overlaps it.
    err = refused(
        services.area_create,
        code="140213001002",
        name="新社区",
        geometry=mapping(box(X0, Y0, X0 + 0.005, Y0 + 0.005)),
        actor=w.admin,
    )
    assert err.code == "overlap"


def test_area_outside_parent_refused(w):
    err = refused(
        services.area_create,
        code="140213001002",
        name="新社区",
        geometry=mapping(box(X0 + 0.03, Y0, X0 + 0.035, Y0 + 0.005)),
        actor=w.admin,
        force=True,
    )
    assert err.code == "outside_parent"


def test_area_shrink_leaving_grids_outside_refused(w):
    err = refused(
        services.area_update,
        area=w.comm_a,
        geometry=mapping(box(X0, Y0, X0 + 0.01, Y0 + 0.02)),
        actor=w.admin,
    )
    assert err.code == "children_outside"
    assert err.details["children"][0]["code"] == w.grid_a2.code


def test_area_rename(w):
    services.area_update(area=w.comm_a, name="  甲新社区 ", actor=w.operator_a)
    w.comm_a.refresh_from_db()
    assert w.comm_a.name == "甲新社区"


def test_area_delete_refused_while_it_has_children(w):
    assert refused(services.area_delete, area=w.comm_a, actor=w.admin).code == "in_use"


def test_unused_area_deleted(w):
    area = services.area_create(code="140213001002", name="新社区", actor=w.admin)
    services.area_delete(area=area, actor=w.admin)
    assert not Area.objects.filter(code="140213001002").exists()


# --- micro-grids -----------------------------------------------------------------------------------


def test_microgrid_create_update_delete(w):
    v = version()
    m = services.microgrid_create(
        code=w.grid_a1.code + "01",
        name="1号楼",
        geometry=mapping(box(X0, Y0, X0 + 0.001, Y0 + 0.001)),
        households=24,
        actor=w.operator_a,
    )
    assert m.grid == w.grid_a1
    assert version() == v + 1
    services.microgrid_update(micro_grid=m, households=30, actor=w.operator_a)
    m.refresh_from_db()
    assert m.households == 30
    services.microgrid_delete(micro_grid=m, actor=w.operator_a)
    assert not MicroGrid.objects.filter(pk=m.pk).exists()


@pytest.mark.parametrize(
    "kw,err_code",
    [
        ({"code": "14021300100100101", "grid_attr": "grid_a2"}, "code_prefix_mismatch"),
        ({"code": "14021300100100100"}, "invalid_code"),
        ({"code": "140213001001009011"}, "invalid_code"),
        ({"code": "14021300100100901"}, "parent_missing"),
        ({"geometry": mapping(box(X0 + 0.009, Y0, X0 + 0.012, Y0 + 0.001))}, "outside_parent"),
        ({"households": -3}, "invalid_number"),
    ],
)
def test_microgrid_create_refuses_bad_input(w, kw, err_code):
    args = dict(
        code=w.grid_a1.code + "01",
        name="1号楼",
        geometry=mapping(box(X0, Y0, X0 + 0.001, Y0 + 0.001)),
        actor=w.admin,
    )
    grid_attr = kw.pop("grid_attr", None)
    args.update(kw)
    if grid_attr:
        args["grid"] = getattr(w, grid_attr)
    assert refused(services.microgrid_create, **args).code == err_code


def test_microgrid_overlap_refused(w):
    services.microgrid_create(
        code=w.grid_a1.code + "01",
        name="1号楼",
        geometry=mapping(box(X0, Y0, X0 + 0.002, Y0 + 0.002)),
        actor=w.admin,
    )
    err = refused(
        services.microgrid_create,
        code=w.grid_a1.code + "02",
        name="2号楼",
        geometry=mapping(box(X0 + 0.001, Y0, X0 + 0.003, Y0 + 0.002)),
        actor=w.admin,
    )
    assert err.code == "overlap"


def test_grid_shrink_leaving_micro_grid_outside_refused(w):
    services.microgrid_create(
        code=w.grid_a1.code + "01",
        name="1号楼",
        geometry=mapping(box(X0 + 0.008, Y0, X0 + 0.01, Y0 + 0.002)),
        actor=w.admin,
    )
    err = refused(
        services.grid_update,
        grid=w.grid_a1,
        geometry=mapping(box(X0, Y0, X0 + 0.005, Y0 + 0.02)),
        actor=w.admin,
    )
    assert err.code == "children_outside"
