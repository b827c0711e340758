"""Service-level behaviour of reports and the rules of individual actions."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from civicgrid.cases import services
from civicgrid.cases.attachments import attachment_prepare, attachment_save
from civicgrid.cases.engine import action_label, allowed_actions, state_label
from civicgrid.cases.models import (
    AdmissionItem,
    Attachment,
    Case,
    CaseAction,
    ExtensionRequest,
    Flow,
    GridTask,
    HandlingLevel,
    RequestState,
    State,
    Supervision,
)
from civicgrid.core.errors import DomainError, NotFound
from civicgrid.people.models import Role
from civicgrid.people.tests.factories import CenterFactory, UserFactory, add_member, assign

from .conftest import A1, A2, drive, photo, report

pytestmark = pytest.mark.usefixtures("frozen_clock")

TZ = dt.timezone(dt.timedelta(hours=8))


# --- report -----------------------------------------------------------------------------------


def test_report_places_case_in_grid_area_and_owner(world, cats):
    case = report(world, cats, at=A2)
    assert case.state == State.REPORTED
    assert case.grid == world.grid_a2 and case.area == world.comm_a
    assert case.scope_code == world.grid_a2.code
    assert case.owner == world.center_comm_a  # village-level category, community center
    assert case.owner_code == world.comm_a.code
    assert len(case.tracking_code) == 12
    row = CaseAction.objects.get(case=case)
    assert (row.action, row.from_state, row.to_state, row.role) == (
        "report",
        "",
        "reported",
        "grid_worker",
    )


def test_owner_follows_handling_level_and_falls_back_up_the_tree(world, cats):
    # County-level category: the district center owns it.
    case = report(world, cats, category=cats.big, attachments=[photo()])
    assert case.owner == world.center_a
    # Township level, but street A1 has a center: it owns it.
    cats.small.handling_level = HandlingLevel.TOWNSHIP
    cats.small.save()
    assert report(world, cats).owner == world.center_street_a
    # Community B has no center and neither has street B: fall back to district B.
    cats.small.handling_level = HandlingLevel.VILLAGE
    cats.small.save()
    from .conftest import B1

    assert report(world, cats, at=B1, actor=world.citizen, source="citizen").owner == (
        world.center_b
    )


def test_report_with_same_client_id_returns_first_case(world, cats):
    first = report(world, cats, client_id="dev-1234-abcdef")
    again = report(world, cats, client_id="dev-1234-abcdef")
    assert again.pk == first.pk
    assert Case.objects.count() == 1
    assert CaseAction.objects.filter(action="report").count() == 1


def test_client_id_of_another_reporter_is_a_conflict(world, cats):
    report(world, cats, client_id="dev-1234-abcdef")
    with pytest.raises(DomainError) as exc:
        report(world, cats, actor=world.citizen, source="citizen", client_id="dev-1234-abcdef")
    assert exc.value.code == "client_id_conflict" and exc.value.status == 409


def test_report_race_on_client_id_returns_first_case(world, cats, monkeypatch):
    """The unique constraint decides: a first delivery looks nothing up, a second one is refused
    by the constraint (as the loser of a race is) and then answered with the first case."""
    calls = []
    real = services._existing_report

    def counted(client_id, actor, phone):
        calls.append(client_id)
        return real(client_id, actor, phone)

    monkeypatch.setattr(services, "_existing_report", counted)
    first = report(world, cats, client_id="race-0000-0001")
    assert calls == []
    again = report(world, cats, client_id="race-0000-0001")
    assert again.pk == first.pk and Case.objects.count() == 1 and calls == ["race-0000-0001"]


def test_retry_whose_inputs_no_longer_pass_returns_the_first_case(world, cats):
    """A retry answers with the first case even when its payload would now be refused (the
    category was retired meanwhile, the photo is already attached to the first case)."""
    cats.small.photo_required = True
    cats.small.save(update_fields=["photo_required"])
    att = attachment_save(attachment_prepare(photo()), uploaded_by=world.worker_a1)
    first = report(world, cats, client_id="stale-0000-0001", attachments=[att.pk])
    with pytest.raises(DomainError) as exc:  # the photo is used: refused for a new report
        report(world, cats, client_id="stale-0000-0009", attachments=[att.pk])
    assert exc.value.code == "invalid_attachment"
    again = report(world, cats, client_id="stale-0000-0001", attachments=[att.pk])
    cats.small.is_active = False
    cats.small.save(update_fields=["is_active"])
    third = report(world, cats, client_id="stale-0000-0001", attachments=[att.pk])
    assert again.pk == third.pk == first.pk and Case.objects.count() == 1
    with pytest.raises(DomainError) as exc:
        report(world, cats, actor=world.citizen, source="citizen", client_id="stale-0000-0001")
    assert exc.value.code == "client_id_conflict" and exc.value.field == "client_id"
    with pytest.raises(DomainError) as exc:
        report(world, cats, client_id="stale-0000-0002")
    assert exc.value.code == "invalid_category" and exc.value.field == "category"


def test_anonymous_report_needs_phone(world, cats):
    with pytest.raises(DomainError) as exc:
        services.case_report(
            actor=None, category=cats.small, description="x", lat=A1[0], lng=A1[1], source="citizen"
        )
    assert exc.value.field == "reporter_phone"
    case = services.case_report(
        actor=None,
        category=cats.small,
        description="x",
        lat=A1[0],
        lng=A1[1],
        source="citizen",
        reporter_phone="13900001111",
    )
    assert case.reporter is None and case.reporter_phone == "13900001111"


@pytest.mark.parametrize(
    "source,persona,ok",
    [
        ("grid_worker", "worker_a1", True),
        ("grid_worker", "citizen", False),
        ("hotline", "operator_a", True),
        ("hotline", "worker_a1", False),
        ("department", "handler_a", True),
        ("citizen", "citizen", True),
    ],
)
def test_report_source_requires_matching_role(world, cats, source, persona, ok):
    kw = dict(
        actor=getattr(world, persona),
        category=cats.small,
        description="井盖缺失",
        lat=A1[0],
        lng=A1[1],
        source=source,
    )
    if ok:
        assert services.case_report(**kw).source == source
    else:
        with pytest.raises(DomainError) as exc:
            services.case_report(**kw)
        assert exc.value.field == "source"


@pytest.mark.parametrize(
    "field,kw",
    [
        ("category", {"category": "9999"}),
        ("description", {"description": "  "}),
        ("location", {"lat": None}),
        ("location", {"lat": 200}),
        ("location", {"lat": 30.0, "lng": 100.0}),  # far outside every grid
        ("crs", {"crs": "mars"}),
        ("source", {"source": "telepathy"}),
        ("flow", {"flow": "other"}),
        ("priority", {"priority": 9}),
    ],
)
def test_bad_report_names_the_field_and_creates_nothing(world, cats, field, kw):
    args = dict(
        actor=world.worker_a1,
        category=cats.small,
        description="占道经营",
        lat=A1[0],
        lng=A1[1],
        source="grid_worker",
    )
    args.update(kw)
    with pytest.raises(DomainError) as exc:
        services.case_report(**args)
    assert exc.value.field == field
    assert Case.objects.count() == 0


def test_photo_required_category_needs_photo_from_the_field_app(world, cats):
    with pytest.raises(DomainError) as exc:
        report(world, cats, category=cats.big)
    assert exc.value.code == "photo_required"
    case = report(world, cats, category=cats.big, attachments=[photo()])
    assert Attachment.objects.filter(case=case, kind="image").count() == 1


def test_point_in_a_gap_goes_to_nearest_grids_community(world, cats, monkeypatch):
    from types import SimpleNamespace

    from civicgrid.cases import services as svc

    monkeypatch.setattr(
        svc,
        "locate",
        lambda lat, lng, crs="wgs84": SimpleNamespace(
            lat=lat,
            lng=lng,
            grid_id=None,
            grid_code=None,
            micro_grid_id=None,
            micro_grid_code=None,
            area_code=None,
            nearest_grid_code=world.grid_a1.code,
            distance_m=120.0,
            found=False,
        ),
    )
    case = report(world, cats)
    assert case.grid is None and case.area == world.comm_a
    assert case.scope_code == world.comm_a.code
    assert CaseAction.objects.get(case=case).data["offgrid"]["distance_m"] == 120


# --- accept, dispatch, return, rework ----------------------------------------------------------


def test_accept_sets_category_priority_and_deadlines(world, cats):
    case = report(world, cats, category=cats.big, attachments=[photo()])
    with time_machine.travel(dt.datetime(2025, 3, 3, 10, 0, tzinfo=TZ), tick=False):
        services.case_accept(case=case, actor=world.operator_a, category=cats.big, priority=4)
    case.refresh_from_db()
    assert case.state == State.FILED and case.priority == 4
    # natural 48 h
    assert case.final_due == dt.datetime(2025, 3, 5, 10, 0, tzinfo=TZ)
    assert case.handling_due == case.final_due == case.sla_due_at


def test_dispatch_to_department_out_of_area_is_refused(world, cats):
    case = drive(world, cats, State.FILED)
    with pytest.raises(DomainError) as exc:
        services.case_dispatch(case=case, actor=world.operator_a, department=world.dept_b)
    assert exc.value.code == "department_out_of_scope" and exc.value.field == "department"


def test_dispatch_to_worker_of_another_grid_is_refused(world, cats):
    case = drive(world, cats, State.FILED, at=A2)
    with pytest.raises(DomainError) as exc:
        services.case_dispatch(case=case, actor=world.operator_a, worker=world.worker_a1)
    assert exc.value.code == "worker_out_of_scope"


def test_redispatch_before_signing_and_return_with_reason(world, cats):
    case = drive(world, cats, State.ASSIGNED)
    services.case_dispatch(case=case, actor=world.operator_a, worker=world.worker_a1)
    case.refresh_from_db()
    assert case.worker == world.worker_a1 and case.department is None
    assert case.dispatch_count == 2
    services.case_return(case=case, actor=world.worker_a1, reason="不是网格员能处理的")
    case.refresh_from_db()
    assert case.state == State.FILED and case.return_count == 1 and case.worker is None
    with pytest.raises(DomainError):
        services.case_return(case=case, actor=world.worker_a1, reason="again")


def test_rework_counts_and_goes_back_to_the_doer(world, cats):
    case = drive(world, cats, State.HANDLED)
    services.case_rework(case=case, actor=world.operator_a, reason="未清理干净")
    services.case_submit(case=case, actor=world.handler_a, result="再次清理", attachments=[photo()])
    services.case_rework(case=case, actor=world.operator_a, reason="仍有残留")
    case.refresh_from_db()
    assert case.state == State.IN_PROGRESS and case.rework_count == 2


def test_grid_worker_of_the_grid_may_verify_but_not_own_result(world, cats):
    case = drive(world, cats, State.HANDLED)
    services.case_verify(case=case, actor=world.worker_a1, note="现场核实已清理")
    assert case.state == State.CLOSED
    own = drive(world, cats, State.FILED)
    services.case_dispatch(case=own, actor=world.operator_a, worker=world.worker_a1)
    services.case_sign(case=own, actor=world.worker_a1)
    services.case_submit(case=own, actor=world.worker_a1, result="已处理", attachments=[photo()])
    with pytest.raises(DomainError) as exc:
        services.case_verify(case=own, actor=world.worker_a1, note="自己核实")
    assert exc.value.code == "own_work"


def test_grid_chief_dispatched_a_case_cannot_verify_the_result_they_submitted(world, cats):
    """A3: whoever submitted a result never verifies or closes it, whatever role they act in."""
    case = drive(world, cats, State.FILED)
    services.case_dispatch(case=case, actor=world.operator_a, worker=world.chief_a)
    services.case_sign(case=case, actor=world.chief_a)
    services.case_submit(case=case, actor=world.chief_a, result="已处理", attachments=[photo()])
    assert "verify" not in allowed_actions(world.chief_a, case)
    assert "rework" not in allowed_actions(world.chief_a, case)
    for action in ("verify", "rework"):
        with pytest.raises(DomainError) as exc:
            getattr(services, f"case_{action}")(
                case=case,
                actor=world.chief_a,
                role="grid_chief",
                **{"verify": {"note": "自己核实"}, "rework": {"reason": "x"}}[action],
            )
        assert (exc.value.code, exc.value.status) == ("own_work", 403)
    case.refresh_from_db()
    assert case.state == State.HANDLED
    services.case_verify(case=case, actor=world.operator_a, note="核实")
    assert case.state == State.CLOSED


def test_an_operator_who_submitted_cannot_verify_as_operator(world, cats):
    """A3: holding operator and handler capacities at once does not make verification own."""
    omni = UserFactory(username="op_handler")
    assign(omni, Role.OPERATOR, world.dist_a, center=world.center_a)
    assign(omni, Role.HANDLER, world.dist_a, department=world.dept_a)
    case = drive(world, cats, State.ASSIGNED)
    services.case_sign(case=case, actor=omni)
    services.case_submit(case=case, actor=omni, result="已处理", attachments=[photo()])
    with pytest.raises(DomainError) as exc:
        services.case_verify(case=case, actor=omni, note="核实", role="operator")
    assert exc.value.code == "own_work"


def test_attaching_is_an_action_of_those_who_act_on_the_case(world, cats):
    """A13: a leader (who may view the case) cannot attach; a handler's upload is logged."""
    from civicgrid.cases.models import Attachment, CaseAction

    case = drive(world, cats, State.IN_PROGRESS)
    before = case.version
    with pytest.raises(DomainError) as exc:
        services.attachment_upload(case=case, actor=world.leader_a, file=photo())
    assert exc.value.status == 403
    assert not Attachment.objects.filter(case=case).exists()
    att = services.attachment_upload(case=case, actor=world.handler_a, file=photo())
    row = CaseAction.objects.filter(case=case).latest("id")
    assert (row.action, row.actor, row.data["sha256"]) == ("attach", world.handler_a, att.sha256)
    case.refresh_from_db()
    assert case.version == before  # an upload does not stale the handler's next action
    services.case_submit(
        case=case, actor=world.handler_a, result="ok", attachments=[att.pk], expected_version=before
    )


