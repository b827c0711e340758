"""Export writers: cases, indicators and the worker assessment to CSV or Excel.

Run by the task worker (``tasks.export_run_task``). Rows stream from the database
(``iterator(chunk_size=…)``) into a temporary file — CSV and Excel (openpyxl's write-only
workbook) through ``core.spreadsheets``, which writes formula-like text as text — so memory stays
flat however many rows there are; progress is written to the ``Export`` row every chunk for the page's progress bar. The filters are applied
as the requester (their scope), and phones and reporter names are masked.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from typing import Any

from django.core.files import File
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicgrid.cases.models import Case, Source, State
from civicgrid.core.spreadsheets import SafeCsvWriter, xlsx_row
from civicgrid.people.access import principal_scope
from civicgrid.people.models import User

from . import indicators
from .models import Export, ExportFormat, ExportKind, ExportState
from .periods import period_from
from .selectors import Filters, case_q, department_q, resolve_filters

logger = logging.getLogger(__name__)
CHUNK = 2000


def mask_phone(phone: str) -> str:
    """138****5678: the first three and last four digits stay, as on public boards."""
    digits = (phone or "").strip()
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"


def mask_name(name: str) -> str:
    """张* / 欧阳** : the family name's first character stays."""
    name = (name or "").strip()
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)


def _when(value: dt.datetime | None, tz=None) -> str:
    if not value:
        return ""
    v = value.astimezone(tz or timezone.get_current_timezone())
    # f-string rather than strftime: this runs four times per exported row.
    return f"{v.year:04d}-{v.month:02d}-{v.day:02d} {v.hour:02d}:{v.minute:02d}"


def _period_and_filters(user, params: dict) -> tuple[Any, Filters]:
    period = period_from(
        params.get("period", "month"), params.get("date"), params.get("start"), params.get("end")
    )
    filters = resolve_filters(
        user,
        area=params.get("area", ""),
        category=params.get("category", ""),
        source=params.get("source", ""),
        department=params.get("department", ""),
    )
    return period, filters


# --- row sources ------------------------------------------------------------------------------

CASE_COLUMNS = (
    ("tracking_code", gettext_lazy("Tracking code")),
    ("category__code", gettext_lazy("Category code")),
    ("category__name", gettext_lazy("Category")),
    ("source", gettext_lazy("Source")),
    ("state", gettext_lazy("State")),
    ("area__name", gettext_lazy("Community")),
    ("grid__code", gettext_lazy("Grid code")),
    ("grid__name", gettext_lazy("Grid")),
    ("address", gettext_lazy("Address")),
    ("description", gettext_lazy("Description")),
    ("reported_at", gettext_lazy("Reported at")),
    ("filed_at", gettext_lazy("Filed at")),
    ("final_due", gettext_lazy("Final deadline")),
    ("closed_at", gettext_lazy("Closed at")),
    ("department__name", gettext_lazy("Department")),
    ("rework_count", gettext_lazy("Reworks")),
    ("extension_count", gettext_lazy("Extensions")),
    ("satisfaction", gettext_lazy("Satisfaction")),
    ("reporter_name", gettext_lazy("Reporter")),
    ("reporter_phone", gettext_lazy("Reporter phone")),
)


def case_rows(user, params: dict) -> tuple[list[str], int, Iterator[list]]:
    """Cases reported in the period under the filters, oldest first."""
    period, filters = _period_and_filters(user, params)
    qs = Case.objects.filter(
        case_q(user, filters) & department_q(filters),
        reported_at__gte=period.start,
        reported_at__lt=period.until(),
    )
    total = qs.count()
    fields = [f for f, _label in CASE_COLUMNS]
    header = [str(label) for _f, label in CASE_COLUMNS]
    states = {s.value: str(s.label) for s in State}
    sources = {s.value: str(s.label) for s in Source}
    idx = {f: i for i, f in enumerate(fields)}
    dates = [idx[f] for f in ("reported_at", "filed_at", "final_due", "closed_at")]

    tz = timezone.get_current_timezone()

    def rows() -> Iterator[list]:
        it = qs.order_by("reported_at", "id").values_list(*fields).iterator(chunk_size=CHUNK)
        for raw in it:
            row = list(raw)
            row[idx["source"]] = sources.get(row[idx["source"]], row[idx["source"]])
            row[idx["state"]] = states.get(row[idx["state"]], row[idx["state"]])
            for i in dates:
                row[i] = _when(row[i], tz)
            row[idx["reporter_name"]] = mask_name(row[idx["reporter_name"]])
            row[idx["reporter_phone"]] = mask_phone(row[idx["reporter_phone"]])
            yield ["" if v is None else v for v in row]

    return header, total, rows()


