import datetime as dt

import pytest
from django.contrib.auth.models import Permission

from civicgrid.basedata import services
from civicgrid.basedata.models import TagKind
from civicgrid.basedata.validators import make_resident_id

# Points inside the shared world's grids (civicgrid/conftest.py).
A1 = (40.11, 113.305)
A2 = (40.11, 113.315)
B1 = (40.11, 113.33)
OUTSIDE = (40.5, 113.9)


def pid(serial: int, birth=dt.date(1980, 5, 17), region="140213") -> str:
    return make_resident_id(region, birth, serial)


def grant_reveal(user):
    user.user_permissions.add(Permission.objects.get(codename="reveal_personal_data"))
    user.__dict__.pop("_perm_cache", None)
    user.__dict__.pop("_user_perm_cache", None)


@pytest.fixture
def bd(world):
    """Base data in grid A1 (a house, a person with a phone) and grid B1 (another person)."""
    w = world
    w.house_a1 = services.house_create(
        actor=w.operator_a,
        lat=A1[0],
        lng=A1[1],
        address="甲街1号",
        building="1",
        unit="2",
        room="301",
    )
    w.person_a1 = services.person_create(
        actor=w.operator_a,
        data={
            "name": "张三",
            "id_number": pid(11),
            "phone": "13900000012",
            "house": w.house_a1,
            "hukou_region": "140213",
        },
    )
    w.house_b1 = services.house_create(
        actor=w.outsider_b, lat=B1[0], lng=B1[1], address="乙街9号", building="3", room="101"
    )
    w.person_b1 = services.person_create(
        actor=w.outsider_b,
        data={"name": "李四", "id_number": pid(22, region="140214"), "house": w.house_b1},
    )
    w.kinds = {k.code: k for k in TagKind.objects.all()}
    return w
