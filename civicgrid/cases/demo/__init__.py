"""Demo step of the cases app: categories, admission lists, holidays, a few months of cases.

Cases are not pushed through the engine one by one (a million of them would take hours);
instead each case's life is *simulated* with the engine's own rules (``_Sim`` mirrors the field
changes of every action in ``civicgrid.cases.handlers``) and written in bulk: PostgreSQL ``COPY``
or ``executemany`` on SQLite. Deadlines come from the same working-hours calendar (a minute
table built from the Holiday table), overdue clocks get the automatic supervision the sweep
would have made, and counters/version match the action log. ``tests/test_demo.py`` checks these
invariants on generated data.
"""

from __future__ import annotations

from .. import calendar
from .catalog import seed_admission, seed_categories, seed_grid_tasks
from .clock import MinuteClock  # noqa: F401  (imported from here by tests)
from .cohandling import seed_cohandling
from .writer import generate_cases  # noqa: F401  (the benches' entry point)


def seed(ctx) -> None:
    cats = seed_categories(ctx)
    items = seed_admission(ctx)
    calendar.seed_from_package()
    ctx.extra["categories"] = cats
    ctx.extra["admission_items"] = items
    ctx.log(f"  {len(cats)} categories, {len(items)} admission items, holiday calendar")
    if ctx.cases:
        n = generate_cases(ctx, ctx.cases)
        ctx.log(f"  {n} cases with their action logs")
    seed_grid_tasks(ctx, items)
    if ctx.cases:
        seed_cohandling(ctx)
