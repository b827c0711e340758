"""Grid teams in the console: who may edit (persona × scope), 1+2+N / 1+N warnings, selection
rules, micro-grid links, audit rows, training with attendance, commendations in the profile and
the assessment."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from civicgrid.audit.models import AuditEvent
from civicgrid.core.errors import DomainError, NotFound
from civicgrid.people import teams
from civicgrid.people.models import (
    Commendation,
    Education,
    GridMember,
    RoleAssignment,
    TrainingAttendance,
    WorkerType,
)
from civicgrid.people.tests.factories import Role, UserFactory, add_member, assign
from civicgrid.territory.models import Grid, MicroGrid

pytestmark = pytest.mark.django_db

EDITOR = {
    # persona: status of the team editor for grid A1
    "operator_a": 200,
    "admin": 200,
    "leader_a": 403,  # sees the grid, may not edit it
    "chief_a": 403,
    "handler_a": 403,
    "worker_a1": 403,
    "outsider_b": 404,  # another district: the grid does not exist for them
    "citizen": 404,
}


@pytest.mark.parametrize("persona", EDITOR)
def test_the_team_editor_by_persona(client, world, persona):
    client.force_login(getattr(world, persona))
    url = reverse("console:team_edit", args=[world.grid_a1.code])
    assert client.get(url).status_code == EDITOR[persona]
    newcomer = UserFactory(username="newcomer")
    assign(newcomer, Role.GRID_WORKER, world.comm_a)
    r = client.post(url, {"user": newcomer.pk, "worker_type": "part_time"})
    assert r.status_code == (302 if EDITOR[persona] == 200 else EDITOR[persona])
    added = GridMember.objects.filter(user=newcomer, grid=world.grid_a1).exists()
    assert added == (EDITOR[persona] == 200)


def test_the_grid_page_offers_the_editor_only_to_editors(client, world):
    url = reverse("console:grid_detail", args=[world.grid_a1.code])
    edit = reverse("console:team_edit", args=[world.grid_a1.code])
    client.force_login(world.operator_a)
    assert edit in client.get(url).content.decode()
    client.force_login(world.leader_a)
    assert edit not in client.get(url).content.decode()


@pytest.fixture
def english():
    with translation.override("en"):
        yield


def test_urban_and_rural_teams_are_warned_about(world, english):
    grid = world.grid_a1
    members = list(GridMember.objects.filter(grid=grid))
    warnings = teams.team_warnings(grid, members)
    assert len(warnings) == 3 and all("1+2+N" in w for w in warnings[:2])
    for i, kind in enumerate(("police", "aux_police", "aux_police")):
        u = UserFactory(username=f"p{i}")
        add_member(u, grid, worker_type=kind)
    members = list(GridMember.objects.filter(grid=grid))
    assert teams.team_warnings(grid, members) == ["No team leader is set."]
    GridMember.objects.filter(user=world.worker_a1).update(is_leader=True)
    assert teams.team_warnings(grid, list(GridMember.objects.filter(grid=grid))) == []
    grid.kind = Grid.Kind.RURAL
    # rural: 1+N, the "1" a police officer or an auxiliary police officer (一村一辅警)
    members = list(GridMember.objects.filter(grid=grid))
    assert any("1+N" in w for w in teams.team_warnings(grid, members))  # three of them
    one_aux = [next(m for m in members if m.worker_type == t) for t in ("full_time", "aux_police")]
    assert sorted(m.worker_type for m in one_aux) == ["aux_police", "full_time"]
    assert teams.team_warnings(grid, one_aux) == []
    only_workers = [m for m in members if m.worker_type == "full_time"]
    assert any("1+N" in w for w in teams.team_warnings(grid, only_workers))


def test_selection_rules_warn_at_assignment_and_never_block(client, world):
    newcomer = UserFactory(username="newcomer", education=Education.JUNIOR)
    assign(newcomer, Role.GRID_WORKER, world.comm_a)
    client.force_login(world.operator_a)
    url = reverse("console:team_edit", args=[world.grid_a1.code])
    r = client.post(url, {"user": newcomer.pk, "worker_type": "full_time"}, follow=True)
    text = r.content.decode()
    member = GridMember.objects.get(user=newcomer)
    with translation.override("zh-hans"):
        assert teams.selection_warnings(member)[0] in text  # shown as a message after saving
    with translation.override("en"):
        warnings = teams.selection_warnings(member)
        assert len(warnings) == 1 and "College" in warnings[0]
    member.worker_type = WorkerType.PART_TIME
    with translation.override("en"):
        assert any("live" in w for w in teams.selection_warnings(member))
    newcomer.residence_grid = world.grid_a1
    newcomer.education = Education.SENIOR
    newcomer.save()
    member.user.refresh_from_db()
    assert teams.selection_warnings(member) == []
    # the member got the grid-worker role only once
    assert RoleAssignment.objects.filter(user=newcomer, role=Role.GRID_WORKER).count() == 1


def test_a_micro_grid_worker_is_linked_to_a_micro_grid_of_the_grid(world):
    mg = MicroGrid.objects.create(grid=world.grid_a1, code="14021300100100101", name="1号楼")
    other = MicroGrid.objects.create(grid=world.grid_a2, code="14021300100100201", name="9号楼")
    u = UserFactory(username="micro")
    assign(u, Role.GRID_WORKER, world.comm_a)
    with pytest.raises(DomainError) as exc:
        teams.member_add(
            actor=world.operator_a, grid=world.grid_a1, user=u, data={"worker_type": "micro"}
        )
    assert exc.value.field == "micro_grid"
    with pytest.raises(DomainError) as exc:
        teams.member_add(
            actor=world.operator_a,
            grid=world.grid_a1,
            user=u,
            data={"worker_type": "micro", "micro_grid": other.code},
        )
    assert exc.value.field == "micro_grid"
    m = teams.member_add(
        actor=world.operator_a,
        grid=world.grid_a1,
        user=u,
        data={"worker_type": "micro", "micro_grid": mg.code, "work_phone": "0352-1234567"},
    )
    assert m.micro_grid == mg and m.work_phone == "0352-1234567"


@pytest.mark.parametrize(
    "data,field",
    [
        ({"worker_type": "boss"}, "worker_type"),
        ({"worker_type": "informant", "work_phone": "call me"}, "work_phone"),
        ({"worker_type": "volunteer", "since": "last year"}, "since"),
    ],
)
def test_bad_member_input_names_the_field(world, data, field):
    u = UserFactory(username="x")
    assign(u, Role.GRID_WORKER, world.comm_a)
    with pytest.raises(DomainError) as exc:
        teams.member_add(actor=world.operator_a, grid=world.grid_a1, user=u, data=data)
    assert exc.value.field == field


def test_a_worker_from_another_district_cannot_be_put_on_the_team(world):
    far = UserFactory(username="far")
    assign(far, Role.GRID_WORKER, world.comm_b)
    with pytest.raises(DomainError) as exc:
        teams.member_add(
            actor=world.operator_a,
            grid=world.grid_a1,
            user=far.pk,
            data={"worker_type": "part_time"},
        )
    assert exc.value.field == "user"


def test_team_edits_write_audit_rows_with_the_editor(client, world):
    client.force_login(world.operator_a)
    url = reverse("console:team_edit", args=[world.grid_a1.code])
    newcomer = UserFactory(username="newcomer")
    assign(newcomer, Role.GRID_WORKER, world.comm_a)
    client.post(url, {"user": newcomer.pk, "worker_type": "informant"})
    member = GridMember.objects.get(user=newcomer)
    client.post(
        url, {"member": member.pk, "worker_type": "volunteer", "work_phone": "0352-5550000"}
    )
    client.post(url, {"member": member.pk, "remove": "1", "worker_type": "volunteer"})
    assert not GridMember.objects.filter(pk=member.pk).exists()
    events = list(
        AuditEvent.objects.filter(object_type="people.gridmember", object_id=str(member.pk))
        .order_by("pk")
        .values_list("action", "actor_id")
    )
    assert [a for a, _u in events] == ["create", "update", "delete"]
    assert {u for _a, u in events} == {world.operator_a.pk}


def test_one_team_leader_per_grid(world):
    u = UserFactory(username="lead2")
    assign(u, Role.GRID_WORKER, world.comm_a)
    GridMember.objects.filter(user=world.worker_a1).update(is_leader=True)
    teams.member_add(
        actor=world.operator_a,
        grid=world.grid_a1,
        user=u,
        data={"worker_type": "full_time", "is_leader": True},
    )
    assert list(
        GridMember.objects.filter(grid=world.grid_a1, is_leader=True).values_list("user", flat=True)
    ) == [u.pk]


def test_training_attendance_and_commendations_show_in_profile_and_assessment(client, world):
    from civicgrid.analytics.assessment import month_of, worker_assessment
    from civicgrid.analytics.selectors import Filters

    now = timezone.now()
    session = teams.training_create(
        actor=world.operator_a,
        area=world.dist_a,
        title="矛盾纠纷排查培训",
        held_at=now - dt.timedelta(hours=2),
        hours="3",
    )
    assert list(session.attendance.values_list("user_id", flat=True)) == [world.worker_a1.pk]
    assert (
        teams.attendance_mark(
            actor=world.operator_a, session=session, attended_ids=[str(world.worker_a1.pk)]
        )
        == 1
    )
    with pytest.raises(DomainError) as exc:
        teams.commend(
            actor=world.operator_a,
            user=world.worker_a1,
            kind="post_star",
            period="2026-Q4",
            reason="好",
            area=world.dist_a,
        )
    assert exc.value.field == "reason"
    teams.commend(
        actor=world.operator_a,
        user=world.worker_a1,
        kind="post_star",
        period="2026-Q4",
        reason="连续三个月核实及时、群众评价满意",
        area=world.dist_a,
    )
    with pytest.raises(NotFound):  # another district's operator: the area is not theirs
        teams.commend(
            actor=world.outsider_b,
            user=world.worker_a1,
            kind="excellent",
            period="2026",
            reason="连续三个月核实及时、群众评价满意",
            area=world.dist_a,
        )
    client.force_login(world.operator_a)
    profile = client.get(reverse("console:worker_detail", args=[world.worker_a1.pk]))
    text = profile.content.decode()
    assert profile.status_code == 200
    assert "矛盾纠纷排查培训" in text and "连续三个月核实及时" in text
    client.force_login(world.outsider_b)
    assert (
        client.get(reverse("console:worker_detail", args=[world.worker_a1.pk])).status_code == 404
    )
    data = worker_assessment(world.operator_a, month_of(None), Filters())
    row = next(r for r in data["rows"] if r["user_id"] == world.worker_a1.pk)
    assert row["trainings_attended"] == 1 and row["trainings_invited"] == 1
    assert [c["kind"] for c in row["commendations"]] == ["post_star"]
    assert Commendation.objects.count() == 1 and TrainingAttendance.objects.count() == 1


def test_training_pages_by_persona(client, world):
    for name, status in {
        "operator_a": 200,
        "admin": 200,
        "leader_a": 404,
        "worker_a1": 404,
    }.items():
        client.force_login(getattr(world, name))
        assert client.get(reverse("console:trainings")).status_code == status, name
    client.force_login(world.operator_a)
    r = client.post(
        reverse("console:trainings"),
        {"area": world.dist_a.code, "title": "", "held_at": "2026-12-01T09:00"},
    )
    assert r.status_code == 400 and "field-error" in r.content.decode()
    session = teams.training_create(
        actor=world.operator_a, area=world.dist_a, title="t", held_at=timezone.now()
    )
    client.force_login(world.outsider_b)
    assert client.get(reverse("console:training_detail", args=[session.pk])).status_code == 404
