"""The context handed to every demo step (see docs/demo-city.md for the contract)."""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TextIO

from civicgrid.people.models import Center, Department, User
from civicgrid.territory.models import Area, Grid, MicroGrid


@dataclass
class DemoContext:
    """What the territory and people steps created, plus the options, for the later steps.

    ``rng`` is replaced before every step by a ``random.Random`` seeded with (seed, step name), so a
    step's data does not shift when an earlier step draws more or fewer numbers.
    """

    seed: int
    grids_target: int
    cases: int
    now: datetime
    password: str
    rng: random.Random = field(default_factory=random.Random)
    out: TextIO = sys.stdout
    verbosity: int = 1

    # territory
    city: Area | None = None
    districts: list[Area] = field(default_factory=list)  # [云中区, 凤鸣区, 雁北县, 桑干县]
    streets: list[Area] = field(default_factory=list)  # 街道/镇/乡, code order
    communities: list[Area] = field(default_factory=list)  # 社区/村, code order
    grids: list[Grid] = field(default_factory=list)  # code order
    micro_grids: list[MicroGrid] = field(default_factory=list)

    # people
    centers: dict[str, Center] = field(default_factory=dict)  # by area code
    departments: list[Department] = field(default_factory=list)
    users: dict[str, list[User]] = field(default_factory=dict)  # by role (people.Role value)
    accounts: dict[str, User] = field(default_factory=dict)  # the named demo accounts by username
    account_scopes: dict[str, Area] = field(default_factory=dict)  # username -> area bound to
    grid_workers: dict[str, User] = field(default_factory=dict)  # grid code -> full-time worker

    # free space for later steps to share what they made (e.g. "categories")
    extra: dict[str, Any] = field(default_factory=dict)

    def rng_for(self, step: str) -> random.Random:
        return random.Random(f"civicgrid-demo:{self.seed}:{step}")

    def log(self, message: str) -> None:
        if self.verbosity >= 1:
            self.out.write(message + "\n")
            self.out.flush()

    def area(self, code: str) -> Area:
        """Any area of the demo by its 12-digit code."""
        index = self.__dict__.setdefault(
            "_area_index",
            {
                a.code: a
                for a in [self.city, *self.districts, *self.streets, *self.communities]
                if a
            },
        )
        return index[code]

    def center_for(self, code: str) -> Center:
        """The nearest center at or above an area/grid code (community → street → district → city)."""
        for n in (12, 9, 6, 4):
            area_code = code[:n].ljust(12, "0")
            if len(code) >= n and area_code in self.centers:
                return self.centers[area_code]
        raise KeyError(code)

    def department(self, key: str, code: str) -> Department:
        """The department of kind ``key`` (e.g. "CG" 城管) nearest at or above an area/grid code.

        Street-level teams have key "ZF"; district/county departments the keys in
        ``names.DEPARTMENTS``; the city has those plus the utilities in ``names.CITY_UTILITIES``.
        """
        index = self.__dict__.setdefault(
            "_dept_index",
            {(d.code.split("-")[1], d.code.split("-")[0]): d for d in self.departments},
        )
        for n in (9, 6, 4):
            if len(code) >= n and (key, code[:n]) in index:
                return index[(key, code[:n])]
        raise KeyError((key, code))
