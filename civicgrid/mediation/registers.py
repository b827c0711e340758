"""三簿一卡: the four registers, each one column list for its page, print layout and Excel file.

来信来访登记簿 (letters and visits), 调处化解登记簿 (mediation), 分析研判记录簿 (analysis meetings)
and the 矛盾纠纷分流卡 (triage card). A register declares its columns once (header, cell getter);
the console page, the print layout and the export all render ``headers()`` and ``row_of()``, so
they cannot drift apart. Exports stream: rows come from ``iterator()`` in chunks and go to a
write-only openpyxl sheet on disk, so memory stays flat however many rows there are. Personal
data appear masked.
"""

from __future__ import annotations

import datetime as dt
import functools
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import CharField, Count, OuterRef, Prefetch, QuerySet, Subquery
from django.http import FileResponse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from civicgrid.core.spreadsheets import xlsx_row

from .models import (
    Agreement,
    Dispute,
    DisputeAction,
    DisputeSource,
    FollowUp,
    Meeting,
    MeetingTask,
    Party,
    PartyRole,
)

PRINT_LIMIT = 500
CHUNK = 2000


def _day(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d")
    return value.strftime("%Y-%m-%d")


@functools.cache
def _choices(field: str, language: str) -> dict:
    """A field's choice labels in ``language`` (get_FOO_display is slow on lazy labels)."""
    return {k: str(v) for k, v in Dispute._meta.get_field(field).choices}


def label(d: Dispute, field: str) -> str:
    value = getattr(d, field)
    return _choices(field, get_language() or "")[value] if value not in (None, "") else ""


def _related(d: Dispute, name: str) -> list:
    """A relation's rows: the list the register's queryset prefetched into ``_reg_<name>``
    (``to_attr``: Django then builds no queryset per row), else a query (a single dispute)."""
    rows = getattr(d, f"_reg_{name}", None)
    return rows if rows is not None else list(getattr(d, name).all())


def _names(d: Dispute, role: str) -> str:
    return "、".join(p.name for p in _related(d, "parties") if p.role == role)


def _ids(d: Dispute, role: str = PartyRole.APPLICANT) -> str:
    return "、".join(
        p.id_number_mask for p in _related(d, "parties") if p.role == role and p.id_number_mask
    )


def _phones(d: Dispute, role: str = PartyRole.APPLICANT) -> str:
    return "、".join(
        p.phone_mask for p in _related(d, "parties") if p.role == role and p.phone_mask
    )


def _agreement(d: Dispute) -> Agreement | None:
    rows = _related(d, "agreements")
    return rows[-1] if rows else None


def _fulfilment(d: Dispute) -> str:
    a = _agreement(d)
    if a is None:
        return ""
    if a.fulfilled_at:
        return str(_("fulfilled %(d)s") % {"d": _day(a.fulfilled_at)})
    return str(_("due %(d)s") % {"d": _day(a.fulfil_by)})


def _visits(d: Dispute) -> str:
    parts = []
    for v in _related(d, "followups"):
        if v.done_at is None:
            continue
        mark = _("satisfied") if v.satisfied else _("not satisfied")
        if v.relapse:
            mark = _("relapse")
        parts.append(f"{_day(v.done_at)} {mark}")
    return "；".join(parts)


def _outcome(d: Dispute) -> str:
    text = label(d, "state")
    if d.legal_route:
        text += f"（{label(d, 'legal_route')}）"
    return text


@dataclass(frozen=True)
class Column:
    header: Any
    cell: Callable[[Any], Any]
    width: int = 14


@dataclass
class Register:
    code: str
    title: Any
    description: Any
    columns: list[Column]
    model: str  # "dispute" or "meeting"
    date_field: str
    filters: dict | None = None

    def headers(self) -> list[str]:
        return [str(c.header) for c in self.columns]

    def row_of(self, obj) -> list[Any]:
        return [c.cell(obj) for c in self.columns]

    def queryset(self, principal, start: dt.date, end: dt.date) -> QuerySet:
        lo = timezone.make_aware(dt.datetime.combine(start, dt.time.min))
        hi = timezone.make_aware(dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min))
        rng = {f"{self.date_field}__gte": lo, f"{self.date_field}__lt": hi}
        if self.model == "meeting":
            from civicgrid.people.models import Role

            return (
                Meeting.objects.filter(
                    principal.scope_q("owner_code", [Role.OPERATOR, Role.LEADER])
                )
                .filter(**rng)
                .select_related("center")
                .prefetch_related(
                    Prefetch("disputes", queryset=Dispute.objects.only("id", "number")),
                    Prefetch("cases"),
                    Prefetch("tasks", queryset=MeetingTask.objects.all()),
                )
                .order_by("held_at", "id")
            )
        triage = DisputeAction.objects.filter(dispute=OuterRef("pk"), action="triage").order_by(
            "-created_at"
        )
        qs = (
            Dispute.objects.filter(principal.dispute_visible_q())
            .filter(**rng, **(self.filters or {}))
            .select_related("center", "body", "mediator", "registered_by")
            .annotate(
                session_count=Count("sessions", distinct=True),
                triaged_at=Subquery(triage.values("created_at")[:1]),
                triaged_by=Subquery(
                    triage.values("actor__full_name")[:1], output_field=CharField()
                ),
            )
            .prefetch_related(
                Prefetch("parties", Party.objects.order_by("role", "id"), to_attr="_reg_parties"),
                Prefetch(
                    "agreements",
                    Agreement.objects.order_by("signed_at", "id"),
                    to_attr="_reg_agreements",
                ),
                Prefetch(
                    "followups",
                    FollowUp.objects.order_by("due_date", "id"),
                    to_attr="_reg_followups",
                ),
            )
        )
        return qs.order_by(self.date_field, "id")

    def rows(self, principal, start: dt.date, end: dt.date) -> Iterator[list[Any]]:
        qs = self.queryset(principal, start, end)
        for n, obj in enumerate(qs.iterator(chunk_size=CHUNK), start=1):
            row = self.row_of(obj)
            row[0] = n
            yield row


