"""The demo step: disputes in every state at every level, consistent with the action table."""

import pytest
from django.db.models import Count

from civicgrid.cases import demo as cases_demo
from civicgrid.core.demo.people import seed_people
from civicgrid.core.demo.runner import run_demo, seed_territory
from civicgrid.mediation import demo
from civicgrid.mediation.models import (
    Agreement,
    Dispute,
    DisputeAction,
    DisputeState,
    FollowUp,
    MediationBody,
    Mediator,
    Meeting,
    Session,
)
from civicgrid.mediation.workflow import DISPUTES
from civicgrid.territory.models import Area


@pytest.mark.django_db(transaction=False)
def test_demo_has_every_state_at_every_level_and_replays_through_the_table(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        ctx = run_demo(
            grids=40,
            cases=300,
            verbosity=0,
            steps=[
                ("territory", seed_territory),
                ("people", seed_people),
                ("cases", cases_demo.seed),
                ("mediation", demo.seed),
            ],
        )
    pairs = set(Dispute.objects.values_list("level", "state").distinct())
    for level in Area.Level.values:
        for state in DisputeState.values:
            assert (level, state) in pairs, (level, state)
    # Every history is a path through the table ending in the row's state and version.
    for d in Dispute.objects.prefetch_related("actions")[:400]:
        state, version = "", 1
        for a in d.actions.all():
            assert a.from_state == state
            state = DISPUTES.target_of(a.action, state)
            version += int(
                not DISPUTES.actions[a.action].creation and DISPUTES.actions[a.action].touches
            )
        assert (state, version) == (d.state, d.version), d.number
    assert (
        Agreement.objects.filter(dispute__state=DisputeState.AGREED).count()
        == Dispute.objects.filter(state="agreed").count()
    )
    assert Session.objects.exists() and FollowUp.objects.filter(done_at__isnull=False).exists()
    assert Meeting.objects.exists() and MediationBody.objects.exists()
    assert Mediator.objects.filter(user=ctx.accounts["mediator"]).exists()
    assert DisputeAction.objects.filter(action="supervise", role="system").exists()
    converted = Dispute.objects.filter(case__isnull=False)
    assert converted.exists()
    closed = converted.filter(state="agreed").select_related("case")
    assert all(d.case.state == "closed" for d in closed)
    assert Dispute.objects.values("number").annotate(n=Count("id")).filter(n__gt=1).count() == 0
