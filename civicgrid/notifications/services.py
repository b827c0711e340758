"""Writes for the inbox and outbound messages.

Notifying is a side effect of a state change and must never undo it: inbox rows are written in
a savepoint (a failure is logged and swallowed), and SMS are handed to the sender only after the
caller's transaction commits, through the task worker, with every failure recorded on the
``OutboundMessage`` row instead of raised.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.core.errors import DomainError, NotFound

from .models import Notification, OutboundMessage
from .senders import get_sms_sender, sender_path

logger = logging.getLogger(__name__)

KIND_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
SMS_MAX_CHARS = 300
# What ``notify`` reads of a recipient: callers may load users with only these fields.
RECIPIENT_FIELDS = ("id", "is_active", "phone")


def normalise_mobile(phone: str) -> str | None:
    """A mainland mobile number as 11 digits, or None when it is not one."""
    digits = re.sub(r"[\s\-()]", "", phone or "")
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix) :]
            break
    return digits if MOBILE_RE.match(digits) else None


def _case_link(case: Any) -> str:
    get_url = getattr(case, "get_absolute_url", None)
    if get_url is None:
        return ""
    try:
        return str(get_url())[:300]
    except Exception:  # a missing URL name must not cost the notification
        return ""


def notify(
    *,
    users: Iterable[Any],
    kind: str,
    title: str,
    body: str = "",
    case: Any = None,
    sms: bool = False,
    phones: Iterable[str] = (),
    url: str = "",
) -> list[Notification]:
    """Put a notice in each active user's inbox; with ``sms`` also text them and ``phones``.

    ``users`` are User objects (duplicates and inactive users are skipped). ``phones`` are extra
    numbers without an account, e.g. an anonymous reporter. SMS go to each recipient's phone and
    to ``phones`` after the caller's transaction commits. Never raises for delivery problems;
    raises DomainError only for a malformed call (bad kind or empty title).
    """
    if not KIND_RE.match(kind or ""):
        raise DomainError(
            "invalid_kind",
            _("Notification kind must be a lower-case identifier."),
            field="kind",
        )
    title = (title or "").strip()
    if not title:
        raise DomainError("required", _("Notification title is required."), field="title")
    title = title[:200]
    body = body or ""

    recipients: dict[int, Any] = {}
    for user in users:
        if user is not None and user.is_active and user.pk not in recipients:
            recipients[user.pk] = user
    case_id = getattr(case, "pk", None)
    tracking_code = str(getattr(case, "tracking_code", "") or "")[:32]
    url = (url or (_case_link(case) if case is not None else ""))[:300]
    now = timezone.now()

    rows = [
        Notification(
            recipient=user,
            kind=kind,
            title=title,
            body=body,
            case_id=case_id,
            tracking_code=tracking_code,
            url=url,
            created_at=now,
        )
        for user in recipients.values()
    ]
    numbers: list[str] = []
    if sms:
        numbers = [u.phone for u in recipients.values() if getattr(u, "phone", "")]
        numbers += [p for p in phones if p]

    try:
        # A savepoint: a failed insert here must not poison the caller's transaction.
        with transaction.atomic():
            if rows:
                Notification.objects.bulk_create(rows)
            message_ids = _queue_sms(numbers, title, body, kind=kind, case_id=case_id)
    except Exception:
        logger.exception("notify(%s) failed; the caller's change is kept", kind)
        return []
    if message_ids:
        transaction.on_commit(lambda: _enqueue_delivery(message_ids), robust=True)
    return rows


def _sms_text(title: str, body: str) -> str:
    text = f"{title}：{body}" if body else title
    return text[:SMS_MAX_CHARS]


def _queue_sms(
    numbers: Iterable[str], title: str, body: str, *, kind: str, case_id: int | None
) -> list[int]:
    """Create the audit rows; numbers that are not mobiles are recorded as failed, not sent."""
    seen: set[str] = set()
    messages = []
    text = _sms_text(title, body)
    for raw in numbers:
        number = normalise_mobile(raw)
        key = number or raw
        if key in seen:
            continue
        seen.add(key)
        msg = OutboundMessage(to=str(raw)[:30], body=text, kind=kind, case_id=case_id)
        if number is None:
            msg.status = OutboundMessage.Status.FAILED
            msg.error = "invalid mobile number"
        else:
            msg.to = number
        messages.append(msg)
    if not messages:
        return []
    OutboundMessage.objects.bulk_create(messages)
    return [m.pk for m in messages if m.status == OutboundMessage.Status.QUEUED]


def _enqueue_delivery(message_ids: list[int]) -> None:
    from .tasks import deliver_outbound

    try:
        deliver_outbound.enqueue(message_ids)
    except Exception:
        # The rows stay queued; `manage.py send_outbound` (or the next sweep) picks them up.
        logger.exception("could not enqueue SMS delivery for %s", message_ids)


def outbound_deliver(
    *, message_ids: Iterable[int] | None = None, retry_failed: bool = False
) -> dict:
    """Hand queued messages (or the given ones) to the configured sender; record each outcome.

    Never raises for a sender failure: the error text is stored on the row and logged.
    """
    statuses = [OutboundMessage.Status.QUEUED]
    if retry_failed:
        statuses.append(OutboundMessage.Status.FAILED)
    qs = OutboundMessage.objects.filter(status__in=statuses).order_by("id")
    if message_ids is not None:
        qs = qs.filter(pk__in=list(message_ids))
    counts = {"sent": 0, "failed": 0}
    try:
        sender = get_sms_sender()
    except Exception as exc:
        logger.exception("SMS sender %s cannot be loaded", sender_path())
        n = qs.update(error=f"sender not available: {exc!r}"[:1000], status="failed")
        counts["failed"] = n
        return counts
    name = sender_path()
    for msg in qs:
        msg.attempts += 1
        msg.sender = name[:200]
        try:
            sender.send(to=msg.to, body=msg.body)
        except Exception as exc:
            logger.warning("SMS %s to %s failed: %r", msg.pk, msg.to, exc)
            msg.status = OutboundMessage.Status.FAILED
            msg.error = repr(exc)[:1000]
            counts["failed"] += 1
        else:
            msg.status = OutboundMessage.Status.SENT
            msg.error = ""
            msg.sent_at = timezone.now()
            counts["sent"] += 1
        msg.save(update_fields=["attempts", "sender", "status", "error", "sent_at"])
    return counts


def notification_mark_read(*, notification: Notification, actor: Any) -> Notification:
    """Mark one of the actor's own notifications read (idempotent); others' answer 404."""
    if notification.recipient_id != getattr(actor, "pk", None):
        raise NotFound("notification")
    if notification.read_at is None:
        now = timezone.now()
        # Filtered update: a concurrent mark-read keeps the first read time.
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now)
        notification.read_at = now
    return notification


def notification_mark_all_read(*, actor: Any) -> int:
    """Mark every unread notification of the actor read; returns how many changed."""
    return Notification.objects.filter(recipient=actor, read_at__isnull=True).update(
        read_at=timezone.now()
    )
