import pytest

from civicgrid.basedata import demo as bd_demo
from civicgrid.cases import demo as cases_demo
from civicgrid.cases.models import Case, Flow, State
from civicgrid.core.demo.people import seed_people
from civicgrid.core.demo.runner import run_demo, seed_territory
from civicgrid.party import demo, selectors
from civicgrid.party.models import ContactHousehold, LiaisonVisit, PartyMember, PartyOrganisation


@pytest.mark.django_db
def test_demo_has_party_building_liaison_and_orders_at_every_step():
    ctx = run_demo(
        grids=40,
        cases=0,
        verbosity=0,
        steps=[
            ("territory", seed_territory),
            ("people", seed_people),
            ("cases", cases_demo.seed),
            ("basedata", bd_demo.seed),
            ("party", demo.seed),
        ],
    )
    assert PartyOrganisation.objects.count() >= 3
    assert PartyMember.objects.filter(kind="member").count() >= 4
    assert PartyMember.objects.filter(kind="volunteer").exists()
    assert ContactHousehold.objects.count() >= 8
    assert PartyMember.objects.filter(central_household__isnull=False).exists()
    states = set(Case.objects.filter(flow=Flow.SERVICE).values_list("state", flat=True))
    assert states == set(selectors.SERVICE_STEPS)
    member = ctx.accounts["party_member"]
    assert selectors.my_orders(member).filter(state=State.CLOSED).exists()
    assert LiaisonVisit.objects.exists()
    assert LiaisonVisit.objects.filter(cases__isnull=False).exists()
    rows = selectors.compliance_rows(None, month=ctx.now.date().replace(day=1))
    assert any(r.visits == 0 for r in rows) or ctx.now.day == 1
