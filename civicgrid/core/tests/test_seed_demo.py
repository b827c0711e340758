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

from civicgrid.core.conf import options
from civicgrid.core.demo import geometry as geo
from civicgrid.core.demo.people import ACCOUNTS
from civicgrid.core.demo.runner import app_steps, run_demo, seed_territory
from civicgrid.core.demo.territory import apportion, plan_territory
from civicgrid.people.models import (
    GridMember,
    User,
)
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
def test_territory_version_is_bumped():
    before = TerritoryVersion.objects.filter(pk=1).values_list("value", flat=True).first() or 0
    seed()
    assert TerritoryVersion.objects.get(pk=1).value > before


# --- people --------------------------------------------------------------------------------------


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
