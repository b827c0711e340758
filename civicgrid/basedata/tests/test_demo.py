import pytest
from django.db.models import Count

from civicgrid.basedata import demo
from civicgrid.basedata.models import Household, Person, PersonTag, TagKind, Thing
from civicgrid.core.demo.people import seed_people
from civicgrid.core.demo.runner import run_demo, seed_territory


@pytest.mark.django_db
def test_demo_worker_grids_are_complete_and_other_grids_light():
    ctx = run_demo(
        grids=40,
        cases=0,
        verbosity=0,
        steps=[("territory", seed_territory), ("people", seed_people), ("basedata", demo.seed)],
    )
    worker = ctx.accounts["worker"]
    full = set(worker.grid_memberships.values_list("grid__code", flat=True))
    assert len(full) == 2
    for code in full:
        assert 300 <= Household.objects.filter(scope_code=code).count() <= 500
    kinds = set(PersonTag.objects.filter(scope_code__in=full).values_list("kind__code", flat=True))
    assert kinds == set(TagKind.objects.values_list("code", flat=True))
    today = ctx.now.date()
    tags = PersonTag.objects.filter(scope_code__in=full)
    assert tags.filter(next_visit_due__lt=today).exists()  # overdue
    assert tags.filter(next_visit_due__gte=today).exists()  # due
    per_grid = dict(
        Person.objects.exclude(scope_code__in=full)
        .values_list("scope_code")
        .annotate(n=Count("id"))
    )
    assert per_grid and max(per_grid.values()) <= 4
    assert Thing.objects.exclude(scope_code__in=full).count() >= len(ctx.grids) - 2
    p = Person.objects.filter(scope_code__in=full).first()
    assert p.reveal_id_number()[:6] == p.id_number_mask[:6]
    assert worker.has_perm("basedata.reveal_personal_data")
