"""Exports: queued for the worker, progress on the row, owner-only download, masked phones,
flat memory."""

from __future__ import annotations

import csv
import datetime as dt
import io
import tracemalloc

import pytest
from openpyxl import load_workbook

from civicgrid.analytics import exports
from civicgrid.analytics import indicators as ind
from civicgrid.analytics.models import Export, ExportState
from civicgrid.analytics.services import export_request
from civicgrid.cases.models import Case
from civicgrid.core.errors import DomainError, NotFound

from .conftest import at

MARCH = {"period": "month", "date": "2026-03-01"}


def run_export(user, kind, fmt, params, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        e = export_request(kind=kind, fmt=fmt, params=params, actor=user)
    e.refresh_from_db()
    return e


def read_csv(e: Export) -> list[list[str]]:
    with e.file.open("rb") as f:
        text = f.read().decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_cases_csv_has_the_filtered_rows_and_masked_phones(
    world, march, frozen_now, django_capture_on_commit_callbacks
):
    e = run_export(world.leader_a, "cases", "csv", MARCH, django_capture_on_commit_callbacks)
    assert e.state == ExportState.DONE and e.done == e.total == 13 and e.percent == 100
    rows = read_csv(e)
    header, body = rows[0], rows[1:]
    assert len(body) == 13
    phone = [f for f, _label in exports.CASE_COLUMNS].index("reporter_phone")
    assert len(header) == len(exports.CASE_COLUMNS)
    codes = {r[0] for r in body}
    assert march.c12.tracking_code in codes and march.b1.tracking_code not in codes
    c12 = next(r for r in body if r[0] == march.c12.tracking_code)
    assert c12[phone] == "138****5678"
    assert "13812345678" not in "".join(",".join(r) for r in rows)


def test_cases_xlsx_with_category_filter(
    world, march, frozen_now, django_capture_on_commit_callbacks
):
    e = run_export(
        world.admin,
        "cases",
        "xlsx",
        {**MARCH, "category": "05"},
        django_capture_on_commit_callbacks,
    )
    assert e.state == ExportState.DONE
    with e.file.open("rb") as f:
        ws = load_workbook(io.BytesIO(f.read()), read_only=True).active
        values = [row for row in ws.iter_rows(values_only=True)]
    assert len(values) == 2 and values[1][0] == march.b1.tracking_code


def test_indicator_export_lists_sub_areas_and_total(
    world, march, frozen_now, django_capture_on_commit_callbacks
):
    e = run_export(world.admin, "indicators", "csv", MARCH, django_capture_on_commit_callbacks)
    rows = read_csv(e)
    assert [r[0] for r in rows[1:]] == ["140213000000", "140214000000", ""]
    received = 2 + [i.key for i in ind.INDICATORS].index("received")
    assert [r[received] for r in rows[1:]] == ["13", "1", "14"]


def test_export_refuses_out_of_scope_filters_before_queueing(world, march):
    with pytest.raises(NotFound):
        export_request(
            kind="cases", fmt="csv", params={"area": "140214000000"}, actor=world.leader_a
        )
    with pytest.raises(DomainError) as exc:
        export_request(kind="cases", fmt="pdf", params={}, actor=world.leader_a)
    assert exc.value.field == "fmt"
    with pytest.raises(DomainError) as exc:
        export_request(kind="cases", fmt="csv", params={}, actor=world.worker_a1)
    assert exc.value.status == 403
    assert not Export.objects.exists()


@pytest.mark.parametrize(
    "persona,status", [("leader_a", 200), ("admin", 404), ("operator_a", 404), ("citizen", 404)]
)
def test_only_the_requester_downloads(
    client, world, march, frozen_now, django_capture_on_commit_callbacks, persona, status
):
    e = run_export(world.leader_a, "cases", "csv", MARCH, django_capture_on_commit_callbacks)
    client.force_login(getattr(world, persona))
    r = client.get(f"/analytics/exports/{e.pk}/download/")
    assert r.status_code == status
    api = client.get(f"/api/analytics/exports/{e.pk}")
    assert api.status_code == (200 if status == 200 else 404)
    if status == 200:
        assert b"".join(r.streaming_content).decode("utf-8-sig").count("\n") == 14
        assert api.json()["download_url"] == f"/analytics/exports/{e.pk}/download/"


def test_progress_row_polls_until_done(client, world, march, frozen_now):
    client.force_login(world.leader_a)
    r = client.post(
        "/analytics/exports/new/",
        {"kind": "cases", "fmt": "csv", **MARCH},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="export-rows",
    )
    assert r.status_code == 200
    e = Export.objects.get()
    # Not run yet (the worker picks it up after commit): the row keeps polling.
    row = client.get(f"/analytics/exports/{e.pk}/row/").content.decode()
    assert 'hx-trigger="every 1s"' in row and "<progress" in row
    exports.run(e.pk)
    row = client.get(f"/analytics/exports/{e.pk}/row/").content.decode()
    assert "hx-trigger" not in row and f"/analytics/exports/{e.pk}/download/" in row


def test_failed_export_is_recorded(world, march, frozen_now, monkeypatch):
    e = Export.objects.create(user=world.leader_a, kind="cases", fmt="csv", params=MARCH)

    def boom(user, params):
        raise RuntimeError("disk full")

    monkeypatch.setitem(exports.SOURCES, "cases", boom)
    exports.run(e.pk)
    e.refresh_from_db()
    assert e.state == ExportState.FAILED and "disk full" in e.error


def test_masking():
    assert exports.mask_phone("13812345678") == "138****5678"
    assert exports.mask_phone("12345") == "*****"
    assert exports.mask_name("张三") == "张*" and exports.mask_name("欧阳娜娜") == "欧***"


def _bulk_cases(world, n: int, start_id: int) -> None:
    template = Case.objects.filter(scope_code__startswith="140213").first()
    rows = []
    for i in range(n):
        rows.append(
            Case(
                tracking_code=f"BULK{start_id + i:08d}",
                category_id=template.category_id,
                description="批量数据" * 5,
                area_id=template.area_id,
                grid_id=template.grid_id,
                scope_code=template.scope_code,
                source="hotline",
                owner_id=template.owner_id,
                owner_code=template.owner_code,
                state="reported",
                reported_at=at(2026, 3, 15, 9) + dt.timedelta(seconds=i),
                updated_at=at(2026, 3, 15, 9) + dt.timedelta(seconds=i),
                reporter_phone="13900001111",
            )
        )
    Case.objects.bulk_create(rows, batch_size=1000)


def _peak(user, fmt: str) -> tuple[int, int]:
    e = Export.objects.create(user=user, kind="cases", fmt=fmt, params=MARCH)
    tracemalloc.start()
    exports.run(e.pk)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    e.refresh_from_db()
    assert e.state == ExportState.DONE
    return e.done, peak


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_memory_stays_flat_as_rows_grow(world, march, frozen_now, fmt):
    _bulk_cases(world, 3000, 0)
    n1, small = _peak(world.leader_a, fmt)
    _bulk_cases(world, 9000, 3000)
    n2, large = _peak(world.leader_a, fmt)
    assert n2 == n1 + 9000
    # Four times the rows, nearly the same peak: rows stream, they are never all held.
    assert large < small * 1.5, (small, large)
