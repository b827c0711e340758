"""The Django admin as a matrix: persona × model changelist and change page.

Every non-superuser persona is made staff with every model permission, so what they cannot see
is cut by scope, not by missing permissions.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission

from civicgrid.cases.models import Category
from civicgrid.people.models import RoleAssignment
from civicgrid.security.admin_scope import SCOPES, ScopedAdmin, SuperuserOnlyAdmin

pytestmark = pytest.mark.django_db

PERSONAS = ["superuser", "admin", "operator_a", "outsider_b", "handler_a", "worker_a1", "citizen"]


@pytest.fixture
def staff(world):
    perms = list(Permission.objects.all())
    for name in PERSONAS[1:]:
        user = getattr(world, name)
        user.is_staff = True
        user.save()
        user.user_permissions.set(perms)
    from civicgrid.people.tests.factories import UserFactory

    world.superuser = UserFactory(username="root", is_staff=True, is_superuser=True)
    world.category = Category.objects.create(code="0101", name="市容", handling_limit=5)
    world.ra_a = RoleAssignment.objects.get(user=world.operator_a)
    world.ra_b = RoleAssignment.objects.get(user=world.outsider_b)
    return world


def objects(w):
    """(admin url name, object in district A, object in district B or None if unscoped)."""
    return {
        "territory_area": (w.dist_a, w.dist_b),
        "territory_grid": (w.grid_a1, w.grid_b1),
        "people_center": (w.center_a, w.center_b),
        "people_department": (w.dept_a, w.dept_b),
        "people_roleassignment": (w.ra_a, w.ra_b),
        "people_user": (w.operator_a, None),
        "cases_category": (w.category, None),
    }


# What each persona may open: "A" district A's objects, "B" district B's, "all" everything.
SEES = {
    "superuser": {"all"},
    "admin": {"A", "B"},  # administrator of the whole city, but not a superuser
    "operator_a": {"A:territory"},
    "outsider_b": {"B:territory"},
    "handler_a": set(),
    "worker_a1": set(),
    "citizen": set(),
}
TERRITORY = {"territory_area", "territory_grid"}


def may_open(persona: str, model: str, district: str) -> bool:
    sees = SEES[persona]
    if "all" in sees:
        return True
    if model in ("people_user", "cases_category"):
        return False  # superusers only
    if district in sees:
        return True
    return model in TERRITORY and f"{district}:territory" in sees


@pytest.mark.parametrize("persona", PERSONAS)
def test_matrix_change_pages(client, staff, persona):
    client.force_login(getattr(staff, persona))
    for model, (obj_a, obj_b) in objects(staff).items():
        for district, obj in (("A", obj_a), ("B", obj_b)):
            if obj is None:
                continue
            response = client.get(f"/admin/{model.replace('_', '/', 1)}/{obj.pk}/change/")
            allowed = may_open(persona, model, district)
            # not allowed: 403 for a closed model, a redirect ("does not exist") out of scope
            assert (response.status_code == 200) == allowed, (model, district, response)


@pytest.mark.parametrize("persona", PERSONAS)
def test_matrix_changelists(client, staff, persona):
    client.force_login(getattr(staff, persona))
    for model, (obj_a, obj_b) in objects(staff).items():
        response = client.get(f"/admin/{model.replace('_', '/', 1)}/")
        can_a = may_open(persona, model, "A")
        if not can_a and not (obj_b and may_open(persona, model, "B")):
            assert response.status_code in (302, 403), (model, response)
            continue
        assert response.status_code == 200, model
        shown = {o.pk for o in response.context["cl"].result_list}
        assert (obj_a.pk in shown) == can_a, model
        if obj_b is not None:
            assert (obj_b.pk in shown) == may_open(persona, model, "B"), model


def test_foreign_key_choices_are_limited_to_the_scope(client, staff):
    client.force_login(staff.operator_a)
    response = client.get("/admin/territory/grid/add/")
    assert response.status_code == 200
    choices = response.context["adminform"].form.fields["area"].queryset
    codes = set(choices.values_list("code", flat=True))
    assert staff.dist_a.code in codes and staff.dist_b.code not in codes


def test_posting_an_out_of_scope_area_is_refused(client, staff):
    staff.admin.user_permissions.clear()
    district_admin = staff.outsider_b
    RoleAssignment.objects.create(user=district_admin, role="admin", area=staff.dist_b)
    client.force_login(district_admin)
    response = client.post(
        "/admin/people/roleassignment/add/",
        {"user": district_admin.pk, "role": "admin", "area": staff.city.pk},
    )
    assert response.status_code == 200  # the form again, with an error on area
    assert "area" in response.context["adminform"].form.errors
    assert not RoleAssignment.objects.filter(user=district_admin, area=staff.city).exists()


def test_a_staff_user_cannot_make_themselves_superuser(client, staff):
    client.force_login(staff.admin)
    response = client.post(
        f"/admin/people/user/{staff.admin.pk}/change/",
        {"username": "admin", "is_superuser": "on", "is_staff": "on", "is_active": "on"},
    )
    assert response.status_code == 403
    staff.admin.refresh_from_db()
    assert not staff.admin.is_superuser


def test_every_registered_admin_is_scoped_or_superuser_only():
    for model, model_admin in admin.site._registry.items():
        label = model._meta.label_lower
        expected = ScopedAdmin if label in SCOPES else SuperuserOnlyAdmin
        assert isinstance(model_admin, expected), label
