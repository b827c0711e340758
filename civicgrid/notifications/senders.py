"""Pluggable outbound senders (SMS today, WeChat templates later).

The option ``SMS_SENDER`` (civicgrid.core.conf) is the dotted path of a class with ``send(*, to, body)``; it
raises on failure and may return a provider message id. The default only logs, so a fresh
install never sends real messages; every attempt is still recorded as an ``OutboundMessage``.
"""

from __future__ import annotations

import logging

from django.utils.module_loading import import_string

from civicgrid.core.conf import options

logger = logging.getLogger("civicgrid.sms")

DEFAULT_SMS_SENDER = "civicgrid.notifications.senders.LogSender"


class SendError(Exception):
    """A sender could not hand the message over; the text is kept on the audit row."""


class BaseSender:
    def send(self, *, to: str, body: str) -> str | None:  # pragma: no cover - interface
        raise NotImplementedError


class LogSender(BaseSender):
    """Writes the message to the log instead of sending it (development and demos)."""

    def send(self, *, to: str, body: str) -> str | None:
        logger.info("SMS to %s: %s", to, body)
        return None


def sender_path() -> str:
    return options().SMS_SENDER or DEFAULT_SMS_SENDER


def get_sms_sender() -> BaseSender:
    return import_string(sender_path())()
