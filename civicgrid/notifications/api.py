"""Inbox over the API: list, unread count (ETag for polling), mark read."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils.http import parse_etags
from ninja import Field, Path, Query, Router, Schema

from civicgrid.api.params import ObjectId

from .schemas import (
    NotificationOut,
    NotificationPage,
    NotificationsMarkedOut,
    NotificationUnreadOut,
)
from .selectors import notification_get_for, notification_list_for, notification_unread_state
from .services import notification_mark_all_read, notification_mark_read

router = Router()


class InboxFilters(Schema):
    unread: bool = False
    kind: str = ""
    before: ObjectId | None = None
    limit: int = Field(50, ge=1, le=200)


@router.get("/", response=NotificationPage, summary="My notifications, newest first")
def list_notifications(request: HttpRequest, filters: Query[InboxFilters]):
    """Keyset pagination: pass the returned ``next_cursor`` as ``before`` for the next page."""
    limit = max(1, min(filters.limit, 200))
    qs = notification_list_for(request.user, unread_only=filters.unread, kind=filters.kind)
    if filters.before is not None:
        qs = qs.filter(pk__lt=filters.before)
    rows = list(qs[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    unread, _last = notification_unread_state(request.user)
    return {
        "items": rows,
        "unread": unread,
        "next_cursor": rows[-1].pk if more and rows else None,
    }


@router.get(
    "/unread-count", response=NotificationUnreadOut, summary="Unread count (supports If-None-Match)"
)
def unread_count(request: HttpRequest, response: HttpResponse):
    unread, last = notification_unread_state(request.user)
    etag = f'"n{unread}-{last}"'
    if etag in parse_etags(request.headers.get("If-None-Match", "")):
        not_modified = HttpResponseNotModified()
        not_modified["ETag"] = etag
        return not_modified
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    return {"unread": unread}


@router.post("/read-all", response=NotificationsMarkedOut, summary="Mark all my notifications read")
def read_all(request: HttpRequest):
    return {"marked": notification_mark_all_read(actor=request.user)}


@router.post("/{int:notification_id}/read", response=NotificationOut, summary="Mark one read")
def read_one(request: HttpRequest, notification_id: Path[ObjectId]):
    row = notification_get_for(request.user, notification_id)
    return notification_mark_read(notification=row, actor=request.user)
