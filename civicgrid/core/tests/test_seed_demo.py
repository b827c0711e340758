"""seed_demo: a deterministic demo city whose polygons tile, whose codes nest, and whose
accounts work. Small sizes (60 grids) keep each seeding well under a second."""

from __future__ import annotations

import importlib.machinery
import io
import sys
import types
from collections import Counter, defaultdict

import pytest
import shapely
from django.contrib.auth.hashers import check_password
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import reverse

from civicgrid.core.conf import options
from civicgrid.core.demo import geometry as geo
from civicgrid.core.demo.people import ACCOUNTS
from civicgrid.core.demo.runner import app_steps, run_demo, seed_territory
from civicgrid.core.demo.territory import apportion, plan_territory
from civicgrid.people.models import (
    Center,
    Department,
    GridAdviser,
    GridMember,
    Role,
    RoleAssignment,
    User,
    WorkerType,
)
from civicgrid.territory import codes
from civicgrid.territory.models import Area, Grid, MicroGrid, TerritoryVersion
from config.settings import base

SMALL = 60
REL_TOL = 1e-9  # of the parent's area: float noise is ~1e-12


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", "--grids", str(SMALL), "--cases", "0", *args, stdout=out)
    return out.getvalue()


def snapshot() -> dict:
    return {
        "areas": list(
            Area.objects.order_by("code").values_list("code", "name", "level", "boundary")
        ),
        "grids": list(
            Grid.objects.order_by("code").values_list(
                "code", "name", "kind", "dedicated_type", "households", "population", "boundary"
            )
        ),
        "micro": list(MicroGrid.objects.order_by("code").values_list("code", "name", "boundary")),
        "users": list(
            User.objects.order_by("username").values_list("username", "full_name", "phone")
        ),
        "members": sorted(
            GridMember.objects.values_list("grid__code", "user__username", "worker_type")
        ),
    }


def _bytes(snap: dict) -> dict:
    # BinaryField comes back as memoryview on PostgreSQL: compare bytes.
    return {
        k: [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in rows]
        for k, rows in snap.items()
    }


# --- determinism ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_same_seed_gives_identical_codes_names_and_geometry():
    seed()
    first = _bytes(snapshot())
    seed("--flush")
    assert _bytes(snapshot()) == first
    seed("--flush", "--seed", "7")
    other = _bytes(snapshot())
    assert other["areas"] != first["areas"] and other["grids"] != first["grids"]


def test_plan_is_a_pure_function_of_size_and_seed():
    a, b = plan_territory(200, 3), plan_territory(200, 3)
    assert [(n.code, n.name, n.geometry.wkb) for n in a.areas + a.grids + a.micro_grids] == [
        (n.code, n.name, n.geometry.wkb) for n in b.areas + b.grids + b.micro_grids
    ]


@pytest.mark.parametrize("grids", [8, 60, 333])
def test_plan_has_exactly_the_grids_asked_for(grids):
    plan = plan_territory(grids, 1)
    assert len(plan.grids) == grids
    assert len(plan.districts) == 4
    assert len({n.code for n in plan.areas + plan.grids + plan.micro_grids}) == len(
        plan.areas + plan.grids + plan.micro_grids
    )


def test_default_size_matches_the_domain_description():
    plan = plan_territory(1500, 20260101)
    assert 30 <= len(plan.streets) <= 50  # "~40 streets"
    assert 250 <= len(plan.communities) <= 380  # "~300 communities"
    kinds = Counter(g.kind for g in plan.grids)
    assert kinds["urban"] and kinds["rural"] and kinds["dedicated"]
    assert {g.dedicated_type for g in plan.grids if g.kind == "dedicated"} >= {"school", "market"}


def test_apportion_splits_exactly_and_positively():
    import random

    rng = random.Random(1)
    for total, k in [(10, 10), (11, 3), (1500, 7)]:
        parts = apportion(total, k, rng)
        assert sum(parts) == total and len(parts) == k and min(parts) >= 1
    with pytest.raises(ValueError):
        apportion(2, 3, rng)


# --- geometry ------------------------------------------------------------------------------------


def _children_by_parent(plan):
    out = defaultdict(list)
    for node in plan.districts + plan.streets + plan.communities + plan.grids + plan.micro_grids:
        out[node.parent].append(node.geometry)
    return out


def _assert_tiles(parent, children, label):
    area = parent.area
    union = shapely.union_all(children)
    assert shapely.symmetric_difference(union, parent).area / area < REL_TOL, f"gap in {label}"
    tree = shapely.STRtree(children)
    left, right = tree.query(children, predicate="intersects")
    pairs = left < right
    overlap = shapely.intersection(
        [children[i] for i in left[pairs]], [children[j] for j in right[pairs]]
    )
    assert sum(shapely.area(overlap)) / area < REL_TOL, f"overlap in {label}"


