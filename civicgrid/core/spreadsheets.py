"""Cells that spreadsheets never run: the one guard against CSV/formula injection (OWASP).

Every CSV and XLSX the project writes goes through here. Text that a spreadsheet would read as a
formula or a command (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is
written as text:

- CSV has no types, so such text gets a leading apostrophe (``'=1+2``), which spreadsheets show as
  the text ``=1+2`` (the advice of the OWASP CSV-injection page);
- XLSX has types, so such text is written as a string cell with Excel's "quote prefix" flag: the
  value stays exactly what the user typed, and Excel keeps it as text even when the cell is edited.

Numbers, dates and None pass unchanged (a negative count stays a number).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def is_hostile(value: Any) -> bool:
    """True when ``value`` is text a spreadsheet would take for a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_START)


def csv_cell(value: Any) -> Any:
    """``value`` made safe for a CSV cell."""
    return "'" + value if is_hostile(value) else value


class SafeCsvWriter:
    """``csv.writer`` whose rows pass through :func:`csv_cell`."""

    def __init__(self, f, **kwargs):
        self._writer = csv.writer(f, **kwargs)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([csv_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def xlsx_row(ws, row: Iterable[Any]) -> list:
    """``row`` as cells of the write-only sheet ``ws``; hostile text becomes a text cell."""
    from openpyxl.cell import WriteOnlyCell

    cells = []
    for value in row:
        if is_hostile(value):
            cell = WriteOnlyCell(ws, value=value)
            cell.data_type = "s"  # openpyxl would store "=…" as a formula
            cell.quotePrefix = True
            cells.append(cell)
        else:
            cells.append(value)
    return cells
