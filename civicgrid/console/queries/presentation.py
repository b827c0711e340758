"""How a case is shown: the traffic light of its running clock."""

from __future__ import annotations

from civicgrid.cases.models import OPEN_STATES


def sla_light(state: str, due, warn, now) -> str:
    """``overdue`` / ``warning`` / ``normal`` from the running clock, ``done`` when stopped."""
    if state not in OPEN_STATES or due is None:
        return "done" if state not in OPEN_STATES else "normal"
    if due <= now:  # the deadline instant counts as overdue (cases.models.overdue_q)
        return "overdue"
    if warn is not None and warn <= now:
        return "warning"
    return "normal"