def _seq(obj) -> Any:
    return obj.pk  # numbered in order on export and print


LETTERS_VISITS = Register(
    code="letters-visits",
    title=_("Register of letters and visits (来信来访登记簿)"),
    description=_("Disputes brought to a center by visit, letter or online."),
    model="dispute",
    date_field="registered_at",
    filters={"source__in": [DisputeSource.VISIT, DisputeSource.LETTER, DisputeSource.ONLINE]},
    columns=[
        Column(_("No."), _seq, 6),
        Column(_("Number"), lambda d: d.number, 18),
        Column(_("Date"), lambda d: _day(d.registered_at), 11),
        Column(_("Channel"), lambda d: label(d, "source")),
        Column(_("Visitors"), lambda d: _names(d, PartyRole.APPLICANT), 16),
        Column(_("Persons"), lambda d: d.visitor_count, 6),
        Column(_("ID number"), lambda d: _ids(d), 20),
        Column(_("Phone"), lambda d: _phones(d), 14),
        Column(_("Address"), lambda d: d.address, 20),
        Column(_("Matter raised"), lambda d: d.facts, 40),
        Column(_("Kind"), lambda d: label(d, "kind")),
        Column(_("Repeat visit"), lambda d: str(_("yes") if d.repeat_visit else _("no")), 6),
        Column(_("Received by"), lambda d: d.center.name, 18),
        Column(_("Handling"), _outcome, 14),
        Column(_("Registered by"), lambda d: str(d.registered_by or ""), 10),
    ],
)

MEDIATION = Register(
    code="mediation",
    title=_("Register of mediation (调处化解登记簿)"),
    description=_("Every dispute registered in the period, with its mediation and outcome."),
    model="dispute",
    date_field="registered_at",
    columns=[
        Column(_("No."), _seq, 6),
        Column(_("Number"), lambda d: d.number, 18),
        Column(_("Date"), lambda d: _day(d.registered_at), 11),
        Column(_("Applicant"), lambda d: _names(d, PartyRole.APPLICANT), 14),
        Column(_("Respondent"), lambda d: _names(d, PartyRole.RESPONDENT), 14),
        Column(_("Kind"), lambda d: label(d, "kind")),
        Column(_("Summary"), lambda d: d.title, 30),
        Column(_("Amount (yuan)"), lambda d: float(d.amount) if d.amount is not None else None, 12),
        Column(
            _("Risk"),
            lambda d: label(d, "risk") + (" 民转刑" if d.violence_flag else ""),
            10,
        ),
        Column(_("Mediation body"), lambda d: d.body.name if d.body_id else "", 20),
        Column(_("Mediator"), lambda d: d.mediator.name if d.mediator_id else "", 10),
        Column(_("Sessions"), lambda d: d.session_count, 6),
        Column(_("Outcome"), _outcome, 14),
        Column(_("Agreement"), lambda d: _agreement(d).number if _agreement(d) else "", 18),
        Column(_("Fulfilment"), _fulfilment, 14),
        Column(_("Follow-up visits"), _visits, 22),
        Column(_("Concluded"), lambda d: _day(d.concluded_at), 11),
    ],
)