# --- self-close -------------------------------------------------------------------------------


def test_self_close_by_grid_worker_with_result_and_photo(world, cats):
    case = report(world, cats)
    services.case_self_close(
        case=case, actor=world.worker_a1, result="已当场劝离", attachments=[photo()]
    )
    case.refresh_from_db()
    assert case.state == State.CLOSED and case.self_closed and case.closed_at
    row = case.actions.get(action="self_close")
    assert row.attachments.count() == 1 and row.role == "grid_worker"


def test_self_close_refused_for_non_self_closable_category(world, cats):
    case = report(world, cats, category=cats.big, attachments=[photo()])
    with pytest.raises(DomainError) as exc:
        services.case_self_close(
            case=case, actor=world.worker_a1, result="x", attachments=[photo()]
        )
    assert exc.value.code == "not_self_closable"


def test_self_close_needs_a_photo(world, cats):
    case = report(world, cats)
    with pytest.raises(DomainError) as exc:
        services.case_self_close(case=case, actor=world.worker_a1, result="x", attachments=[])
    assert exc.value.field == "attachments"
    case.refresh_from_db()
    assert case.state == State.REPORTED


def test_self_close_only_by_a_worker_of_that_grid(world, cats):
    other = UserFactory(username="worker_a2")
    assign(other, Role.GRID_WORKER, world.comm_a)
    add_member(other, world.grid_a2)
    case = report(world, cats, at=A1)
    with pytest.raises(DomainError) as exc:
        services.case_self_close(case=case, actor=other, result="x", attachments=[photo()])
    assert isinstance(exc.value, NotFound)  # A2's worker cannot even see A1's case