@pytest.mark.parametrize("grids,seed_", [(SMALL, 20260101), (400, 5), (400, 11)])
def test_children_tile_their_parent_without_overlaps_or_gaps(grids, seed_):
    plan = plan_territory(grids, seed_)
    geoms = {n.code: n.geometry for n in plan.areas + plan.grids + plan.micro_grids}
    for node in plan.areas + plan.grids + plan.micro_grids:
        g = node.geometry
        assert g.geom_type == "Polygon" and g.is_valid and not g.interiors, node.code
    for parent, children in _children_by_parent(plan).items():
        _assert_tiles(geoms[parent], children, parent)


@pytest.mark.django_db
def test_stored_polygons_tile_every_parent():
    seed()
    by_code = {a.code: a for a in Area.objects.all()}
    children = defaultdict(list)
    for a in by_code.values():
        if a.parent_id:
            children[a.parent.code].append(a.geometry)
    for g in Grid.objects.select_related("area"):
        children[g.area.code].append(g.geometry)
    assert len(children) == Area.objects.count()  # every area has children, down to grids
    for parent, kids in children.items():
        _assert_tiles(by_code[parent].geometry, kids, parent)
    grid = Grid.objects.get(code=MicroGrid.objects.first().grid.code)
    _assert_tiles(grid.geometry, [m.geometry for m in grid.micro_grids.all()], grid.code)
    # Bounding boxes agree with the stored polygons (the locate prefilter relies on them).
    for g in Grid.objects.all()[:50]:
        assert (g.min_lng, g.min_lat, g.max_lng, g.max_lat) == g.geometry.bounds


def test_partition_of_a_concave_parent_gives_single_polygons():
    import random

    import numpy as np

    # A U shape; a seed inside the notch has a cell that the clipping cuts into two pieces
    # (one per arm), which must be handed to the neighbours.
    u = shapely.Polygon(
        [(113.0, 40.0), (113.3, 40.0), (113.3, 40.3), (113.2, 40.3), (113.2, 40.05),
         (113.1, 40.05), (113.1, 40.3), (113.0, 40.3)]
    )  # fmt: skip
    seeds = np.array(
        [(113.05, 40.12), (113.25, 40.12), (113.15, 40.02), (113.15, 40.26), (113.04, 40.29),
         (113.26, 40.29)]
    )  # fmt: skip
    raw = geo._cells(seeds, u, geo.to_plane(u))
    assert any(c.geom_type == "MultiPolygon" for c in raw)  # the case under test occurs
    cells = geo.partition(u, len(seeds), random.Random(0), seeds_ll=seeds)
    assert len(cells) == len(seeds)
    assert all(c.geom_type == "Polygon" and c.is_valid for c in cells)
    _assert_tiles(u, cells, "fixed seeds")
    for s in range(10):
        cells = geo.partition(u, 9, random.Random(s))
        assert len(cells) == 9 and all(c.geom_type == "Polygon" for c in cells)
        _assert_tiles(u, cells, f"seed {s}")


def test_grids_are_numbered_west_to_east_north_to_south():
    plan = plan_territory(400, 2)
    by_parent = defaultdict(list)
    for g in plan.grids:
        by_parent[g.parent].append(g)
    checked = 0
    for grids in by_parent.values():
        if len(grids) < 2:
            continue
        grids.sort(key=lambda g: g.code)
        first, last = grids[0].geometry.centroid, grids[-1].geometry.centroid
        # The first grid is in the northernmost row; if it shares a row with the last, it is west.
        assert first.y > last.y or first.x < last.x
        checked += 1
    assert checked > 20


# --- codes and data ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_code_has_the_statistical_structure():
    seed()
    for area in Area.objects.select_related("parent"):
        assert codes.area_level(area.code) == area.level
        expected = codes.expected_parent_code(area.code)
        assert (area.parent.code if area.parent else None) == expected
        serial = int(area.code[6:9] if area.level == codes.TOWNSHIP else area.code[9:])
        if area.level == codes.TOWNSHIP:
            county = area.code[4:6] >= "21"
            assert (100 <= serial < 400) if county else (1 <= serial < 100), area.code
            assert area.name.endswith(("镇", "乡") if county else ("街道",))
        if area.level == codes.VILLAGE:
            assert area.name.endswith("社区") if serial < 200 else area.name.endswith("村")
    assert Area.objects.filter(level=codes.CITY).get().code == "140200000000"
    for grid in Grid.objects.select_related("area"):
        codes.check_grid_code(grid.code, grid.area.code)
    serials = defaultdict(list)
    for code in Grid.objects.values_list("code", flat=True):
        serials[code[:12]].append(int(code[12:]))
    assert all(sorted(s) == list(range(1, len(s) + 1)) for s in serials.values())
    for micro in MicroGrid.objects.select_related("grid"):
        codes.check_micro_code(micro.code, micro.grid.code)


