"""The admin writes areas, grids and micro-grids through the validated services."""

import json

import pytest
from django.urls import reverse
from shapely.geometry import box, mapping

from civicgrid.conftest import X0, Y0
from civicgrid.territory.models import Grid, TerritoryVersion


@pytest.fixture
def superuser(world):
    world.admin.is_superuser = True
    world.admin.save()
    return world.admin


def _grid_post(code, geom, **extra):
    data = {
        "code": code,
        "name": "新网格",
        "area": "",
        "kind": "urban",
        "dedicated_type": "",
        "households": 420,
        "population": 1200,
        "duty": "",
        "boundary_geojson": json.dumps(mapping(geom)) if geom is not None else "",
    }
    data.update(extra)
    return data


def test_admin_add_grid_goes_through_service(client, world, superuser):
    from civicgrid.territory.tests.factories import AreaFactory

    comm = AreaFactory(code="140213001002", name="新社区", parent=world.street_a)
    client.force_login(superuser)
    before = TerritoryVersion.objects.filter(pk=1).values_list("value", flat=True).first() or 0
    geom = box(X0 + 0.001, Y0 + 0.001, X0 + 0.002, Y0 + 0.002)
    resp = client.post(
        reverse("admin:territory_grid_add"), _grid_post("140213001002001", geom, area=comm.pk)
    )
    assert resp.status_code == 302, resp.content.decode()[:2000]
    grid = Grid.objects.get(code="140213001002001")
    assert grid.households == 420 and grid.geometry.equals(geom)
    assert TerritoryVersion.objects.get(pk=1).value > before


@pytest.mark.parametrize(
    "code,geom_kind,field,fragment",
    [
        ("14021300100100", "ok", "code", "15"),
        ("140214001001009", "ok", "code", "140213001001"),
        ("140213001001009", "bowtie", "boundary_geojson", ""),
        ("140213001001009", "overlap", "boundary_geojson", "140213001001001"),
    ],
)
def test_admin_add_grid_refused_with_field_error(
    client, world, superuser, code, geom_kind, field, fragment
):
    geoms = {
        "ok": box(X0 + 0.001, Y0 + 0.001, X0 + 0.002, Y0 + 0.002),
        "overlap": box(X0 + 0.005, Y0 + 0.005, X0 + 0.015, Y0 + 0.010),
    }
    client.force_login(superuser)
    data = _grid_post(code, geoms.get(geom_kind), area=world.comm_a.pk)
    if geom_kind == "bowtie":
        data["boundary_geojson"] = json.dumps(
            {
                "type": "Polygon",
                "coordinates": [
                    [
                        [X0, Y0],
                        [X0 + 0.001, Y0 + 0.001],
                        [X0 + 0.001, Y0],
                        [X0, Y0 + 0.001],
                        [X0, Y0],
                    ]
                ],
            }
        )
    count = Grid.objects.count()
    resp = client.post(reverse("admin:territory_grid_add"), data)
    assert resp.status_code == 200
    form = resp.context["adminform"].form
    errors = form.errors.get(field or "__all__")
    assert errors, form.errors
    assert fragment in " ".join(errors)
    assert Grid.objects.count() == count


def test_admin_change_grid_keeps_code_and_updates_households(client, world, superuser):
    client.force_login(superuser)
    url = reverse("admin:territory_grid_change", args=[world.grid_a1.pk])
    page = client.get(url)
    assert page.status_code == 200
    data = _grid_post(world.grid_a1.code, world.grid_a1.geometry)
    data.pop("code"), data.pop("area")
    data["households"] = 333
    resp = client.post(url, data)
    assert resp.status_code == 302, resp.context["adminform"].form.errors
    world.grid_a1.refresh_from_db()
    assert world.grid_a1.households == 333


def test_admin_delete_referenced_grid_is_refused_with_message(client, world, superuser):
    client.force_login(superuser)
    url = reverse("admin:territory_grid_delete", args=[world.grid_a1.pk])
    resp = client.post(url, {"post": "yes"}, follow=True)
    assert Grid.objects.filter(pk=world.grid_a1.pk).exists()  # worker_a1 is on its team
    assert any(m.level_tag == "error" for m in resp.context["messages"])


def test_admin_force_accepts_overlap_for_superuser(client, world, superuser):
    client.force_login(superuser)
    geom = box(X0 + 0.005, Y0 + 0.005, X0 + 0.015, Y0 + 0.010)
    data = _grid_post("140213001001009", geom, area=world.comm_a.pk, force="on")
    resp = client.post(reverse("admin:territory_grid_add"), data)
    assert resp.status_code == 302
    assert Grid.objects.filter(code="140213001001009").exists()