# --- merge ------------------------------------------------------------------------------------


def test_merge_into_open_case(world, cats):
    target = report(world, cats)
    dup = report(world, cats)
    services.case_merge(case=dup, actor=world.operator_a, target=target.tracking_code)
    dup.refresh_from_db()
    assert dup.state == State.MERGED and dup.merged_into == target
    assert dup.sla_due_at is None


@pytest.mark.parametrize("target_state", [State.CLOSED, State.REJECTED, State.MERGED])
def test_merge_refused_into_finished_case(world, cats, target_state):
    target = drive(world, cats, target_state)
    dup = report(world, cats)
    with pytest.raises(DomainError) as exc:
        services.case_merge(case=dup, actor=world.operator_a, target=target)
    assert exc.value.code == "invalid_target" and exc.value.field == "target"


def test_merge_refused_into_itself_or_invisible_case(world, cats):
    dup = report(world, cats)
    with pytest.raises(DomainError) as exc:
        services.case_merge(case=dup, actor=world.operator_a, target=dup)
    assert exc.value.code == "invalid_target"
    from .conftest import B1

    far = report(world, cats, at=B1, actor=world.citizen, source="citizen")
    with pytest.raises(DomainError) as exc:
        services.case_merge(case=dup, actor=world.operator_a, target=far)
    assert exc.value.code == "invalid_target"