@pytest.mark.django_db
def test_grids_are_sized_by_households_and_kinds_follow_the_district():
    seed()
    for grid in Grid.objects.select_related("area"):
        if grid.kind == Grid.Kind.DEDICATED:
            assert grid.dedicated_type in {
                "school",
                "hospital",
                "park",
                "market",
                "enterprise",
                "building",
            }
            assert grid.name.endswith("专属网格")
            continue
        assert 300 <= grid.households <= 500
        assert grid.population > grid.households
        urban_area = grid.area.code[9:] < "200"  # 社区 (not 村)
        assert grid.kind == (Grid.Kind.URBAN if urban_area else Grid.Kind.RURAL)
    for grid in Grid.objects.filter(micro_grids__isnull=False).distinct():
        assert sum(m.households for m in grid.micro_grids.all()) == grid.households


@pytest.mark.django_db
def test_territory_version_is_bumped():
    before = TerritoryVersion.objects.filter(pk=1).values_list("value", flat=True).first() or 0
    seed()
    assert TerritoryVersion.objects.get(pk=1).value > before


# --- people --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_role_has_a_user_and_the_named_accounts_hold_their_role():
    seed()
    held = set(RoleAssignment.objects.values_list("role", flat=True))
    assert held == set(Role.values)
    for acc in ACCOUNTS:
        ra = RoleAssignment.objects.get(user__username=acc.username, role=acc.role)
        if acc.role == Role.OPERATOR:
            assert ra.center is not None and ra.center.area_id == ra.area_id
        if acc.role == Role.HANDLER:
            assert ra.department is not None and ra.department.code.endswith(acc.department)
            assert ra.department.area_id == ra.area_id
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    worker_grids = GridMember.objects.filter(user__username="worker")
    assert worker_grids.count() == 2
    assert all(m.worker_type == WorkerType.FULL_TIME and m.is_leader for m in worker_grids)


@pytest.mark.django_db
def test_every_grid_has_a_team_in_the_1_2_n_or_1_n_pattern():
    seed()
    teams = defaultdict(Counter)
    for code, kind in GridMember.objects.values_list("grid__code", "worker_type"):
        teams[code][kind] += 1
    for grid in Grid.objects.all():
        team = teams[grid.code]
        assert team[WorkerType.FULL_TIME] == 1, grid.code
        if grid.code[9:12] < "200":  # urban community: 1 police + 2 auxiliary police + N
            assert team[WorkerType.POLICE] == 1 and team[WorkerType.AUX_POLICE] == 2
        else:  # village: 1 auxiliary police + N
            assert team[WorkerType.POLICE] == 0 and team[WorkerType.AUX_POLICE] == 1
    # Every team member can see their grid: they hold a grid_worker role in its community.
    members = GridMember.objects.values_list("user_id", "grid__area_id")
    roles = set(
        RoleAssignment.objects.filter(role=Role.GRID_WORKER).values_list("user_id", "area_id")
    )
    assert set(members) <= roles
    assert (
        GridMember.objects.filter(worker_type=WorkerType.MICRO).count() == MicroGrid.objects.count()
    )
    kinds = set(GridAdviser.objects.values_list("kind", flat=True))
    assert len(kinds) == 5  # 五员进网


@pytest.mark.django_db
def test_centers_and_departments_cover_every_level():
    seed()
    assert set(Center.objects.values_list("area__level", flat=True)) == {1, 2, 3, 4}
    assert (
        Center.objects.filter(area__level__lte=3).count()
        == Area.objects.filter(level__lte=3).count()
    )
    for district in Area.objects.filter(level=2):
        names = set(Department.objects.filter(area=district).values_list("name", flat=True))
        assert any(n.endswith("城管局") for n in names) and any("公安" in n for n in names)
    assert Department.objects.filter(area__level=1).count() >= 10
    phones = list(User.objects.values_list("phone", flat=True))
    assert len(set(phones)) == len(phones)
    assert all(len(p) == 11 and p.startswith("1") and p.isdigit() for p in phones)


@pytest.mark.django_db
@pytest.mark.parametrize("username", [a.username for a in ACCOUNTS])
def test_named_accounts_can_log_in_with_the_demo_password(client, username):
    seed()
    resp = client.post(
        reverse("login"),
        {"username": username, "password": options().DEMO_PASSWORD},
    )
    assert resp.status_code == 302
    assert client.session["_auth_user_id"] == str(User.objects.get(username=username).pk)


