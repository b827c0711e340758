"""Who may read the audit trail, and the filtered list they read."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.core.errors import DomainError
from civicgrid.people.access import principal_of
from civicgrid.people.models import Role
from civicgrid.territory.models import Area

from .models import Action, AuditEvent
from .registry import SPECS

PAGE_SIZE = 50
OBJECT_TYPES = sorted({*SPECS, "people.user", "territory.import", "audit.auditevent"})


def can_read_audit(user) -> bool:
    """Superusers and administrators of a top-level area (the whole installation)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    if "_can_read_audit" not in user.__dict__:
        # The request's principal already holds the assignments: no query for non-admins.
        admin_areas = principal_of(user).areas_of(Role.ADMIN)
        user.__dict__["_can_read_audit"] = bool(admin_areas) and (
            Area.objects.filter(pk__in=admin_areas, parent__isnull=True).exists()
        )
    return user.__dict__["_can_read_audit"]


@dataclass
class AuditFilter:
    actor: str = ""
    action: str = ""
    object_type: str = ""
    object_id: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    errors: dict[str, str] = field(default_factory=dict)


def _date(value: str, name: str, label: str) -> dt.date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise DomainError(
            "invalid", _("%(field)s: enter a date as YYYY-MM-DD.") % {"field": label}, field=name
        ) from None


def parse_filter(params) -> AuditFilter:
    f = AuditFilter(
        actor=(params.get("actor") or "").strip()[:150],
        action=(params.get("action") or "").strip(),
        object_type=(params.get("object_type") or "").strip(),
        object_id=(params.get("object_id") or "").strip()[:64],
    )
    if f.action and f.action not in Action.values:
        f.errors["action"] = _("Unknown action.")
        f.action = ""
    if f.object_type and f.object_type not in OBJECT_TYPES:
        f.errors["object_type"] = _("Unknown object type.")
        f.object_type = ""
    for name, label in (("date_from", _("From")), ("date_to", _("To"))):
        try:
            setattr(f, name, _date(params.get(name, ""), name, label))
        except DomainError as exc:
            f.errors[name] = exc.message
    if f.date_from and f.date_to and f.date_from > f.date_to:
        f.errors["date_to"] = _("To: the end date is before the start date.")
        f.date_to = None
    return f


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def events(f: AuditFilter) -> QuerySet[AuditEvent]:
    qs = AuditEvent.objects.all()
    if f.actor:
        qs = qs.filter(actor_label__icontains=f.actor)
    if f.action:
        qs = qs.filter(action=f.action)
    if f.object_type:
        qs = qs.filter(object_type=f.object_type)
    if f.object_id:
        qs = qs.filter(Q(object_id=f.object_id) | Q(object_repr__icontains=f.object_id))
    if f.date_from:
        qs = qs.filter(created_at__gte=_day_start(f.date_from))
    if f.date_to:
        qs = qs.filter(created_at__lt=_day_start(f.date_to + dt.timedelta(days=1)))
    return qs


@dataclass
class Page:
    items: list[AuditEvent]
    older: int | None  # seq cursor for the next (older) page
    newer: int | None  # seq cursor for the previous (newer) page


def page(qs: QuerySet[AuditEvent], *, before: int | None, after: int | None) -> Page:
    """Keyset pages over seq, newest first (OFFSET would rescan a long log)."""
    if after is not None:
        rows = list(qs.filter(seq__gt=after).order_by("seq")[: PAGE_SIZE + 1])
        more_newer = len(rows) > PAGE_SIZE
        rows = list(reversed(rows[:PAGE_SIZE]))
        older = rows[-1].seq if rows and qs.filter(seq__lt=rows[-1].seq).exists() else None
        return Page(rows, older, rows[0].seq if rows and more_newer else None)
    base = qs.filter(seq__lt=before) if before is not None else qs
    rows = list(base.order_by("-seq")[: PAGE_SIZE + 1])
    more_older = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    newer = rows[0].seq if rows and before is not None else None
    return Page(rows, rows[-1].seq if rows and more_older else None, newer)