# --- escalate ---------------------------------------------------------------------------------


def test_escalation_chain_village_township_county_then_error(world, cats):
    case = report(world, cats)
    assert case.owner == world.center_comm_a
    services.case_escalate(case=case, actor=world.operator_a, reason="村里解决不了")
    assert case.owner == world.center_street_a and case.state == State.REPORTED
    services.case_accept(case=case, actor=world.operator_a, category=cats.small, priority=2)
    services.case_escalate(case=case, actor=world.operator_a, reason="镇里协调不了")
    assert case.owner == world.center_a and case.escalation_count == 2
    city_op = UserFactory(username="city_op")
    assign(city_op, Role.OPERATOR, world.city, center=world.center_city)
    services.case_escalate(case=case, actor=city_op, reason="区里协调不了")
    assert case.owner == world.center_city
    with pytest.raises(DomainError) as exc:
        services.case_escalate(case=case, actor=city_op, reason="再往上")
    assert exc.value.code == "no_parent_center"
    case.refresh_from_db()
    assert case.owner == world.center_city


def test_escalation_moves_operator_rights_up(world, cats):
    village_op = UserFactory(username="village_op")
    assign(village_op, Role.OPERATOR, world.comm_a, center=world.center_comm_a)
    case = report(world, cats)
    services.case_escalate(case=case, actor=village_op, reason="上报")
    with pytest.raises(DomainError) as exc:
        services.case_accept(case=case, actor=village_op, category=cats.small, priority=2)
    assert exc.value.code == "permission_denied"  # still visible in its community, not owner
    services.case_accept(case=case, actor=world.operator_a, category=cats.small, priority=2)


