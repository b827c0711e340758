"""Every scoped read of the mediation app: through ``Principal`` (``people/access.py``) only."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from civicgrid.core.errors import NotFound
from civicgrid.people.access import Principal, principal_of
from civicgrid.people.models import Role

from .models import OPEN_STATES, Dispute, DisputeState, MediationBody, Mediator, Meeting
from .workflow import DISPUTES

PAGE = 50


def dispute_list_for(
    who: Any,
    *,
    state: str = "",
    level: Any = "",
    source: str = "",
    kind: str = "",
    q: str = "",
    mine: bool = False,
    overdue: bool = False,
    flagged: bool = False,
) -> QuerySet[Dispute]:
    """Disputes visible to ``who`` (a principal, request or user), newest first."""
    p = principal_of(who)
    qs = Dispute.objects.filter(p.dispute_visible_q())
    if state == "open":
        qs = qs.filter(state__in=OPEN_STATES)
    elif state in DisputeState.values:
        qs = qs.filter(state=state)
    if str(level).isdigit():
        qs = qs.filter(level=int(level))
    if source:
        qs = qs.filter(source=source)
    if kind:
        qs = qs.filter(kind=kind)
    if mine and p.is_authenticated:
        qs = qs.filter(mediator_user_id=p.pk)
    if overdue:
        qs = qs.filter(overdue=True)
    if flagged:
        qs = qs.filter(violence_flag=True)
    if q:
        qs = qs.filter(Q(number__iexact=q.strip()) | Q(title__icontains=q.strip()))
    return qs.order_by("-registered_at", "-id")


def dispute_get_for(who: Any, pk: Any) -> Dispute:
    """One dispute or NotFound (missing and out of scope look the same)."""
    p = principal_of(who)
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise NotFound("dispute") from None
    d = (
        Dispute.objects.filter(pk=pk)
        .select_related("center__area", "body", "mediator", "grid", "case", "registered_by")
        .first()
    )
    if d is None or not p.can_view_dispute(d):
        raise NotFound("dispute")
    return d


def queue_counts(who: Any) -> dict[str, int]:
    """Open-and-after counts by state for the workspace's queue tabs (one query)."""
    from django.db.models import Count

    p = principal_of(who)
    rows = (
        Dispute.objects.filter(p.dispute_visible_q())
        .values("state")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {r["state"]: r["n"] for r in rows}


def allowed_actions(who: Any, dispute: Dispute) -> list[str]:
    p = principal_of(who)
    return DISPUTES.allowed(p.user, dispute, p.dispute_capacities(dispute))


def bodies_for(dispute: Dispute) -> QuerySet[MediationBody]:
    """The bodies a dispute may be triaged to: its center's and those of centers above it."""
    from civicgrid.people.access import codes_over

    return MediationBody.objects.filter(
        is_active=True, center__area__code__in=codes_over(dispute.owner_code)
    ).select_related("center__area")


def roster_for(
    who: Any, *, body: Any = None, kind: str = "", specialty: str = "", available: bool = False
) -> QuerySet[Mediator]:
    """The 点员台: mediators of the bodies of centers within the principal's scope."""
    p = principal_of(who)
    qs = Mediator.objects.select_related("body__center__area").filter(body__is_active=True)
    if not p.is_superuser:
        from civicgrid.people.access import codes_over

        # The bodies inside my area and those of the centers above it (a village's parties may
        # choose a township or county mediator).
        prefixes = p.prefixes([Role.OPERATOR, Role.LEADER, Role.GRID_CHIEF, Role.GRID_WORKER])
        q = Q(pk__in=[])
        above: set[str] = set()
        for pre in prefixes or []:
            q |= Q(body__center__area__code__startswith=pre)
            above |= set(codes_over(pre.ljust(12, "0")))
        qs = qs.filter(q | Q(body__center__area__code__in=above) | Q(user_id=p.pk))
    if body:
        qs = qs.filter(body_id=body)
    if kind:
        qs = qs.filter(kind=kind)
    if specialty:
        qs = qs.filter(specialties__icontains=specialty)
    if available:
        qs = qs.filter(available=True)
    return qs.order_by("body__center__area__code", "body__name", "name")


def meeting_list_for(who: Any) -> QuerySet[Meeting]:
    p = principal_of(who)
    return (
        Meeting.objects.filter(p.scope_q("owner_code", [Role.OPERATOR, Role.LEADER]))
        .select_related("center")
        .order_by("-held_at", "-id")
    )


def meeting_get_for(who: Any, pk: Any) -> Meeting:
    try:
        m = meeting_list_for(who).filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        m = None
    if m is None:
        raise NotFound("meeting")
    return m


__all__ = ["Principal", "dispute_list_for", "dispute_get_for"]