def indicator_rows(user, params: dict) -> tuple[list[str], int, Iterator[list]]:
    """The indicators per sub-area (or category/department/source) plus the total line."""
    from .dashboard import children_of, current_area

    period, filters = _period_and_filters(user, params)
    by = params.get("by", "area")
    keys = [i.key for i in indicators.INDICATORS]
    header = [_("Code"), _("Name")] + [str(i.label) for i in indicators.INDICATORS]
    lines: list[list] = []
    if by == "area":
        children, n = children_of(current_area(user, filters), user)
        if children:
            got = indicators.breakdown(user, period, filters, indicators.by_area(n))
            for child in children:
                v = got.get(child["code"][:n]) or indicators.Counts().values()
                lines.append([child["code"], child["name"], *[v[k] for k in keys]])
    else:
        group = {
            "category": indicators.BY_CATEGORY_CLASS,
            "department": indicators.BY_DEPARTMENT,
            "source": indicators.BY_SOURCE,
        }.get(by, indicators.BY_CATEGORY_CLASS)
        got = indicators.breakdown(user, period, filters, group)
        for key, v in sorted(got.items(), key=lambda kv: str(kv[0])):
            lines.append([key or "", key or _("(none)"), *[v[k] for k in keys]])
    total = indicators.values(user, period, filters)
    lines.append(["", _("Total") + f" {period.label}", *[total[k] for k in keys]])
    return header, len(lines), iter(lines)


def assessment_rows(user, params: dict) -> tuple[list[str], int, Iterator[list]]:
    from .assessment import FIELD_KEYS, month_of, worker_assessment

    _period, filters = _period_and_filters(user, {**params, "period": "month"})
    data = worker_assessment(
        user, month_of(params.get("date")), filters, sort=params.get("sort", "name")
    )
    header = [
        _("Grid worker"),
        _("Grids"),
        _("Reports"),
        _("Valid-report share"),
        _("Verifications"),
        _("Verified on time"),
        _("Tasks done"),
        _("Tasks on time"),
        _("Patrol km"),
        _("Patrol coverage"),
        _("Check-ins"),
        _("Base data touched"),
        _("Visits on time"),
        _("Records confirmed (12 months)"),
    ]
    no_data = _("no data")
    lines = [
        [
            r["name"],
            " ".join(r["grids"]),
            r["reports"],
            r["valid_share"],
            r["verifications"],
            r["verified_on_time_share"],
            r["tasks_done"],
            r["tasks_on_time_share"],
            *[no_data if r[k] is None else r[k] for k in FIELD_KEYS],
        ]
        for r in data["rows"]
    ]
    return header, len(lines), iter(lines)


SOURCES = {
    ExportKind.CASES: case_rows,
    ExportKind.INDICATORS: indicator_rows,
    ExportKind.ASSESSMENT: assessment_rows,
}


# --- writers ----------------------------------------------------------------------------------


def write_csv(path: str, header: list[str], rows: Iterable[list], progress) -> int:
    n = 0
    # UTF-8 with BOM: Excel on Chinese Windows opens it without garbling.
    with open(path, "w", newline="", encoding="utf-8-sig") as f:
        w = SafeCsvWriter(f)
        w.writerow(header)
        for row in rows:
            w.writerow(row)
            n += 1
            if n % CHUNK == 0:
                progress(n)
    return n


def write_xlsx(path: str, header: list[str], rows: Iterable[list], progress) -> int:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title="data")
    ws.append(xlsx_row(ws, header))
    n = 0
    for row in rows:
        ws.append(xlsx_row(ws, row))
        n += 1
        if n % CHUNK == 0:
            progress(n)
    wb.save(path)
    return n


def run(export_id: int) -> Export:
    """Write one export (called by the task worker); failures are recorded on the row."""
    claimed = Export.objects.filter(pk=export_id, state=ExportState.QUEUED).update(
        state=ExportState.RUNNING, started_at=timezone.now()
    )
    export = Export.objects.select_related("user").get(pk=export_id)
    if not claimed:  # already taken by another worker, or finished
        return export
    lang = export.params.get("lang") or None
    fd, path = tempfile.mkstemp(suffix=f".{export.fmt}", prefix="civicgrid-export-")
    os.close(fd)
    try:
        # One principal for the whole export: its rows are scoped through the user's assignments.
        with translation.override(lang), principal_scope():
            user = User.objects.get(pk=export.user_id)
            header, total, rows = SOURCES[export.kind](user, export.params)
            Export.objects.filter(pk=export.pk).update(total=total)

            def progress(n: int) -> None:
                Export.objects.filter(pk=export.pk).update(done=n)

            writer = write_xlsx if export.fmt == ExportFormat.XLSX else write_csv
            n = writer(path, header, rows, progress)
        name = export.filename or f"{export.kind}-{export.pk}.{export.fmt}"
        with open(path, "rb") as f:
            export.file.save(name, File(f), save=False)
        Export.objects.filter(pk=export.pk).update(
            file=export.file.name,
            done=n,
            total=max(total, n),
            state=ExportState.DONE,
            finished_at=timezone.now(),
        )
    except Exception as exc:  # recorded for the user; the worker goes on
        logger.exception("export %s failed", export_id)
        Export.objects.filter(pk=export.pk).update(
            state=ExportState.FAILED, error=str(exc)[:500], finished_at=timezone.now()
        )
    finally:
        os.unlink(path)
    export.refresh_from_db()
    return export
