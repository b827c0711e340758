"""The demo city seeded once per module: read-only checks of its territory, people and accounts.

Seeding takes seconds; these checks only read, so one seeding serves them all. The city is seeded
inside a transaction that is rolled back when the module ends, and each test's own transaction
(pytest-django's ``db``) is a savepoint inside it: what a test writes (a sign-in, a session) is
undone after it. Checks that seed differently or change the seeding live in test_seed_demo.py.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest
from django.db import transaction
from django.urls import reverse

from civicgrid.core.conf import options
from civicgrid.core.demo.people import ACCOUNTS
from civicgrid.core.tests.test_seed_demo import _assert_tiles, seed
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
from civicgrid.territory.models import Area, Grid, MicroGrid

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def city(django_db_setup, django_db_blocker):
    """The seed command's output; the city stays in the database until the module ends."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield seed()
        transaction.set_rollback(True)


def test_stored_polygons_tile_every_parent(city):
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


def test_every_code_has_the_statistical_structure(city):
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


def test_grids_are_sized_by_households_and_kinds_follow_the_district(city):
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


def test_every_role_has_a_user_and_the_named_accounts_hold_their_role(city):
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


def test_every_grid_has_a_team_in_the_1_2_n_or_1_n_pattern(city):
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


def test_centers_and_departments_cover_every_level(city):
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


@pytest.mark.parametrize("username", [a.username for a in ACCOUNTS])
def test_named_accounts_can_log_in_with_the_demo_password(city, client, username):
    resp = client.post(
        reverse("login"),
        {"username": username, "password": options().DEMO_PASSWORD},
    )
    assert resp.status_code == 302
    assert client.session["_auth_user_id"] == str(User.objects.get(username=username).pk)


def test_output_lists_every_account_with_its_password(city):
    out = city
    lines = [ln for ln in out.splitlines() if options().DEMO_PASSWORD in ln]
    assert {ln.split()[0] for ln in lines} >= {a.username for a in ACCOUNTS}


def test_the_territory_coverage_check_finds_no_problem_in_the_demo(city):
    from civicgrid.territory.coverage import check_all

    reports = check_all()
    assert len(reports) == Area.objects.count()
    assert [r.code for r in reports if not r.ok] == []
    assert all(r.gaps_checked for r in reports)
