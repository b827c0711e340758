"""The deterministic demo city behind ``manage.py seed_demo`` (see docs/demo-city.md)."""

from .context import DemoContext
from .runner import DEFAULT_CASES, DEFAULT_GRIDS, DEFAULT_SEED, accounts_table, run_demo

__all__ = [
    "DemoContext",
    "DEFAULT_CASES",
    "DEFAULT_GRIDS",
    "DEFAULT_SEED",
    "accounts_table",
    "run_demo",
]