# --- reopen, rating -----------------------------------------------------------------------------


def test_reopen_within_30_days_only(world, cats):
    case = drive(world, cats, State.CLOSED)
    with time_machine.travel(timezone.now() + dt.timedelta(days=29)):
        services.case_reopen(case=case, actor=world.operator_a, reason="问题反弹")
    assert case.state == State.FILED and case.reopen_count == 1 and case.closed_at is None
    late = drive(world, cats, State.CLOSED)
    with time_machine.travel(timezone.now() + dt.timedelta(days=31)):
        with pytest.raises(DomainError) as exc:
            services.case_reopen(case=late, actor=world.operator_a, reason="太晚")
    assert exc.value.code == "reopen_window_passed"


def _citizen_closed(world, cats, **kw):
    case = report(world, cats, actor=world.citizen, source="citizen", **kw)
    return drive(world, cats, State.CLOSED, case=case)


def _phoned_closed(world, cats, source="citizen"):
    from django.contrib.auth.models import AnonymousUser

    if source == "hotline":
        case = report(
            world,
            cats,
            actor=world.operator_a,
            source="hotline",
            reporter_name="李女士",
            reporter_phone="13900000002",
        )
    else:
        case = report(
            world, cats, actor=AnonymousUser(), source=source, reporter_phone="13900000002"
        )
    return drive(world, cats, State.CLOSED, case=case)


def test_rating_once_by_reporter_with_score_1_to_5(world, cats):
    case = _citizen_closed(world, cats)
    with pytest.raises(DomainError) as exc:
        services.case_rate(case=case, actor=world.citizen, score=6)
    assert exc.value.field == "score"
    services.case_rate(case=case, actor=world.citizen, score=4, text="满意")
    case.refresh_from_db()
    assert case.satisfaction == 4
    with pytest.raises(DomainError) as exc:
        services.case_rate(case=case, actor=world.citizen, score=5)
    assert exc.value.code == "already_rated"


def test_staff_cannot_rate_in_the_reporters_place(world, cats):
    """A2: an operator (or anyone else acting on the case) cannot rate a citizen's report."""
    case = _citizen_closed(world, cats)
    for actor in (world.operator_a, world.worker_a1, world.leader_a):
        with pytest.raises(DomainError) as exc:
            services.case_rate(case=case, actor=actor, score=5)
        assert exc.value.status == 403
    case.refresh_from_db()
    assert case.satisfaction is None


def test_staff_filed_report_carries_no_citizen_rating(world, cats):
    """A2: a grid worker reports, self-closes or gets closed, and cannot rate their own work."""
    case = drive(world, cats, State.CLOSED)  # reported by worker_a1 from the grid worker app
    assert "rate" not in allowed_actions(world.worker_a1, case)
    with pytest.raises(DomainError) as exc:
        services.case_rate(case=case, actor=world.worker_a1, score=5, role="reporter")
    assert exc.value.status == 403
    with pytest.raises(DomainError):
        services.case_rate_public(tracking_code=case.tracking_code, score=5)
    case.refresh_from_db()
    assert case.satisfaction is None


def test_public_rating_by_tracking_code(world, cats):
    case = _phoned_closed(world, cats)
    row = services.case_rate_public(tracking_code=case.tracking_code.lower(), score=3)
    assert row.actor is None and row.role == "reporter"
    with pytest.raises(NotFound):
        services.case_rate_public(tracking_code="NOPE", score=3)


