from unittest import mock

import pytest
from django.db import connection, transaction
from django.test import override_settings

from civicgrid.core.errors import DomainError, NotFound
from civicgrid.notifications.models import Notification, OutboundMessage
from civicgrid.notifications.selectors import (
    notification_unread_count,
    notification_unread_state,
    recipients_of_center,
    recipients_of_department,
    recipients_over,
)
from civicgrid.notifications.services import (
    normalise_mobile,
    notification_mark_all_read,
    notification_mark_read,
    notify,
    outbound_deliver,
)
from civicgrid.people.models import User

from .senders import RecordingSender

RECORDING = "civicgrid.notifications.tests.senders.RecordingSender"
FAILING = "civicgrid.notifications.tests.senders.FailingSender"


@pytest.fixture(autouse=True)
def _clear_recording():
    RecordingSender.sent.clear()
    yield
    RecordingSender.sent.clear()


def test_notify_creates_one_row_per_distinct_active_user(world):
    world.chief_a.is_active = False
    world.chief_a.save()
    rows = notify(
        users=[world.operator_a, world.leader_a, world.operator_a, world.chief_a],
        kind="case_overdue",
        title="Case overdue",
        body="due yesterday",
    )
    assert len(rows) == 2
    assert set(Notification.objects.values_list("recipient__username", flat=True)) == {
        "operator_a",
        "leader_a",
    }
    row = Notification.objects.get(recipient=world.operator_a)
    assert (row.kind, row.title, row.body, row.read_at) == (
        "case_overdue",
        "Case overdue",
        "due yesterday",
        None,
    )


def _case(world):
    from civicgrid.cases.models import Case, Category

    category = Category.objects.create(code="01", name="市容环境")
    return Case.objects.create(
        category=category,
        description="垃圾堆放",
        area=world.comm_a,
        grid=world.grid_a1,
        scope_code=world.grid_a1.code,
        source="grid_worker",
        owner=world.center_a,
        owner_code=world.center_a.area.code,
    )


def test_notify_links_the_case_and_copies_its_tracking_code(world):
    case = _case(world)
    notify(users=[world.operator_a], kind="case_dispatched", title="t", case=case)
    row = Notification.objects.get()
    assert row.case == case
    assert row.tracking_code == case.tracking_code


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"kind": "Bad Kind", "title": "x"}, "kind"),
        ({"kind": "", "title": "x"}, "kind"),
        ({"kind": "system", "title": "   "}, "title"),
    ],
)
def test_notify_refuses_malformed_calls_naming_the_field(world, kwargs, field):
    with pytest.raises(DomainError) as err:
        notify(users=[world.operator_a], **kwargs)
    assert err.value.details["field"] == field
    assert not Notification.objects.exists()


@override_settings(CIVICGRID_SMS_SENDER=RECORDING)
def test_sms_is_sent_only_after_the_callers_commit(world, django_capture_on_commit_callbacks):
    world.operator_a.phone = "138 0013 8000"
    world.operator_a.save()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notify(
            users=[world.operator_a],
            kind="case_overdue",
            title="超期",
            body="案件已超期",
            sms=True,
            phones=["+86 139-0000-1111", "13800138000"],
        )
        # Inside the transaction: audit rows queued, nothing handed to the sender yet.
        assert RecordingSender.sent == []
        assert set(OutboundMessage.objects.values_list("status", flat=True)) == {"queued"}
    assert len(callbacks) == 1
    callbacks[0]()
    assert sorted(to for to, _ in RecordingSender.sent) == ["13800138000", "13900001111"]
    assert RecordingSender.sent[0][1] == "超期：案件已超期"
    msgs = OutboundMessage.objects.order_by("to")
    assert [(m.to, m.status, m.attempts) for m in msgs] == [
        ("13800138000", "sent", 1),
        ("13900001111", "sent", 1),
    ]
    assert all(m.sent_at is not None and m.sender == RECORDING for m in msgs)


@override_settings(CIVICGRID_SMS_SENDER=RECORDING)
@pytest.mark.django_db(transaction=True)
def test_rolled_back_transition_sends_nothing_and_leaves_no_inbox_row(world):
    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        notify(users=[world.operator_a], kind="system", title="t", sms=True, phones=["13800138000"])
        raise Boom
    assert RecordingSender.sent == []
    assert not Notification.objects.exists()
    assert not OutboundMessage.objects.exists()


@override_settings(CIVICGRID_SMS_SENDER=FAILING)
@pytest.mark.django_db(transaction=True)
def test_failing_sender_never_rolls_back_or_raises_into_the_callers_transaction(world):
    with transaction.atomic():
        # The caller's own change (standing in for a case transition) in the same transaction.
        User.objects.filter(pk=world.handler_a.pk).update(full_name="changed in transition")
        notify(
            users=[world.handler_a],
            kind="case_dispatched",
            title="派遣",
            sms=True,
            phones=["13800138000"],
        )
    assert User.objects.get(pk=world.handler_a.pk).full_name == "changed in transition"
    assert Notification.objects.filter(recipient=world.handler_a).count() == 1
    failed = OutboundMessage.objects.filter(status="failed")
    assert failed.count() == 2  # the handler's own phone and the extra number
    assert all("gateway timeout" in m.error and m.attempts == 1 for m in failed)


