"""Reads of the inbox: always the requesting user's own rows."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Count, Max, QuerySet

from civicgrid.core.errors import NotFound
from civicgrid.people.models import RoleAssignment, User

from .models import Notification


def notification_list_for(user: Any, *, unread_only: bool = False, kind: str = "") -> QuerySet:
    if user is None or not user.is_authenticated:
        return Notification.objects.none()
    qs = Notification.objects.filter(recipient=user)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("-id")


def notification_get_for(user: Any, pk: int) -> Notification:
    """The user's own notification; anyone else's answers 404."""
    row = notification_list_for(user).filter(pk=pk).first()
    if row is None:
        raise NotFound("notification")
    return row


def notification_unread_count(user: Any) -> int:
    return notification_unread_state(user)[0]


def notification_unread_state(user: Any) -> tuple[int, int]:
    """(unread count, highest unread id) in one indexed query.

    Ids only grow and rows are only ever marked read, so this pair changes whenever the unread
    set changes: it is a cheap validator (ETag) for the polled badge.
    """
    if user is None or not user.is_authenticated:
        return 0, 0
    agg = Notification.objects.filter(recipient=user, read_at__isnull=True).aggregate(
        n=Count("id"), last=Max("id")
    )
    return agg["n"] or 0, agg["last"] or 0


def _area_codes_over(code: str) -> list[str]:
    """The 12-digit codes of the areas containing ``code`` (an area, grid or micro-grid code)."""
    c = code[:12]
    return sorted({c[:4] + "0" * 8, c[:6] + "0" * 6, c[:9] + "000", c})


def recipients_over(code: str, roles: Iterable[str]) -> QuerySet:
    """Active users holding one of ``roles`` on an area that contains ``code``.

    For example the leaders above a case's grid, to be told when it runs overdue.
    """
    user_ids = RoleAssignment.objects.filter(
        role__in=list(roles), area__code__in=_area_codes_over(code)
    ).values("user_id")
    return User.objects.filter(pk__in=user_ids, is_active=True)


def recipients_of_center(center: Any, roles: Iterable[str] = ("operator",)) -> QuerySet:
    """Active users working at ``center`` in one of ``roles`` (by default its operators)."""
    user_ids = RoleAssignment.objects.filter(center=center, role__in=list(roles)).values("user_id")
    return User.objects.filter(pk__in=user_ids, is_active=True)


def recipients_of_department(department: Any) -> QuerySet:
    """Active handlers of ``department``."""
    user_ids = RoleAssignment.objects.filter(department=department, role="handler").values(
        "user_id"
    )
    return User.objects.filter(pk__in=user_ids, is_active=True)


__all__ = [
    "notification_list_for",
    "notification_get_for",
    "notification_unread_count",
    "notification_unread_state",
    "recipients_over",
    "recipients_of_center",
    "recipients_of_department",
]
