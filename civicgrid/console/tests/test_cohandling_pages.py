"""The case page's co-handling and whistle panels, their actions, and the whistle board."""

from __future__ import annotations

import pytest
from django.urls import reverse

from civicgrid.cases import services
from civicgrid.cases.models import CasePart, PartState, WhistleCall
from civicgrid.people.models import Role
from civicgrid.people.tests.factories import DepartmentFactory, UserFactory, assign

from .conftest import new_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def co(world):
    a2 = DepartmentFactory(code="A-SW", name="甲区水务局", area=world.dist_a)
    h2 = UserFactory(username="handler_a2", full_name="甲区水务")
    assign(h2, Role.HANDLER, world.dist_a, department=a2)
    town = UserFactory(username="town_op", full_name="甲街道坐席")
    assign(town, Role.OPERATOR, world.street_a, center=world.center_street_a)
    return type("Co", (), {"a2": a2, "h2": h2, "town": town})


def co_case(world, cats, co):
    case = new_case(world, cats)
    services.case_accept(case=case, actor=world.operator_a, category=case.category, priority=2)
    services.case_dispatch(
        case=case, actor=world.operator_a, department=world.dept_a, co_departments=["A-SW"]
    )
    return case


def test_dispatch_form_sends_co_departments(client, world, cats, co):
    case = new_case(world, cats)
    services.case_accept(case=case, actor=world.operator_a, category=case.category, priority=2)
    case.refresh_from_db()
    client.force_login(world.operator_a)
    page = client.get(reverse("console:case_detail", args=[case.pk])).content.decode()
    assert 'name="co_departments" multiple' in page
    r = client.post(
        reverse("console:case_act", args=[case.pk, "dispatch"]),
        {
            "version": case.version,
            "dispatch_to": "department",
            "department": world.dept_a.pk,
            "co_departments": [co.a2.pk],
        },
    )
    assert r.status_code == 302
    assert CasePart.objects.get(case=case).department == co.a2


def test_panel_shows_lead_and_parts_and_offers_the_co_handler_its_part(client, world, cats, co):
    case = co_case(world, cats, co)
    url = reverse("console:case_detail", args=[case.pk])
    client.force_login(co.h2)
    page = client.get(url).content.decode()
    assert 'id="cohandling"' in page and "甲区城管局" in page and 'data-part="A-SW"' in page
    assert 'data-sub-action="sign"' in page and 'data-sub-action="return"' in page
    part = CasePart.objects.get(case=case)
    r = client.post(
        reverse("console:part_act", args=[case.pk, part.pk, "sign"]), {"version": part.version}
    )
    assert r.status_code == 302
    part.refresh_from_db()
    assert part.state == PartState.IN_PROGRESS
    # The lead's handler sees the part but no part action while it is in progress.
    client.force_login(world.handler_a)
    page = client.get(url).content.decode()
    assert 'data-part="A-SW"' in page and "data-sub-action" not in page


def test_refused_part_action_is_shown_not_a_500(client, world, cats, co):
    case = co_case(world, cats, co)
    part = CasePart.objects.get(case=case)
    client.force_login(co.h2)
    r = client.post(
        reverse("console:part_act", args=[case.pk, part.pk, "submit"]),
        {"version": part.version, "result": "x"},
        follow=True,
    )
    assert r.status_code == 200
    assert part.state == CasePart.objects.get(pk=part.pk).state == PartState.ASSIGNED


def test_outsider_gets_404_on_part_and_call_actions(client, world, cats, co):
    case = co_case(world, cats, co)
    part = CasePart.objects.get(case=case)
    client.force_login(world.outsider_b)
    r = client.post(reverse("console:part_act", args=[case.pk, part.pk, "sign"]), {})
    assert r.status_code == 404


def test_whistle_board_is_scoped_with_countdown(client, world, cats, co):
    case = co_case(world, cats, co)
    services.case_whistle(case=case, actor=world.chief_a, departments=["A-SW"], reason="联合处置")
    client.force_login(co.town)
    page = client.get(reverse("console:whistles")).content.decode()
    assert case.tracking_code in page and 'data-call="A-SW"' in page
    assert 'data-call-state="called"' in page and "data-countdown" in page
    client.force_login(co.h2)
    assert case.tracking_code in client.get(reverse("console:whistles")).content.decode()
    client.force_login(world.outsider_b)
    page = client.get(reverse("console:whistles")).content.decode()
    assert case.tracking_code not in page
    # The called department reports in from the case page.
    client.force_login(co.h2)
    call = WhistleCall.objects.get(case=case)
    r = client.post(
        reverse("console:call_act", args=[case.pk, call.pk, "report_in"]),
        {"version": call.version, "note": "已到场"},
    )
    assert r.status_code == 302
    call.refresh_from_db()
    assert call.state == "reported"