def test_public_rating_refused_to_staff_and_to_others_of_a_signed_in_report(world, cats):
    """A2: knowing the code is not enough when staff hold it or a signed-in citizen reported."""
    anon = _phoned_closed(world, cats)
    with pytest.raises(DomainError) as exc:
        services.case_rate_public(tracking_code=anon.tracking_code, score=5, actor=world.operator_a)
    assert exc.value.status == 403
    mine = _citizen_closed(world, cats)
    with pytest.raises(DomainError):
        services.case_rate_public(tracking_code=mine.tracking_code, score=5)
    services.case_rate_public(tracking_code=mine.tracking_code, score=5, actor=world.citizen)
    mine.refresh_from_db()
    assert mine.satisfaction == 5


def test_hotline_callback_names_the_caller_and_is_not_a_rating(world, cats):
    """A2: the operator records a hotline caller's 回访; it never becomes the satisfaction."""
    case = _phoned_closed(world, cats, source="hotline")
    assert "rate" not in allowed_actions(world.operator_a, case)
    assert "callback" in allowed_actions(world.operator_a, case)
    with pytest.raises(DomainError) as exc:
        services.case_callback(case=case, actor=world.operator_a, caller="", score=4)
    assert exc.value.field == "caller"
    row = services.case_callback(case=case, actor=world.operator_a, caller="李女士", score=4)
    assert row.action == "callback" and row.data == {
        "caller": "李女士",
        "score": 4,
        "callback": True,
    }
    case.refresh_from_db()
    assert case.satisfaction is None
    with pytest.raises(DomainError):
        services.case_callback(case=case, actor=world.worker_a1, caller="李女士", score=4)


# --- extension, suspension --------------------------------------------------------------------


def test_extension_moves_final_deadline_and_counts(world, cats):
    case = drive(world, cats, State.IN_PROGRESS)
    old_due = case.final_due
    new_due = old_due + dt.timedelta(days=10)
    services.case_extension_request(
        case=case, actor=world.handler_a, due=new_due, reason="需采购材料"
    )
    with pytest.raises(DomainError) as exc:
        services.case_extension_request(
            case=case, actor=world.handler_a, due=new_due + dt.timedelta(days=1), reason="again"
        )
    assert exc.value.code == "request_pending"
    services.case_extension_approve(case=case, actor=world.operator_a)
    case.refresh_from_db()
    assert case.final_due == new_due and case.handling_due == old_due
    assert case.sla_due_at == new_due and case.extension_count == 1
    req = ExtensionRequest.objects.get(case=case)
    assert req.state == RequestState.APPROVED and req.decided_by == world.operator_a


def test_extension_denied_keeps_deadline(world, cats):
    case = drive(world, cats, State.IN_PROGRESS)
    old_due = case.final_due
    services.case_extension_request(
        case=case, actor=world.handler_a, due=old_due + dt.timedelta(days=3), reason="r"
    )
    services.case_extension_deny(case=case, actor=world.operator_a, reason="无正当理由")
    case.refresh_from_db()
    assert case.final_due == old_due and case.extension_count == 0


def test_extension_must_be_later_than_current_deadline(world, cats):
    case = drive(world, cats, State.IN_PROGRESS)
    with pytest.raises(DomainError) as exc:
        services.case_extension_request(
            case=case, actor=world.handler_a, due=case.final_due - dt.timedelta(hours=1), reason="r"
        )
    assert exc.value.field == "due"


def test_approve_without_pending_request_is_refused(world, cats):
    case = drive(world, cats, State.IN_PROGRESS)
    with pytest.raises(DomainError) as exc:
        services.case_extension_approve(case=case, actor=world.operator_a)
    assert exc.value.code == "no_pending_request"


def test_suspension_stops_the_clock_and_resume_restores_remaining_time(world, cats):
    cats.small.sla_unit = "natural"
    cats.small.handling_limit = 48
    cats.small.save()
    t0 = dt.datetime(2025, 3, 3, 9, 0, tzinfo=TZ)
    with time_machine.travel(t0, tick=False):
        case = drive(world, cats, State.IN_PROGRESS)
    with time_machine.travel(t0 + dt.timedelta(hours=8), tick=False):
        services.case_suspend_request(
            case=case, actor=world.handler_a, reason="待法院判决", review_date=dt.date(2025, 4, 1)
        )
        services.case_suspend_approve(case=case, actor=world.operator_a)
    assert case.state == State.SUSPENDED and case.sla_due_at is None
    assert case.suspended_review_date == dt.date(2025, 4, 1)
    with time_machine.travel(t0 + dt.timedelta(days=20), tick=False):
        services.case_resume(case=case, actor=world.operator_a)
    case.refresh_from_db()
    # 40 h were left when the clock stopped
    assert case.final_due == t0 + dt.timedelta(days=20, hours=40)
    assert case.state == State.IN_PROGRESS


