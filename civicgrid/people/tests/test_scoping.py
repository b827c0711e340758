"""Scope as a matrix: each persona × each grid / area, in scope or not."""

import pytest
from django.urls import reverse

from civicgrid.core.errors import NotFound
from civicgrid.people.scoping import in_scope, scope_prefixes
from civicgrid.territory.models import Grid
from civicgrid.territory.selectors import area_get_for, grid_get_for, grid_list_for

GRIDS = ["grid_a1", "grid_a2", "grid_b1"]
# persona -> grids visible
EXPECTED_GRIDS = {
    "operator_a": {"grid_a1", "grid_a2"},
    "handler_a": {"grid_a1", "grid_a2"},
    "worker_a1": {"grid_a1"},
    "chief_a": {"grid_a1", "grid_a2"},
    "leader_a": {"grid_a1", "grid_a2"},
    "admin": {"grid_a1", "grid_a2", "grid_b1"},
    "outsider_b": {"grid_b1"},
    "citizen": set(),
}
AREAS = ["city", "dist_a", "dist_b", "street_a", "comm_a", "comm_b"]
EXPECTED_AREAS = {
    "operator_a": {"dist_a", "street_a", "comm_a"},
    "handler_a": {"dist_a", "street_a", "comm_a"},
    "worker_a1": set(),
    "chief_a": {"street_a", "comm_a"},
    "leader_a": {"dist_a", "street_a", "comm_a"},
    "admin": set(AREAS),
    "outsider_b": {"dist_b"} | {"comm_b"},
    "citizen": set(),
}


@pytest.mark.parametrize("persona", sorted(EXPECTED_GRIDS))
@pytest.mark.parametrize("grid", GRIDS)
def test_grid_scope_matrix(world, persona, grid):
    user = getattr(world, persona)
    obj = getattr(world, grid)
    visible = grid in EXPECTED_GRIDS[persona]
    assert grid_list_for(user).filter(pk=obj.pk).exists() is visible
    assert in_scope(user, obj.code) is visible
    if visible:
        assert grid_get_for(user, obj.code) == obj
    else:
        with pytest.raises(NotFound):
            grid_get_for(user, obj.code)


@pytest.mark.parametrize("persona", sorted(EXPECTED_AREAS))
@pytest.mark.parametrize("area", AREAS)
def test_area_scope_matrix(world, persona, area):
    user = getattr(world, persona)
    obj = getattr(world, area)
    if area in EXPECTED_AREAS[persona]:
        assert area_get_for(user, obj.code) == obj
    else:
        with pytest.raises(NotFound):
            area_get_for(user, obj.code)


@pytest.mark.parametrize("persona", sorted(EXPECTED_GRIDS))
def test_grid_directory_page_lists_only_scope(client, world, persona):
    user = getattr(world, persona)
    client.force_login(user)
    body = client.get(reverse("console:grids")).content.decode()
    for grid in GRIDS:
        assert (getattr(world, grid).code in body) is (grid in EXPECTED_GRIDS[persona])


def test_superuser_is_unrestricted(world):
    world.citizen.is_superuser = True
    assert scope_prefixes(world.citizen) is None
    assert grid_list_for(world.citizen).count() == Grid.objects.count()


def test_inactive_user_sees_nothing(world):
    world.operator_a.is_active = False
    assert scope_prefixes(world.operator_a) == []


def test_nested_prefixes_are_collapsed(world):
    from civicgrid.people.models import Role
    from civicgrid.people.tests.factories import assign

    assign(world.operator_a, Role.LEADER, world.street_a)
    assert scope_prefixes(world.operator_a) == ["140213"]


def test_anonymous_redirected_to_login(client, world):
    resp = client.get(reverse("console:grids"))
    assert resp.status_code == 302 and reverse("login") in resp["Location"]


def test_old_grid_directory_link_redirects_with_query(client, world):
    client.force_login(world.operator_a)
    resp = client.get(reverse("territory:grid_list") + "?q=甲一")
    assert resp.status_code == 301
    assert resp["Location"] == reverse("console:grids") + "?q=%E7%94%B2%E4%B8%80"


def test_role_assignment_is_unique_even_without_department(world):
    from django.db import IntegrityError, transaction

    from civicgrid.people.models import Role
    from civicgrid.people.tests.factories import assign

    with pytest.raises(IntegrityError), transaction.atomic():
        assign(world.leader_a, Role.LEADER, world.dist_a)
    with pytest.raises(IntegrityError), transaction.atomic():
        assign(world.handler_a, Role.HANDLER, world.dist_a, department=world.dept_a)
    # The same role on another department of the same area is a different assignment.
    assign(world.handler_a, Role.HANDLER, world.dist_a, department=world.dept_b)