@override_settings(CIVICGRID_SMS_SENDER="civicgrid.notifications.tests.senders.NoSuchSender")
def test_unloadable_sender_marks_messages_failed_instead_of_raising(
    world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        notify(users=[], kind="system", title="t", sms=True, phones=["13800138000"])
    msg = OutboundMessage.objects.get()
    assert msg.status == "failed"
    assert "sender not available" in msg.error


@override_settings(CIVICGRID_SMS_SENDER=RECORDING)
def test_invalid_numbers_are_recorded_as_failed_and_never_sent(
    world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        notify(users=[], kind="system", title="t", sms=True, phones=["12345", "", "13800138000"])
    assert RecordingSender.sent == [("13800138000", "t")]
    bad = OutboundMessage.objects.get(to="12345")
    assert (bad.status, bad.error) == ("failed", "invalid mobile number")


def test_sms_flag_off_queues_no_message(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notify(users=[world.operator_a], kind="system", title="t", phones=["13800138000"])
    assert callbacks == []
    assert not OutboundMessage.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_inbox_write_failure_is_swallowed_and_the_callers_transaction_survives(world):
    with transaction.atomic():
        User.objects.filter(pk=world.handler_a.pk).update(full_name="kept")

        # A real failing statement: on PostgreSQL it aborts the transaction unless the
        # savepoint inside notify() is rolled back.
        def broken_insert(*args, **kwargs):
            with connection.cursor() as cur:
                cur.execute("SELECT * FROM no_such_table")

        with mock.patch.object(Notification.objects, "bulk_create", side_effect=broken_insert):
            assert notify(users=[world.handler_a], kind="system", title="t") == []
        # The transaction is still usable after the failed savepoint.
        User.objects.filter(pk=world.operator_a.pk).update(full_name="also kept")
    assert User.objects.get(pk=world.handler_a.pk).full_name == "kept"
    assert User.objects.get(pk=world.operator_a.pk).full_name == "also kept"


@override_settings(CIVICGRID_SMS_SENDER=RECORDING)
def test_send_outbound_command_delivers_messages_left_queued(world):
    from django.core.management import call_command

    OutboundMessage.objects.create(to="13800138000", body="left behind")
    OutboundMessage.objects.create(to="13800138001", body="failed once", status="failed")
    call_command("send_outbound")
    assert RecordingSender.sent == [("13800138000", "left behind")]
    call_command("send_outbound", "--retry-failed")
    assert ("13800138001", "failed once") in RecordingSender.sent
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {"sent"}


def test_outbound_deliver_leaves_already_sent_messages_alone(world):
    msg = OutboundMessage.objects.create(to="13800138000", body="x", status="sent", attempts=1)
    assert outbound_deliver(message_ids=[msg.pk]) == {"sent": 0, "failed": 0}
    msg.refresh_from_db()
    assert msg.attempts == 1


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("13800138000", "13800138000"),
        ("+86 138-0013-8000", "13800138000"),
        ("008613800138000", "13800138000"),
        ("(138) 0013 8000", "13800138000"),
        ("12800138000", None),
        ("0351-1234567", None),
        ("", None),
    ],
)
def test_normalise_mobile(raw, expected):
    assert normalise_mobile(raw) == expected


def test_mark_read_is_idempotent_and_keeps_the_first_read_time(world):
    (row,) = notify(users=[world.operator_a], kind="system", title="t")
    notification_mark_read(notification=row, actor=world.operator_a)
    first = Notification.objects.get(pk=row.pk).read_at
    assert first is not None
    notification_mark_read(notification=Notification.objects.get(pk=row.pk), actor=world.operator_a)
    assert Notification.objects.get(pk=row.pk).read_at == first


@pytest.mark.parametrize("persona", ["handler_a", "leader_a", "admin", "outsider_b", "citizen"])
def test_mark_read_of_someone_elses_notification_answers_not_found(world, persona):
    (row,) = notify(users=[world.operator_a], kind="system", title="t")
    with pytest.raises(NotFound):
        notification_mark_read(notification=row, actor=getattr(world, persona))
    assert Notification.objects.get(pk=row.pk).read_at is None


def test_mark_all_read_touches_only_the_actors_unread_rows(world):
    notify(users=[world.operator_a, world.leader_a], kind="system", title="one")
    notify(users=[world.operator_a, world.leader_a], kind="system", title="two")
    assert notification_mark_all_read(actor=world.operator_a) == 2
    assert notification_unread_count(world.operator_a) == 0
    assert notification_unread_count(world.leader_a) == 2
    assert notification_mark_all_read(actor=world.operator_a) == 0


def test_unread_state_changes_whenever_the_unread_set_changes(world):
    a = notify(users=[world.operator_a], kind="system", title="a")[0]
    notify(users=[world.operator_a], kind="system", title="b")
    s1 = notification_unread_state(world.operator_a)
    assert s1[0] == 2
    notification_mark_read(notification=a, actor=world.operator_a)
    s2 = notification_unread_state(world.operator_a)
    notify(users=[world.operator_a], kind="system", title="c")
    s3 = notification_unread_state(world.operator_a)
    assert len({s1, s2, s3}) == 3
    assert s3[0] == s1[0]  # same count, different set: the highest id tells them apart


def test_recipients_over_finds_the_roles_above_a_code_only(world):
    leaders = recipients_over(world.grid_a1.code, ["leader"])
    assert list(leaders) == [world.leader_a]
    operators = set(recipients_over(world.grid_a1.code, ["operator"]))
    assert operators == {world.operator_a}
    assert not recipients_over(world.grid_b1.code, ["leader"]).exists()


def test_recipients_of_center_and_department(world):
    assert list(recipients_of_center(world.center_a)) == [world.operator_a]
    assert list(recipients_of_center(world.center_b)) == [world.outsider_b]
    assert list(recipients_of_department(world.dept_a)) == [world.handler_a]
    world.handler_a.is_active = False
    world.handler_a.save()
    assert not recipients_of_department(world.dept_a).exists()
