"""The hash chain: append-only in the ORM, tampering detected, purge keeps it verifiable."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from civicgrid.audit import services
from civicgrid.audit.context import Actor
from civicgrid.audit.models import AppendOnlyError, AuditChain, AuditEvent

SYSTEM = Actor(user=None, label="test", ip="10.0.0.1")


def _append(n: int) -> list[AuditEvent]:
    return [
        services.record(
            "update",
            object_type="cases.category",
            object_id=str(i),
            before={"name": f"old {i}", "limit": 1.5},
            after={"name": f"新 {i}", "limit": 1e16},
            actor=SYSTEM,
        )
        for i in range(n)
    ]


def _raw(sql: str, params=()) -> None:
    """Tamper behind the ORM's back (on PostgreSQL the trigger must be disabled to do so)."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only")
        cur.execute(sql, params)
        if connection.vendor == "postgresql":
            cur.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_event_append_only")


@pytest.mark.django_db
def test_each_row_links_to_the_previous_with_sm3():
    rows = _append(3)
    assert rows[0].prev_hash == "0" * 64
    assert rows[1].prev_hash == rows[0].hash and rows[2].prev_hash == rows[1].hash
    # SM3, recomputed from the row as stored (floats survive the JSON round trip).
    stored = AuditEvent.objects.get(seq=rows[1].seq)
    assert services.chain_hash(stored.prev_hash, services.canonical(stored)) == stored.hash
    assert stored.after == {"name": "新 1", "limit": "1e+16"}
    head = AuditChain.objects.get(pk=1)
    assert (head.last_seq, head.last_hash) == (rows[2].seq, rows[2].hash)
    assert services.verify() == (3, None)


@pytest.mark.django_db
def test_orm_refuses_update_and_delete():
    (event,) = _append(1)
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="delete")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(AppendOnlyError):
        event.delete()
    event.action = "delete"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        AuditEvent(seq=99, created_at=event.created_at, action="login", hash="x").save()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.bulk_create([AuditEvent(seq=98)])
    assert AuditEvent.objects.get(pk=event.pk).action == "update"


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="database trigger: PostgreSQL")
def test_database_refuses_update_and_delete_on_postgresql():
    (event,) = _append(1)
    for sql in (
        "UPDATE audit_auditevent SET action = 'delete' WHERE id = %s",
        "DELETE FROM audit_auditevent WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            with connection.cursor() as cur:
                cur.execute(sql, [event.pk])
    assert AuditEvent.objects.filter(pk=event.pk, action="update").exists()


@pytest.mark.django_db
def test_verify_reports_the_first_altered_row():
    rows = _append(5)
    _raw(
        "UPDATE audit_auditevent SET object_repr = 'forged' WHERE seq = %s",
        [rows[2].seq],
    )
    checked, broken = services.verify()
    assert checked == 2 and broken.seq == rows[2].seq and "altered" in broken.reason
    with pytest.raises(CommandError, match=f"row #{rows[2].seq}"):
        call_command("verify_audit")


@pytest.mark.django_db
def test_verify_reports_a_removed_middle_row_and_a_removed_tail():
    rows = _append(5)
    _raw("DELETE FROM audit_auditevent WHERE seq = %s", [rows[1].seq])
    _, broken = services.verify()
    assert broken.seq == rows[2].seq and "gap" in broken.reason


@pytest.mark.django_db
def test_verify_reports_a_truncated_tail():
    rows = _append(4)
    _raw("DELETE FROM audit_auditevent WHERE seq >= %s", [rows[2].seq])
    checked, broken = services.verify()
    assert checked == 2 and broken.seq is None and "removed" in broken.reason


@pytest.mark.django_db
def test_verify_reports_a_rehashed_row_whose_successor_no_longer_links():
    rows = _append(3)
    forged = AuditEvent.objects.get(seq=rows[1].seq)
    forged.object_repr = "forged"
    new_hash = services.chain_hash(forged.prev_hash, services.canonical(forged))
    _raw(
        "UPDATE audit_auditevent SET object_repr = 'forged', hash = %s WHERE seq = %s",
        [new_hash, rows[1].seq],
    )
    _, broken = services.verify()
    assert broken.seq == rows[2].seq and "link" in broken.reason


@pytest.mark.django_db
def test_verify_command_says_intact(capsys):
    _append(2)
    call_command("verify_audit")
    assert "intact: 2 rows" in capsys.readouterr().out


@pytest.mark.django_db
def test_purge_refuses_rows_inside_retention():
    _append(2)
    with pytest.raises(services.RetentionError):
        services.purge(before=services.timezone.now() - dt.timedelta(days=179))
    with pytest.raises(CommandError, match="180 days"):
        call_command("purge_audit", days=30)
    assert AuditEvent.objects.count() == 2


@pytest.mark.django_db
def test_purge_of_old_rows_keeps_the_chain_verifiable():
    with time_machine.travel(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), tick=False):
        old = _append(3)
    with time_machine.travel(dt.datetime(2026, 9, 1, tzinfo=dt.UTC), tick=False):
        young = _append(2)
        call_command("purge_audit")
        left = list(AuditEvent.objects.order_by("seq"))
        # the three January rows are gone; the purge itself is the last event on the chain
        assert [e.seq for e in left] == [young[0].seq, young[1].seq, young[1].seq + 1]
        purge = left[-1]
        assert purge.action == "purge" and purge.details["deleted"] == 3
        assert purge.after["anchor"] == {"seq": old[-1].seq, "hash": old[-1].hash}
        assert services.verify() == (3, None)
        # and later appends still verify
        _append(1)
        assert services.verify() == (4, None)