def _discussed(m: Meeting) -> str:
    items = [d.number for d in m.disputes.all()] + [c.tracking_code for c in m.cases.all()]
    return "、".join(items)


def _tasks(m: Meeting) -> str:
    return "；".join(
        f"{t.task}（{t.owner}，{_day(t.due_date)}{'，' + str(_('done')) if t.done_at else ''}）"
        for t in m.tasks.all()
    )


ANALYSIS = Register(
    code="analysis",
    title=_("Register of analysis meetings (分析研判记录簿)"),
    description=_("The 研判会商 meetings: attendees, what was discussed, decisions, follow-ups."),
    model="meeting",
    date_field="held_at",
    columns=[
        Column(_("No."), _seq, 6),
        Column(_("Date"), lambda m: _day(m.held_at), 11),
        Column(_("Center"), lambda m: m.center.name, 18),
        Column(_("Place"), lambda m: m.place, 14),
        Column(_("Host"), lambda m: m.host, 10),
        Column(_("Attendees"), lambda m: m.attendees, 24),
        Column(_("Topic"), lambda m: m.topic, 24),
        Column(_("Disputes and cases discussed"), _discussed, 24),
        Column(_("Situation"), lambda m: m.situation, 30),
        Column(_("Opinions"), lambda m: m.opinions, 30),
        Column(_("Decisions"), lambda m: m.decisions, 30),
        Column(_("Follow-up tasks (owner, due)"), _tasks, 36),
    ],
)

TRIAGE = Register(
    code="triage",
    title=_("Dispute triage cards (矛盾纠纷分流卡)"),
    description=_("Where each dispute was sent, why and by when."),
    model="dispute",
    date_field="registered_at",
    filters={"body__isnull": False},
    columns=[
        Column(_("No."), _seq, 6),
        Column(_("Number"), lambda d: d.number, 18),
        Column(_("Date"), lambda d: _day(d.registered_at), 11),
        Column(_("Parties"), lambda d: "、".join(p.name for p in _related(d, "parties")), 18),
        Column(_("Kind"), lambda d: label(d, "kind")),
        Column(_("Summary"), lambda d: d.title, 30),
        Column(_("Triaged on"), lambda d: _day(getattr(d, "triaged_at", None)), 11),
        Column(_("Sent to"), lambda d: d.body.name if d.body_id else "", 20),
        Column(_("Reason"), lambda d: d.triage_reason, 24),
        Column(_("To be resolved by"), lambda d: _day(d.due_at) if d.is_open else "", 11),
        Column(_("Mediator"), lambda d: d.mediator.name if d.mediator_id else "", 10),
        Column(_("Triaged by"), lambda d: getattr(d, "triaged_by", "") or "", 10),
        Column(_("Result"), _outcome, 14),
    ],
)

REGISTERS = {r.code: r for r in (LETTERS_VISITS, MEDIATION, ANALYSIS, TRIAGE)}


def write_xlsx(reg: Register, principal, start: dt.date, end: dt.date, path: str) -> int:
    """Write ``reg``'s rows to an .xlsx at ``path`` (write-only: flat memory); returns rows."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=str(reg.title)[:31].replace("/", " "))
    for i, c in enumerate(reg.columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = c.width
    ws.append(xlsx_row(ws, [f"{reg.title} {start:%Y-%m-%d} – {end:%Y-%m-%d}"]))
    ws.append(xlsx_row(ws, reg.headers()))
    n = 0
    for row in reg.rows(principal, start, end):
        ws.append(xlsx_row(ws, row))
        n += 1
    wb.save(path)
    return n


def export_response(reg: Register, principal, start: dt.date, end: dt.date) -> FileResponse:
    tmp = tempfile.NamedTemporaryFile(suffix=".xlsx")  # deleted when the response closes it
    write_xlsx(reg, principal, start, end, tmp.name)
    tmp.seek(0)
    return FileResponse(
        tmp,
        as_attachment=True,
        filename=f"{reg.code}-{start:%Y%m%d}-{end:%Y%m%d}.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
