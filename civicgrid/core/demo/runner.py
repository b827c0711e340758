"""Run the demo steps in order: territory → people → each app's ``civicgrid/<app>/demo.py``."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from importlib import import_module
from typing import TextIO

from django.apps import apps
from django.core.management.color import no_style
from django.db import connection, transaction
from django.utils import timezone
from django.utils.module_loading import module_has_submodule

from civicgrid.core.conf import options
from civicgrid.people.models import Role
from civicgrid.territory.models import Area

from .context import DemoContext
from .people import ACCOUNTS, seed_people
from .territory import plan_territory, save_territory

DEFAULT_GRIDS = 1500
DEFAULT_SEED = 20260101
DEFAULT_CASES = 3000
MIN_GRIDS, MAX_GRIDS = 8, 200_000

Step = Callable[[DemoContext], None]


def seed_territory(ctx: DemoContext) -> None:
    plan = plan_territory(ctx.grids_target, ctx.seed)
    save_territory(plan, ctx)


def app_steps() -> list[tuple[str, Step]]:
    """``seed(ctx)`` of every installed civicgrid app that ships a ``demo`` module, in app order.

    The module is optional; an app without one is skipped, but an error raised while importing
    a module that does exist is not swallowed.
    """
    steps = []
    for config in apps.get_app_configs():
        if not config.name.startswith("civicgrid.") or config.name == "civicgrid.core":
            continue
        if not module_has_submodule(config.module, "demo"):
            continue
        module = import_module(f"{config.name}.demo")
        fn = getattr(module, "seed", None)
        if callable(fn):
            steps.append((config.label, fn))
    return steps


def all_steps() -> list[tuple[str, Step]]:
    return [("territory", seed_territory), ("people", seed_people), *app_steps()]


def has_territory() -> bool:
    return Area.objects.exists()


def flush_demo() -> None:
    """Delete the territory, the people and everything that references them (cases, logs…).

    Tables holding reference data that points at neither (e.g. a holiday calendar) are kept.
    Sequences are not reset, so an old session cookie can never match a new user's id.
    """
    base = [
        m
        for m in apps.get_models(include_auto_created=True)
        if m._meta.app_config.name in ("civicgrid.territory", "civicgrid.people")
    ]
    tables = {m._meta.db_table for m in base}
    if apps.is_installed("django.contrib.sessions"):
        tables.add("django_session")
    sql = connection.ops.sql_flush(no_style(), sorted(tables), allow_cascade=True)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # TRUNCATE refuses tables with deferred FK checks still pending in this transaction
            # (rows inserted earlier in it): run those checks now.
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        connection.ops.execute_sql_flush(sql)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def run_demo(
    *,
    grids: int = DEFAULT_GRIDS,
    seed: int = DEFAULT_SEED,
    cases: int = DEFAULT_CASES,
    out: TextIO = sys.stdout,
    verbosity: int = 1,
    flush: bool = False,
    steps: list[tuple[str, Step]] | None = None,
) -> DemoContext:
    """Seed the demo city in one transaction: all of it or nothing."""
    if not MIN_GRIDS <= grids <= MAX_GRIDS:
        raise ValueError(f"--grids must be between {MIN_GRIDS} and {MAX_GRIDS}")
    if cases < 0:
        raise ValueError("--cases must not be negative")
    ctx = DemoContext(
        seed=seed,
        grids_target=grids,
        cases=cases,
        now=timezone.now(),
        password=options().DEMO_PASSWORD,
        out=out,
        verbosity=verbosity,
    )
    steps = all_steps() if steps is None else steps
    with transaction.atomic():
        if flush:
            flush_demo()
        elif has_territory():
            raise FileExistsError("the database already holds territory")
        for name, fn in steps:
            started = time.perf_counter()
            ctx.rng = ctx.rng_for(name)
            fn(ctx)
            ctx.log(f"  {name:<14} {time.perf_counter() - started:6.1f} s")
    return ctx


def accounts_table(ctx: DemoContext) -> list[tuple[str, str, str, str, str]]:
    """(username, role, scope, title, password) for every named demo account."""
    rows = []
    for acc in ACCOUNTS:
        area = ctx.account_scopes.get(acc.username)
        rows.append(
            (
                acc.username,
                str(Role(acc.role).label),
                f"{area.name} {area.code}" if area else "",
                acc.title,
                ctx.password,
            )
        )
    return rows
