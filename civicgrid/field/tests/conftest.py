"""Fixtures of the field tests on top of the shared ``world``: categories, a second worker, a
key place, helpers to post JSON and to build GPS points."""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
from types import SimpleNamespace

import pytest
from django.utils import timezone
from PIL import Image
from pyproj import Geod

from civicgrid.cases.models import Category, HandlingLevel, SlaUnit
from civicgrid.conftest import X0, Y0
from civicgrid.field.models import KeyPlace
from civicgrid.people.models import Role
from civicgrid.people.tests.factories import UserFactory, add_member, assign

GEOD = Geod(ellps="WGS84")
A1 = (Y0 + 0.01, X0 + 0.005)  # lat, lng inside grid A1
A2 = (Y0 + 0.01, X0 + 0.015)  # inside grid A2
B1 = (Y0 + 0.01, X0 + 0.03)  # inside grid B1


def jpeg_bytes(color=(30, 120, 200)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buf, format="JPEG")
    return buf.getvalue()


def post_json(client, url, data, **extra):
    return client.post(url, json.dumps(data), content_type="application/json", **extra)


def ms(when: dt.datetime) -> int:
    return int(when.timestamp() * 1000)


def offset(lat: float, lng: float, north_m: float = 0.0, east_m: float = 0.0) -> tuple:
    """A point ``north_m`` metres north and ``east_m`` east of (lat, lng), geodesically."""
    if north_m:
        lng, lat, _ = GEOD.fwd(lng, lat, 0 if north_m > 0 else 180, abs(north_m))
    if east_m:
        lng, lat, _ = GEOD.fwd(lng, lat, 90 if east_m > 0 else 270, abs(east_m))
    return lat, lng


def geodesic(a, b) -> float:
    return abs(GEOD.inv(a[1], a[0], b[1], b[0])[2])


@pytest.fixture
def cats(world):
    parent = Category.objects.create(code="04", name="市容环境")
    small = Category.objects.create(
        code="0401",
        name="乱堆乱放",
        parent=parent,
        handling_level=HandlingLevel.VILLAGE,
        default_department=world.dept_a,
        sla_unit=SlaUnit.WORKING,
        self_closable=True,
    )
    big = Category.objects.create(
        code="0402",
        name="违章建筑",
        parent=parent,
        handling_level=HandlingLevel.COUNTY,
        sla_unit=SlaUnit.NATURAL,
        photo_required=True,
    )
    return SimpleNamespace(parent=parent, small=small, big=big)


@pytest.fixture
def field(world):
    """A second worker (grid A2), a key place in grid A1, a fresh patrol id."""
    worker_a2 = UserFactory(username="worker_a2", full_name="甲二网格员")
    assign(worker_a2, Role.GRID_WORKER, world.comm_a)
    add_member(worker_a2, world.grid_a2)
    place = KeyPlace.objects.create(
        name="甲一小区消防通道", grid=world.grid_a1, lat=A1[0], lng=A1[1], radius_m=100
    )
    return SimpleNamespace(worker_a2=worker_a2, place=place)


@pytest.fixture
def start_patrol(client):
    """Start a patrol for ``user`` through the API; returns its uuid."""

    def start(user, started_at=None) -> str:
        client.force_login(user)
        key = str(uuid.uuid4())
        when = started_at or timezone.now() - dt.timedelta(hours=1)
        r = post_json(client, "/api/field/patrols", {"uuid": key, "started_at": ms(when)})
        assert r.status_code == 201, r.content
        return key

    return start


@pytest.fixture(autouse=True)
def _clean_cache():
    from django.core.cache import cache

    from civicgrid.field import tracks

    # User ids restart in every test database: never carry a worker's grids across tests.
    cache.clear()
    tracks._own_cache.clear()
    yield
    cache.clear()
    tracks._own_cache.clear()
