import datetime as dt

import time_machine
from django.urls import reverse

from civicgrid.cases.models import Holiday


def _superuser_client(client, world):
    world.admin.is_superuser = True
    world.admin.save()
    client.force_login(world.admin)
    return client


@time_machine.travel(dt.datetime(2026, 11, 23, 12, 0), tick=False)
def test_admin_home_warns_when_next_year_has_no_calendar(client, world):
    Holiday.objects.all().delete()
    Holiday.objects.create(date=dt.date(2026, 10, 1), is_workday=False, name="国庆节")
    body = _superuser_client(client, world).get(reverse("admin:index")).content.decode()
    assert "2027" in body and "2026" not in body.split("messagelist")[1].split("</ul>")[0]


@time_machine.travel(dt.datetime(2026, 11, 23, 12, 0), tick=False)
def test_admin_home_quiet_when_both_years_present(client, world):
    Holiday.objects.all().delete()
    Holiday.objects.create(date=dt.date(2026, 10, 1), is_workday=False, name="国庆节")
    Holiday.objects.create(date=dt.date(2027, 1, 1), is_workday=False, name="元旦")
    body = _superuser_client(client, world).get(reverse("admin:index")).content.decode()
    assert "messagelist" not in body
