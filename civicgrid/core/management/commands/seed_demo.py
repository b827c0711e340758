"""`manage.py seed_demo`: the deterministic demo city (docs/domain.md §7, docs/demo-city.md)."""

from __future__ import annotations

import time

from django.core.management.base import CommandError
from django.utils.translation import gettext_lazy

from civicgrid.core.demo import DEFAULT_CASES, DEFAULT_GRIDS, DEFAULT_SEED, accounts_table, run_demo
from civicgrid.core.demo.runner import has_territory
from civicgrid.core.management.base import TranslatedCommand


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Create the demo city 云州市: territory with polygons, centers, departments, users for every "
        "role, and whatever each app's demo step adds (categories, cases…)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--grids",
            type=int,
            default=DEFAULT_GRIDS,
            help=gettext_lazy("Number of grids (default %(default)s; benchmarks use 10000)."),
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=DEFAULT_SEED,
            help=gettext_lazy("Random seed (same seed, same city)."),
        )
        parser.add_argument(
            "--cases",
            type=int,
            default=DEFAULT_CASES,
            help=gettext_lazy("Number of cases the cases step creates (default %(default)s)."),
        )
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--if-empty",
            action="store_true",
            help=gettext_lazy(
                "Do nothing when the database already holds any area (used by `make run`)."
            ),
        )
        mode.add_argument(
            "--flush",
            "--flush-demo",
            dest="flush",
            action="store_true",
            help=gettext_lazy(
                "First delete all territory and people and everything referring to them."
            ),
        )

    def handle(self, *args, grids, seed, cases, if_empty, flush, verbosity, **options):
        if if_empty and has_territory():
            if verbosity >= 1:
                self.stdout.write("The database already holds territory: demo city not loaded.")
            return
        if not flush and has_territory():
            raise CommandError(
                "The database already holds territory. Use --flush to replace it with the demo "
                "city, or --if-empty to skip."
            )
        started = time.perf_counter()
        if verbosity >= 1:
            self.stdout.write(f"Seeding the demo city: {grids} grids, {cases} cases, seed {seed}")
        try:
            ctx = run_demo(
                grids=grids,
                seed=seed,
                cases=cases,
                flush=flush,
                out=self.stdout,
                verbosity=verbosity,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if verbosity < 1:
            return
        elapsed = time.perf_counter() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo city {ctx.city.name} ({ctx.city.code}) ready in {elapsed:.1f} s: "
                f"{len(ctx.districts)} districts/counties, {len(ctx.streets)} streets/townships, "
                f"{len(ctx.communities)} communities/villages, {len(ctx.grids)} grids, "
                f"{len(ctx.micro_grids)} micro-grids, {len(ctx.centers)} centers, "
                f"{len(ctx.departments)} departments, "
                f"{sum(len(v) for v in ctx.users.values())} users."
            )
        )
        rows = accounts_table(ctx)
        header = ("username", "role", "scope", "account", "password")
        widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(len(header))]
        self.stdout.write("\nDemo accounts:")
        for row in [header, *rows]:
            self.stdout.write(
                "  " + "  ".join(_pad(v, w) for v, w in zip(row, widths, strict=True))
            )
        example = next(
            (u, g) for g in ctx.grids if (u := ctx.grid_workers[g.code]).username.startswith("wg")
        )
        self.stdout.write(
            f"\nEvery generated account uses the same password, e.g. {example[0].username} "
            f"(grid worker of {example[1].name})."
        )


def _width(text: str) -> int:
    # CJK characters take two terminal columns.
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))
