"""Background delivery of outbound messages (runs on the django-tasks worker)."""

from __future__ import annotations

from django_tasks import task

from .services import outbound_deliver


@task()
def deliver_outbound(message_ids: list[int]) -> dict:
    """Send the given queued messages; failures are recorded on their rows, never raised."""
    return outbound_deliver(message_ids=message_ids)