@pytest.mark.django_db
@override_settings(PASSWORD_HASHERS=base.PASSWORD_HASHERS)
def test_named_accounts_have_own_argon2_hashes_and_generated_ones_share_one():
    seed()
    password = options().DEMO_PASSWORD
    named = list(User.objects.filter(username__in=[a.username for a in ACCOUNTS]))
    assert len({u.password for u in named}) == len(named)
    assert all(u.password.startswith("argon2$") for u in named)
    generated = set(
        User.objects.exclude(username__in=[a.username for a in ACCOUNTS]).values_list(
            "password", flat=True
        )
    )
    assert len(generated) == 1
    assert check_password(password, generated.pop())


# --- command behaviour ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_if_empty_does_nothing_the_second_time():
    first = seed("--if-empty")
    assert "worker" in first and options().DEMO_PASSWORD in first
    before = _bytes(snapshot())
    second = seed("--if-empty", "--seed", "99")
    assert "not loaded" in second
    assert _bytes(snapshot()) == before


@pytest.mark.django_db
def test_refuses_to_seed_over_existing_territory_without_flush():
    seed()
    before = Grid.objects.count()
    with pytest.raises(CommandError, match="--flush"):
        seed()
    assert Grid.objects.count() == before


@pytest.mark.django_db
def test_flush_replaces_the_demo_and_does_not_reuse_user_ids():
    seed()
    old_ids = set(User.objects.values_list("pk", flat=True))
    seed("--flush")
    assert Grid.objects.count() == SMALL
    assert not old_ids & set(User.objects.values_list("pk", flat=True))


@pytest.mark.django_db
@pytest.mark.parametrize("grids", ["3", "500000"])
def test_out_of_range_size_is_refused_and_nothing_is_created(grids):
    with pytest.raises(CommandError, match="--grids"):
        call_command("seed_demo", "--grids", grids, stdout=io.StringIO())
    assert not Area.objects.exists()


@pytest.mark.django_db
def test_output_lists_every_account_with_its_password():
    out = seed()
    lines = [ln for ln in out.splitlines() if options().DEMO_PASSWORD in ln]
    assert {ln.split()[0] for ln in lines} >= {a.username for a in ACCOUNTS}


# --- the step contract ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_app_demo_modules_run_after_people_with_the_context(monkeypatch):
    seen = {}

    def fake_seed(ctx):
        for name in ("districts", "streets", "communities", "grids", "micro_grids"):
            codes_ = [x.code for x in getattr(ctx, name)]
            assert codes_ == sorted(codes_) and all(x.pk for x in getattr(ctx, name)), name
        seen["grids"] = len(ctx.grids)
        seen["worker"] = ctx.accounts["worker"].pk
        seen["handler_dept"] = ctx.department("CG", ctx.grids[0].code).code
        seen["center"] = ctx.center_for(ctx.grids[0].code).area.level
        seen["rng"] = ctx.rng.random()
        seen["cases"] = ctx.cases

    module = types.ModuleType("civicgrid.field.demo")
    module.__spec__ = importlib.machinery.ModuleSpec("civicgrid.field.demo", None)
    module.seed = fake_seed
    monkeypatch.setitem(sys.modules, "civicgrid.field.demo", module)
    assert "field" in [name for name, _fn in app_steps()]
    call_command("seed_demo", "--grids", str(SMALL), "--cases", "17", stdout=io.StringIO())
    assert seen["grids"] == SMALL and seen["worker"] and seen["cases"] == 17
    assert seen["handler_dept"] == f"{seen_prefix()}-CG"
    assert seen["center"] == 4  # the first community has its own center
    # The step's random stream depends on the seed and the step name only.
    import random

    assert seen["rng"] == random.Random("civicgrid-demo:20260101:field").random()


def seen_prefix() -> str:
    return Grid.objects.order_by("code").first().code[:6]


def test_apps_without_a_demo_module_are_skipped():
    from django.apps import apps
    from django.utils.module_loading import module_has_submodule

    names = [name for name, _fn in app_steps()]
    for config in apps.get_app_configs():
        if config.name.startswith("civicgrid.") and config.label in names:
            assert module_has_submodule(config.module, "demo")
    assert "core" not in names


@pytest.mark.django_db
def test_a_failing_step_leaves_nothing_behind():
    def boom(ctx):
        raise RuntimeError("step failed")

    with pytest.raises(RuntimeError):
        run_demo(grids=SMALL, cases=0, steps=[("territory", seed_territory), ("boom", boom)])
    assert not Area.objects.exists()


@pytest.mark.django_db
def test_the_territory_coverage_check_finds_no_problem_in_the_demo():
    from civicgrid.territory.coverage import check_all

    seed()
    reports = check_all()
    assert len(reports) == Area.objects.count()
    assert [r.code for r in reports if not r.ok] == []
    assert all(r.gaps_checked for r in reports)