# --- supervise, comment, log ------------------------------------------------------------------


def test_supervise_counts_without_state_change_and_is_answered_by_the_handler(world, cats):
    case = drive(world, cats, State.IN_PROGRESS)
    services.case_supervise(case=case, actor=world.leader_a, note="尽快处理")
    case.refresh_from_db()
    assert case.state == State.IN_PROGRESS and case.supervision_count == 1
    sup = Supervision.objects.get(case=case)
    assert sup.department == world.dept_a and sup.answered_at is None
    services.case_comment(case=case, actor=world.handler_a, text="已安排人员")
    sup.refresh_from_db()
    assert sup.answered_at is not None


def test_comment_does_not_bump_version(world, cats):
    case = drive(world, cats, State.CLOSED)
    v = case.version
    services.case_comment(case=case, actor=world.operator_a, text="回访完成")
    case.refresh_from_db()
    assert case.version == v


def test_action_log_is_append_only(world, cats):
    case = report(world, cats)
    row = case.actions.get()
    row.note = "tampered"
    with pytest.raises(PermissionError):
        row.save()
    with pytest.raises(PermissionError):
        row.delete()
    with pytest.raises(PermissionError):
        CaseAction.objects.filter(case=case).update(note="x")
    with pytest.raises(PermissionError):
        CaseAction.objects.filter(case=case).delete()
    assert CaseAction.objects.get(pk=row.pk).note == ""


# --- notifications ------------------------------------------------------------------------------


