"""What a principal may see and do on disputes (civicgrid.mediation), mixed into ``Principal``.

Kept apart from the case rules so the two read side by side. A dispute carries ``scope_code``
(where it arose), ``owner_code`` (the area of the 矛调中心 holding it), ``grid_id`` and
``mediator_user_id`` (the account of the mediator conducting it). No method queries.
"""

from __future__ import annotations

from django.db.models import Q

from .models import Role

# Dispute capacities: what a user is for one dispute.
D_CENTER, D_MEDIATOR, D_GRID_WORKER, D_LEADER = "center", "mediator", "grid_worker", "leader"
# Roles whose area scope shows the disputes that arose in it (read; acting needs a capacity).
DISPUTE_VIEW_ROLES = (Role.OPERATOR, Role.LEADER, Role.GRID_CHIEF, Role.GRID_WORKER, Role.ADMIN)


class DisputeAccess:
    """The dispute rules of a ``Principal`` (uses its grants, memberships and scope helpers)."""

    def dispute_visible_q(self) -> Q:
        """Disputes I may see: arisen in my scope, held by a center within my operator area,
        conducted by me as mediator, or registered by me."""
        if not self.is_authenticated:
            return Q(pk__in=[])
        if self.is_superuser:
            return Q()
        uid = self.user.pk
        return (
            self.scope_q("scope_code", DISPUTE_VIEW_ROLES)
            | self.scope_q("owner_code", [Role.OPERATOR])
            | Q(mediator_user_id=uid)
            | Q(registered_by_id=uid)
        )

    def can_view_dispute(self, dispute) -> bool:
        """The rule of ``dispute_visible_q`` on one loaded dispute."""
        if not self.is_authenticated:
            return False
        if self.is_superuser:
            return True
        uid = self.user.pk
        if uid in (dispute.mediator_user_id, dispute.registered_by_id):
            return True
        return self.in_scope(dispute.scope_code or "", DISPUTE_VIEW_ROLES) or self.in_scope(
            dispute.owner_code or "", [Role.OPERATOR]
        )

    def dispute_capacities(self, dispute) -> set[str]:
        """center (operator of the holding center or above), mediator (conducting it),
        grid_worker (on the team of its grid, or grid chief over it), leader (over it)."""
        if not self.is_authenticated:
            return set()
        caps: set[str] = set()
        if self.user.is_superuser:
            caps |= {D_CENTER, D_LEADER}
        if dispute.mediator_user_id and dispute.mediator_user_id == self.user.pk:
            caps.add(D_MEDIATOR)
        owner, scope = dispute.owner_code or "", dispute.scope_code or ""
        for g in self.grants:
            if g.role == Role.OPERATOR and owner.startswith(g.prefix):
                caps.add(D_CENTER)
            elif g.role == Role.LEADER and scope.startswith(g.prefix):
                caps.add(D_LEADER)
            elif g.role == Role.GRID_CHIEF and scope.startswith(g.prefix):
                caps.add(D_GRID_WORKER)
        if dispute.grid_id and dispute.grid_id in self.grid_ids:
            caps.add(D_GRID_WORKER)
        return caps
