"""Test senders: one that records what it was given, one that always fails."""

from civicgrid.notifications.senders import BaseSender, SendError


class RecordingSender(BaseSender):
    sent: list[tuple[str, str]] = []

    def send(self, *, to: str, body: str) -> str | None:
        RecordingSender.sent.append((to, body))
        return "msg-1"


class FailingSender(BaseSender):
    def send(self, *, to: str, body: str) -> str | None:
        raise SendError("gateway timeout")
