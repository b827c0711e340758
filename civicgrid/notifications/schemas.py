from __future__ import annotations

from datetime import datetime

from ninja import Schema


class NotificationOut(Schema):
    id: int
    kind: str
    title: str
    body: str
    case_id: int | None
    tracking_code: str
    url: str
    read_at: datetime | None
    created_at: datetime


class NotificationPage(Schema):
    items: list[NotificationOut]
    unread: int
    next_cursor: int | None


class NotificationUnreadOut(Schema):
    unread: int


class NotificationsMarkedOut(Schema):
    marked: int
