"""Statistical division codes: 12-digit areas (2+2+2+3+3), 15-digit grids, 17-digit micro-grids."""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

from civicgrid.core.errors import DomainError

AREA_RE = re.compile(r"^\d{12}$")
GRID_RE = re.compile(r"^\d{15}$")
MICRO_RE = re.compile(r"^\d{17}$")

CITY, COUNTY, TOWNSHIP, VILLAGE = 1, 2, 3, 4
# Significant prefix length of an area code per level.
PREFIX_LEN = {CITY: 4, COUNTY: 6, TOWNSHIP: 9, VILLAGE: 12}


def area_level(code: str) -> int:
    """Level of a 12-digit area code, from its trailing zero groups."""
    if not AREA_RE.match(code or ""):
        raise DomainError(
            "invalid_code",
            _("Area code %(code)s must be exactly 12 digits.") % {"code": code},
            field="code",
        )
    if code[2:4] == "00":
        raise DomainError(
            "invalid_code",
            _("Area code %(code)s names a province; the root area must be a city.")
            % {"code": code},
            field="code",
        )
    if code[4:] == "00000000":
        return CITY
    if code[6:] == "000000":
        if code[4:6] == "00":
            raise DomainError(
                "invalid_code",
                _("Invalid county digits in %(code)s.") % {"code": code},
                field="code",
            )
        return COUNTY
    if code[9:] == "000":
        if code[6:9] == "000":
            raise DomainError(
                "invalid_code",
                _("Invalid township digits in %(code)s.") % {"code": code},
                field="code",
            )
        return TOWNSHIP
    if code[4:6] == "00" or code[6:9] == "000":
        raise DomainError(
            "invalid_code",
            _("Area code %(code)s skips a level (county or township digits are zero).")
            % {"code": code},
            field="code",
        )
    return VILLAGE


def area_prefix(code: str, level: int | None = None) -> str:
    """The significant prefix: every descendant area, grid and micro-grid code starts with it."""
    return code[: PREFIX_LEN[level or area_level(code)]]


def expected_parent_code(code: str) -> str | None:
    """The code the parent area must have, or None for a city."""
    level = area_level(code)
    if level == CITY:
        return None
    keep = PREFIX_LEN[level - 1]
    return code[:keep] + "0" * (12 - keep)


def check_grid_code(code: str, area_code: str) -> None:
    if not GRID_RE.match(code or ""):
        raise DomainError(
            "invalid_code",
            _("Grid code %(code)s must be exactly 15 digits.") % {"code": code},
            field="code",
        )
    if code[:12] != area_code:
        raise DomainError(
            "code_prefix_mismatch",
            _("Grid code %(code)s must start with its community's code %(area)s.")
            % {"code": code, "area": area_code},
            field="code",
        )
    if code[12:] == "000":
        raise DomainError("invalid_code", _("Grid serial 000 is not allowed."), field="code")


def check_micro_code(code: str, grid_code: str) -> None:
    if not MICRO_RE.match(code or ""):
        raise DomainError(
            "invalid_code",
            _("Micro-grid code %(code)s must be exactly 17 digits.") % {"code": code},
            field="code",
        )
    if code[:15] != grid_code:
        raise DomainError(
            "code_prefix_mismatch",
            _("Micro-grid code %(code)s must start with its grid's code %(grid)s.")
            % {"code": code, "grid": grid_code},
            field="code",
        )
    if code[15:] == "00":
        raise DomainError("invalid_code", _("Micro-grid serial 00 is not allowed."), field="code")
