"""Append to, verify and purge the audit chain. ``record`` is the only way a row is written."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import ipaddress
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from django.conf import settings
from django.db import IntegrityError, connection, models, transaction
from django.db.models.fields.files import FieldFile
from django.utils import timezone

from .context import Actor, current_actor
from .models import Action, AuditChain, AuditEvent

log = logging.getLogger("civicgrid.audit")

MIN_RETENTION_DAYS = 180
HASHED_FIELDS = (
    "seq",
    "created_at",
    "actor_id",
    "actor_label",
    "ip",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "before",
    "after",
    "details",
)


# --- canonical content and hashing ------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """A JSON value that survives a round trip through SQLite JSON and PostgreSQL jsonb unchanged.

    Floats are kept as their repr: jsonb rewrites ``1e16`` as ``10000000000000000``, which would
    read back as an int and break the hash. Bytes are summarised by their SHA-256 and length.
    """
    if value is None or isinstance(value, bool | int | str):
        return value.replace("\x00", "") if isinstance(value, str) else value
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = value.astimezone(dt.UTC)
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        # 5, 5.0 and 5.00 are one value: the database's scale must not look like a change.
        return format(value.normalize(), "f") if value.is_finite() else str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        return {"sha256": hashlib.sha256(raw).hexdigest(), "bytes": len(raw)}
    if isinstance(value, FieldFile):
        return value.name or ""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [jsonable(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    return str(value)


def _timestamp(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def canonical(event: AuditEvent) -> bytes:
    """The bytes the hash covers: every content field, sorted keys, no whitespace, UTF-8."""
    data = {name: getattr(event, name) for name in HASHED_FIELDS}
    data["created_at"] = _timestamp(event.created_at)
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(prev_hash: str, content: bytes) -> str:
    digest = hashes.Hash(hashes.SM3())
    digest.update(prev_hash.encode("ascii"))
    digest.update(content)
    return digest.finalize().hex()


def _normal_ip(ip: str | None) -> str:
    if not ip:
        return ""
    try:
        return str(ipaddress.ip_address(ip.strip()))
    except ValueError:
        return ""


def _lock_head() -> AuditChain:
    """The chain head, locked until the surrounding transaction ends (appends never fork)."""
    head = AuditChain.objects.select_for_update().filter(pk=1).first()
    if head is None:
        try:
            with transaction.atomic():
                AuditChain.objects.create(pk=1)
        except IntegrityError:
            pass  # another process created it first
        head = AuditChain.objects.select_for_update().get(pk=1)
    return head


# --- appending --------------------------------------------------------------------------------


def describe(obj: models.Model | None) -> tuple[str, str, str]:
    if obj is None:
        return "", "", ""
    return obj._meta.label_lower, str(obj.pk if obj.pk is not None else ""), str(obj)[:200]


def record(
    action: str,
    *,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    before: Any = None,
    after: Any = None,
    details: Any = None,
    actor: Actor | None = None,
    at: dt.datetime | None = None,
) -> AuditEvent:
    """Append one event to the chain, in the caller's transaction (it commits or rolls back with
    the change it describes). ``actor`` defaults to the current request's user and address."""
    if action not in Action.values:
        raise ValueError(f"unknown audit action {action!r}")
    if obj is not None:
        t, i, r = describe(obj)
        object_type, object_id, object_repr = object_type or t, object_id or i, object_repr or r
    who = actor or current_actor()
    user = who.user if getattr(who.user, "pk", None) else None
    with transaction.atomic():
        head = _lock_head()
        event = AuditEvent(
            seq=head.last_seq + 1,
            created_at=at or timezone.now(),
            actor=user,
            actor_label=(who.label or "")[:150],
            ip=_normal_ip(who.ip),
            action=action,
            object_type=object_type[:60],
            object_id=str(object_id)[:64],
            object_repr=str(object_repr)[:200],
            before=jsonable(before),
            after=jsonable(after),
            details=jsonable(details),
            prev_hash=head.last_hash,
        )
        event.hash = chain_hash(event.prev_hash, canonical(event))
        event._appending = True
        event.save(force_insert=True)
        AuditChain.objects.filter(pk=1).update(last_seq=event.seq, last_hash=event.hash)
    # A copy of each hash in the process log: a rewrite of the database cannot reach it.
    log.info("audit #%s %s %s %s %s", event.seq, action, object_type, object_id, event.hash)
    return event


# --- verifying --------------------------------------------------------------------------------


@dataclass
class Break:
    seq: int | None
    reason: str

    def __str__(self) -> str:
        where = f"row #{self.seq}" if self.seq is not None else "chain head"
        return f"{where}: {self.reason}"


def verify(*, chunk: int = 2000) -> tuple[int, Break | None]:
    """Walk the chain from the anchor; return (rows checked, first break or None)."""
    head = AuditChain.objects.filter(pk=1).first() or AuditChain(pk=1)
    expected_seq, prev = head.anchor_seq + 1, head.anchor_hash
    checked = 0
    qs = AuditEvent.objects.order_by("seq")
    for event in qs.iterator(chunk_size=chunk):
        if event.seq != expected_seq:
            return checked, Break(
                event.seq, f"sequence gap: expected #{expected_seq}, found #{event.seq}"
            )
        if event.prev_hash != prev:
            return checked, Break(event.seq, "previous-hash link does not match the row before")
        if chain_hash(prev, canonical(event)) != event.hash:
            return checked, Break(event.seq, "content does not match its hash (row altered)")
        prev, expected_seq = event.hash, expected_seq + 1
        checked += 1
    if head.last_seq != expected_seq - 1 or head.last_hash != prev:
        return checked, Break(
            None,
            f"head says #{head.last_seq}, the rows end at #{expected_seq - 1} (rows removed)",
        )
    return checked, None


# --- retention --------------------------------------------------------------------------------


def retention_days() -> int:
    return max(MIN_RETENTION_DAYS, int(getattr(settings, "AUDIT_RETENTION_DAYS", 180)))


class RetentionError(Exception):
    pass


def purge(*, before: dt.datetime, actor: Actor | None = None) -> int:
    """Delete the oldest events created before ``before``; refuse anything inside retention.

    The chain stays verifiable: the last purged row's seq and hash become the anchor, and the
    purge itself is an event on the chain naming the anchor.
    """
    limit = timezone.now() - dt.timedelta(days=retention_days())
    if before > limit:
        raise RetentionError(
            f"audit rows are kept {retention_days()} days: the cut-off must be on or before "
            f"{limit:%Y-%m-%d %H:%M}"
        )
    with transaction.atomic():
        head = _lock_head()
        last = (
            AuditEvent.objects.filter(created_at__lt=before)
            .order_by("-seq")
            .values_list("seq", "hash")
            .first()
        )
        if last is None:
            return 0
        through_seq, through_hash = last
        doomed = AuditEvent.objects.filter(seq__lte=through_seq)
        count = doomed.count()
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("SET LOCAL civicgrid.audit_purge = 'on'")
        # The only deletion path: a raw delete, past the append-only queryset.
        doomed._raw_delete(doomed.db)
        anchor_before = {"seq": head.anchor_seq, "hash": head.anchor_hash}
        AuditChain.objects.filter(pk=1).update(anchor_seq=through_seq, anchor_hash=through_hash)
        record(
            Action.PURGE,
            object_type="audit.auditevent",
            object_repr=f"#{head.anchor_seq + 1}–#{through_seq}",
            before={"anchor": anchor_before},
            after={"anchor": {"seq": through_seq, "hash": through_hash}},
            details={"deleted": count, "cutoff": before},
            actor=actor,
        )
    return count
