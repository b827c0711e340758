"""Deadlines of a case: the running clock, its warning point (80 %) and the traffic light.

A case has at most one running clock: the response clock (report → accept) while it is
``reported``, the handling clock (accept → close, moved by approved extensions) while it is
filed, assigned, in progress or handled; none while suspended or finished. The warning point is
20 % of the category's limit before the deadline (80 % of the limit on a fresh clock), measured
in the category's unit, so an extension or a resume keeps the same warning margin.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from .calendar import add_hours, elapsed_hours
from .models import Category, SlaState

WARN_SHARE = 0.8


def due_at(category: Category, start: dt.datetime, limit: Decimal | float) -> dt.datetime:
    return add_hours(start, limit, category.sla_unit)


def clock(
    category: Category, due: dt.datetime | None, limit: Decimal | float, now: dt.datetime
) -> dict:
    """Field values for a clock running to ``due`` (or stopped when ``due`` is None)."""
    if due is None:
        return {"sla_due_at": None, "sla_warn_at": None, "sla_state": SlaState.NORMAL}
    warn = add_hours(due, -(1 - WARN_SHARE) * float(limit), category.sla_unit)
    # Only the sweep marks a case overdue, because that transition also supervises it.
    state = SlaState.WARNING if now >= warn else SlaState.NORMAL
    return {"sla_due_at": due, "sla_warn_at": warn, "sla_state": state}


def response_clock(category: Category, start: dt.datetime, now: dt.datetime) -> dict:
    due = due_at(category, start, category.response_limit)
    return {"response_due": due, **clock(category, due, category.response_limit, now)}


def handling_clock(category: Category, start: dt.datetime, now: dt.datetime) -> dict:
    due = due_at(category, start, category.handling_limit)
    return {
        "handling_due": due,
        "final_due": due,
        **clock(category, due, category.handling_limit, now),
    }


def moved_handling_clock(category: Category, final_due: dt.datetime, now: dt.datetime) -> dict:
    return {"final_due": final_due, **clock(category, final_due, category.handling_limit, now)}


def remaining_hours(category: Category, now: dt.datetime, due: dt.datetime) -> float:
    return elapsed_hours(now, due, category.sla_unit)
