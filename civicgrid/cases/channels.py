"""Who may claim which source and priority when reporting through the REST API.

The source says how a matter reached us, and a priority of 4 texts the operators: neither is
the reporter's to choose. One-key calls come only from registered devices (/api/public/
emergency), Open311 reports only through /api/open311; on /api/cases/ the source follows the
caller's roles, and only operators set a priority (others get the category's).
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from civicgrid.core.errors import Forbidden
from civicgrid.people.models import Role
from civicgrid.people.scoping import has_role

from .models import Source

# Sources a caller holding the role may name, the first being the default.
ROLE_SOURCES = [
    (Role.GRID_WORKER, (Source.GRID_WORKER, Source.PATROL)),
    (Role.OPERATOR, (Source.HOTLINE,)),
    (Role.HANDLER, (Source.DEPARTMENT,)),
]
CHANNEL_ONLY = {
    Source.ONE_KEY: "/api/public/emergency",
    Source.API: "/api/open311/v2/requests",
}


def api_report_source(user, requested: str | None) -> str:
    """The source of a report posted to /api/cases/ by ``user``; refuses one they cannot claim."""
    allowed: list[str] = []
    for role, sources in ROLE_SOURCES:
        if has_role(user, role):
            allowed.extend(sources)
    allowed.append(Source.CITIZEN)
    if not requested:
        return allowed[0]
    if requested in CHANNEL_ONLY:
        raise Forbidden(
            _("Source %(s)s is set by its own channel (%(path)s), not by the caller.")
            % {"s": requested, "path": CHANNEL_ONLY[requested]},
            code="source_not_allowed",
            field="source",
        )
    if requested not in allowed:
        raise Forbidden(
            _("You may report from source %(allowed)s, not %(s)s.")
            % {"allowed": ", ".join(allowed), "s": requested},
            code="source_not_allowed",
            field="source",
        )
    return requested


def api_report_priority(user, requested: int | None) -> int | None:
    """The priority a report starts with: the operator's choice, else the category's."""
    if requested is None:
        return None
    if not has_role(user, Role.OPERATOR):
        raise Forbidden(
            _("Only operators set a priority; the category's applies."),
            code="priority_not_allowed",
            field="priority",
        )
    return requested