def test_notifications_are_sent_after_commit_and_failures_do_not_undo(
    world, cats, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []

    def fake(**kw):
        sent.append(kw)
        raise RuntimeError("sms gateway down")

    import civicgrid.notifications.services as ns

    monkeypatch.setattr(ns, "notify", fake)
    case = drive(world, cats, State.FILED)
    with django_capture_on_commit_callbacks(execute=True):
        services.case_dispatch(case=case, actor=world.operator_a, department=world.dept_a)
    case.refresh_from_db()
    assert case.state == State.ASSIGNED
    assert sent and sent[-1]["kind"] == "case_dispatched"
    assert world.handler_a in sent[-1]["users"]


def test_no_notification_when_the_transition_fails(
    world, cats, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    import civicgrid.notifications.services as ns

    monkeypatch.setattr(ns, "notify", lambda **kw: sent.append(kw))
    case = drive(world, cats, State.FILED)
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(DomainError):
            with transaction.atomic():
                services.case_dispatch(case=case, actor=world.operator_a, department=world.dept_b)
    assert sent == []


# --- 六联单 -------------------------------------------------------------------------------------


def test_service_order_flow_runs_on_the_same_engine_with_its_labels(world, cats):
    case = report(world, cats, flow=Flow.SERVICE)
    assert "群众点单" in action_label("report", case.flow)
    assert "网格接单" in action_label("accept", Flow.SERVICE)
    assert "村社派单" in action_label("dispatch", Flow.SERVICE)
    assert "党员履单" in action_label("submit", Flow.SERVICE)
    assert "督查兑单" in action_label("verify", Flow.SERVICE)
    assert "归档销单" in state_label("closed", Flow.SERVICE)
    assert action_label("accept", Flow.CASE) != action_label("accept", Flow.SERVICE)
    drive(world, cats, State.CLOSED, case=case)
    assert case.state == State.CLOSED and case.flow == Flow.SERVICE


# --- grid tasks & the admission firewall -------------------------------------------------------


@pytest.fixture
def admitted(world):
    return AdmissionItem.objects.create(
        department=world.dept_a,
        code="CG-01",
        name="门前三包巡查",
        legal_basis="《城市市容和环境卫生管理条例》第十条",
    )


def test_grid_task_for_admitted_item_goes_to_the_grid_worker(world, admitted):
    task = services.grid_task_create(
        actor=world.handler_a,
        department=world.dept_a,
        item=admitted,
        grid=world.grid_a1,
        title="核查沿街商户门前三包",
        deadline=timezone.now() + dt.timedelta(days=3),
    )
    assert task.worker == world.worker_a1 and task.scope_code == world.grid_a1.code
    done = services.grid_task_complete(
        task=task, actor=world.worker_a1, result="已核查12户", attachments=[photo()]
    )
    assert done.state == "done" and done.attachments.count() == 1


def test_grid_task_outside_admission_list_is_refused_by_the_firewall(world, admitted):
    other = AdmissionItem.objects.create(department=world.dept_b, code="X-9", name="人口普查入户")
    for item in ("NOT-LISTED", other):
        with pytest.raises(DomainError) as exc:
            services.grid_task_create(
                actor=world.handler_a,
                department=world.dept_a,
                item=item,
                grid=world.grid_a1,
                title="入户调查",
                deadline=timezone.now() + dt.timedelta(days=3),
            )
        assert exc.value.code == "not_admitted" and exc.value.field == "item"
        assert world.dept_a.name in exc.value.message
    from civicgrid.cases.admission import admission_act

    admission_act(item=admitted, action="retire", actor=world.handler_a, reason="事项调整")
    with pytest.raises(DomainError) as exc:
        services.grid_task_create(
            actor=world.handler_a,
            department=world.dept_a,
            item=admitted,
            grid=world.grid_a1,
            title="x",
            deadline=timezone.now() + dt.timedelta(days=3),
        )
    assert exc.value.code == "not_admitted" and admitted.name in exc.value.message
    assert GridTask.objects.count() == 0


def test_grid_task_only_by_handler_of_the_department_serving_the_grid(world, admitted):
    with pytest.raises(DomainError) as exc:
        services.grid_task_create(
            actor=world.operator_a,
            department=world.dept_a,
            item=admitted,
            grid=world.grid_a1,
            title="x",
            deadline=timezone.now() + dt.timedelta(days=3),
        )
    assert exc.value.code == "permission_denied"
    with pytest.raises(DomainError):
        services.grid_task_create(
            actor=world.handler_a,
            department=world.dept_a,
            item=admitted,
            grid=world.grid_b1,
            title="x",
            deadline=timezone.now() + dt.timedelta(days=3),
        )


def test_grid_task_completed_only_by_its_worker_once(world, admitted):
    task = services.grid_task_create(
        actor=world.handler_a,
        department=world.dept_a,
        item=admitted,
        grid=world.grid_a1,
        title="x",
        deadline=timezone.now() + dt.timedelta(days=3),
    )
    with pytest.raises(NotFound):
        services.grid_task_complete(task=task, actor=world.chief_a, result="x")
    services.grid_task_complete(task=task, actor=world.worker_a1, result="ok")
    with pytest.raises(DomainError) as exc:
        services.grid_task_complete(task=task, actor=world.worker_a1, result="ok")
    assert exc.value.code == "action_not_allowed"


def test_a_new_township_center_takes_over_its_villages_cases(world, cats):
    from .conftest import B1

    before = report(world, cats, at=B1, actor=world.citizen, source="citizen")
    street_b = CenterFactory(area=world.street_b)
    after = report(world, cats, at=B1, actor=world.citizen, source="citizen")
    assert before.owner == world.center_b and after.owner == street_b


@pytest.mark.parametrize(
    "level, expected",
    [(4, "center_comm_a"), (3, "center_street_a"), (2, "center_a"), (1, "center_city")],
)
def test_owner_center_is_the_nearest_at_or_above_the_handling_level(world, cats, level, expected):
    cats.small.handling_level = level
    owner = services.owner_center_for(world.grid_a1.area, cats.small)
    assert owner.pk == getattr(world, expected).pk
    assert owner.area.code == getattr(world, expected).area.code


def test_owner_center_skips_levels_without_a_center(world, cats):
    world.center_comm_a.delete()
    world.center_street_a.delete()
    assert services.owner_center_for(world.grid_a1.area, cats.small).pk == world.center_a.pk
    from civicgrid.territory.tests.factories import AreaFactory

    city = AreaFactory(code="150100000000")
    county = AreaFactory(code="150102000000", parent=city)
    street = AreaFactory(code="150102001000", parent=county)
    village = AreaFactory(code="150102001001", parent=street)
    with pytest.raises(DomainError) as exc:
        services.owner_center_for(village, cats.small)
    assert exc.value.code == "no_center" and exc.value.field == "location"


def test_report_outcome_says_whether_this_call_created_the_case(world, cats):
    kw = dict(actor=world.worker_a1, category=cats.small, description="x", lat=A1[0],
              lng=A1[1], source="grid_worker", client_id="outcome-0000-0001")  # fmt: skip
    first, created, log = services.case_report_outcome(**kw)
    again, created_again, no_log = services.case_report_outcome(**kw)
    assert (created, created_again) == (True, False) and again.pk == first.pk
    assert log == first.actions.get() and no_log is None
