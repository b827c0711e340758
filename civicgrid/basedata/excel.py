"""Excel import and export of persons (openpyxl, streamed both ways so memory stays flat).

Import: a template with Chinese headers and an example row; every row is validated first (a dry
run lists every bad row by row number, column and reason); only a file without errors is written,
all or nothing, in one transaction. A row whose ID number is on file updates that person (found
through the blind index), so a file imported twice changes nothing the second time.
Export: masked ID numbers and phones, visible tags only.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook

from civicgrid.core import bulk, xlsx
from civicgrid.core.errors import DomainError
from civicgrid.core.spreadsheets import xlsx_row
from civicgrid.people.scoping import scope_q

from . import crypto, selectors, services
from .models import ChangeLog, House, Person
from .validators import IdNumberError, check_phone, parse_resident_id

# (header, field, required, example)
COLUMNS = [
    ("姓名", "name", True, "张三"),
    ("证件类型", "id_type", False, "居民身份证"),
    ("证件号码", "id_number", True, "11010519491231002X"),
    ("联系电话", "phone", False, "13900000012"),
    ("户籍地区划代码", "hukou_region", False, "110105"),
    ("人员类别", "category", False, "户籍人口"),
    ("政治面貌", "political_status", False, "群众"),
    ("地址", "address", True, "和平路1号"),
    ("楼栋", "building", True, "1"),
    ("单元", "unit", False, "2"),
    ("户室", "room", True, "301"),
]
HEADERS = {h: f for h, f, _r, _e in COLUMNS}
LABELS = {f: h for h, f, _r, _e in COLUMNS}
CHUNK = 1000
MAX_ERRORS = 1000
PROGRESS_EVERY = 200  # rows between two progress reports of a job on the task worker

ID_TYPES = {"居民身份证": "resident", "护照": "passport", "港澳居民来往内地通行证": "hk_macao",
            "台湾居民来往大陆通行证": "taiwan", "外国人永久居留身份证": "foreign_pr"}  # fmt: skip
CATEGORIES = {"户籍人口": "registered", "流动人口": "floating", "境外人员": "overseas",
              "人户分离": "separated"}  # fmt: skip
POLITICAL = {"群众": "masses", "中共党员": "cpc", "党员": "cpc", "中共预备党员": "probationary",
             "共青团员": "league", "民主党派": "other_party"}  # fmt: skip


def person_template() -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "实有人口"
    ws.append([h + ("*" if r else "") for h, _f, r, _e in COLUMNS])
    ws.append([e for _h, _f, _r, e in COLUMNS])
    for i in range(len(COLUMNS)):
        ws.column_dimensions[chr(65 + i)].width = 18
    notes = wb.create_sheet("说明")
    notes.append(["带 * 的列必填；第 2 行为示例，导入前请删除。"])
    notes.append(["证件类型：" + "、".join(ID_TYPES)])
    notes.append(["人员类别：" + "、".join(CATEGORIES)])
    notes.append(["政治面貌：" + "、".join(POLITICAL)])
    notes.append(
        ["房屋按 地址+楼栋+单元+户室 匹配您辖区内已登记的房屋；证件号码已登记的人员将被更新。"]
    )
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    committed: bool = False
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0

    def add(self, row: int, column: str, reason: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append({"row": row, "column": column, "reason": reason})

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def as_dict(self) -> dict[str, Any]:
        """What an ``ImportJob`` keeps (JSON), ``ok`` included for the templates."""
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "committed": self.committed,
            "errors": self.errors,
            "error_count": self.error_count,
            "ok": self.ok,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImportReport:
        keys = ("rows", "created", "updated", "committed", "errors", "error_count")
        return cls(**{k: data[k] for k in keys if k in data})


class _Cleaner:
    """Row validation with the services' rules, cached per file (regions, houses in scope)."""

    def __init__(self, actor) -> None:
        self.actor = actor
        self.today = timezone.localdate()
        self.regions: dict[str, str | None] = {}
        self.houses: dict[tuple, tuple | None] = {}
        self.house_q = scope_q(actor, "scope_code", roles=services.WRITE_ROLES)

    def region(self, v: str) -> str:
        if v not in self.regions:
            try:
                self.regions[v] = services.check_region(v)
            except DomainError as exc:
                self.regions[v] = None
                self.regions[v + "!"] = exc.message.split(": ", 1)[-1]
        if self.regions[v] is None:
            raise ValueError(self.regions[v + "!"])
        return self.regions[v]

    @staticmethod
    def key(raw: dict[str, str]) -> tuple:
        return (
            raw.get("address", ""),
            raw.get("building", ""),
            raw.get("unit") or "",
            raw.get("room", ""),
        )

    def prefetch(self, rows: list[dict[str, str]]) -> None:
        """Look up the houses of a chunk of rows in one query (not one per row)."""
        if len(self.houses) > 50_000:  # bound memory on huge files
            self.houses.clear()
        keys = {self.key(r) for r in rows} - self.houses.keys()
        if not keys:
            return
        found = House.objects.filter(
            self.house_q,
            address__in={k[0] for k in keys},
            building__in={k[1] for k in keys},
            room__in={k[3] for k in keys},
        ).values_list(
            "address", "building", "unit", "room", "pk", "grid_id", "scope_code", "lat", "lng"
        )
        for a, b, u, r, *rest in found:
            if (a, b, u, r) in keys:
                self.houses.setdefault((a, b, u, r), (*rest, House.label(a, b, u, r)[:200]))
        for k in keys:
            self.houses.setdefault(k, None)

    def house(self, key: tuple) -> tuple:
        if key not in self.houses:
            self.prefetch([dict(zip(("address", "building", "unit", "room"), key, strict=True))])
        if self.houses[key] is None:
            raise ValueError(_("no such house in your area (address, building, unit, room)"))
        return self.houses[key]

    def row(self, raw: dict[str, str], add) -> dict | None:
        bad = False

        def fail(f: str, msg: str) -> None:
            nonlocal bad
            bad = True
            add(LABELS[f], msg)

        out: dict[str, Any] = {}
        for _h, f, req, _e in COLUMNS:
            if req and not raw.get(f):
                fail(f, _("required"))
        if bad:
            return None
        out["name"] = raw["name"][:50]
        id_type = ID_TYPES.get(raw.get("id_type") or "居民身份证", raw.get("id_type"))
        if id_type not in ID_TYPES.values():
            fail("id_type", _("unknown value %(v)s") % {"v": raw.get("id_type")})
        out["id_type"] = id_type
        number = raw["id_number"].upper()
        if id_type == "resident":
            try:
                number, out["birth_date"], out["gender"] = parse_resident_id(
                    number, today=self.today
                )
            except IdNumberError as exc:
                fail("id_number", _(str(exc)))
        elif not (5 <= len(number) <= 20 and number.isalnum()):
            fail("id_number", _("5 to 20 letters and digits"))
        out["id_number"] = number
        if raw.get("phone"):
            try:
                out["phone"] = check_phone(raw["phone"])
            except ValueError as exc:
                fail("phone", _(str(exc)))
        if raw.get("hukou_region"):
            try:
                out["hukou_region"] = self.region(raw["hukou_region"])
            except ValueError as exc:
                fail("hukou_region", str(exc))
        for f, table, default in (
            ("category", CATEGORIES, "registered"),
            ("political_status", POLITICAL, "masses"),
        ):
            v = raw.get(f) or ""
            out[f] = table.get(v, v) if v else default
            if out[f] not in table.values():
                fail(f, _("unknown value %(v)s") % {"v": v})
        if out.get("category") == "overseas" and id_type == "resident":
            fail("id_type", _("an overseas person has a passport or a permit"))
        try:
            out["house"] = self.house(
                (raw["address"], raw["building"], raw.get("unit") or "", raw["room"])
            )
        except ValueError as exc:
            fail("room", str(exc))
        return None if bad else out


def read_rows(upload, cols, *, parallel: bool = False) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number, {field: text}) for every non-empty data row of a file with the columns
    ``cols`` [(header, field, required, example)], streamed (``core.xlsx``); the header may star
    its required columns and put them in any order. Raises DomainError for a missing column and
    XlsxError for a file that is not a readable .xlsx. ``parallel``: a large file is parsed in a
    process of its own (``xlsx.iter_rows_parallel``), for the importers."""
    headers = {h: f for h, f, _r, _e in cols}
    it = xlsx.iter_rows_parallel(upload) if parallel else xlsx.iter_rows(upload)
    _n, header = next(it, (1, []))
    fields = [headers.get(h.strip().rstrip("*")) for h in header]
    missing = [h for h, f, r, _e in cols if r and f not in fields]
    if missing:
        raise DomainError(
            "bad_header",
            _("file: missing columns %(c)s") % {"c": "、".join(missing)},
            field="file",
        )
    for n, values in it:
        row = {f: v.strip() for f, v in zip(fields, values, strict=False) if f}
        if any(row.values()):
            yield n, row


def _rows(upload, parallel: bool = False) -> Iterator[tuple[int, dict[str, str]]]:
    return read_rows(upload, COLUMNS, parallel=parallel)


def _chunks(rows: Iterator, size: int = CHUNK) -> Iterator[list]:
    chunk: list = []
    for r in rows:
        chunk.append(r)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class _Rollback(Exception):
    pass


def count_rows(upload, limit: int | None = None, cols=COLUMNS) -> int:
    """The non-empty data rows of a file with the columns ``cols`` (persons by default),
    counting stops past ``limit``.

    Raises DomainError for a header without a required column and XlsxError for a file that
    is not a readable .xlsx.
    """
    n = 0
    for _row in read_rows(upload, cols):
        n += 1
        if limit is not None and n > limit:
            break
    return n


def import_persons(upload, *, actor, commit: bool, progress=None) -> ImportReport:
    """Validate every row; when ``commit`` and no row is bad, write them all in one transaction.

    One streamed pass: chunks of valid rows are written inside the transaction as they come;
    the first bad row stops the writing (validation goes on, to list every bad row) and the
    transaction is rolled back at the end, so a file with any error changes nothing.
    ``progress(rows)`` is called every ``PROGRESS_EVERY`` rows read (a job's progress bar).
    """
    report = ImportReport()
    cleaner = _Cleaner(actor)
    seen: set[str] = set()
    try:
        with transaction.atomic():
            for chunk in _chunks(_rows(upload, parallel=True)):
                cleaner.prefetch([raw for _n, raw in chunk])
                good = []
                for n, raw in chunk:
                    report.rows += 1
                    if progress is not None and report.rows % PROGRESS_EVERY == 0:
                        progress(report.rows)
                    clean = cleaner.row(raw, lambda col, msg, n=n: report.add(n, col, msg))
                    if clean:
                        clean["bidx"] = services.id_index(clean["id_number"])
                        if clean["bidx"] in seen:
                            report.add(n, LABELS["id_number"],
                                       _("the same ID number appears twice in the file"))  # fmt: skip
                        seen.add(clean["bidx"])
                        good.append(clean)
                if commit and report.ok:
                    _write(good, actor, report)
            if not commit or not report.ok:
                raise _Rollback
    except _Rollback:
        report.created = report.updated = 0
    except DomainError as exc:
        report.add(1, "file", exc.message)
    except DatabaseError:
        raise
    except xlsx.XlsxError:
        report.add(0, "file", _("not a readable .xlsx file"))
    report.created, report.updated = (report.created, report.updated) if report.ok else (0, 0)
    report.committed = commit and report.ok and report.rows > 0
    return report


UPDATE_FIELDS = ["name", "id_type", "phone_enc", "phone_bidx", "phone_mask", "gender", "birth_date",
                 "hukou_region", "category", "political_status", "house", "grid", "scope_code",
                 "lat", "lng", "address", "confirmed_at", "updated_at"]  # fmt: skip


def _values(c: dict, now) -> dict[str, Any]:
    """The columns a clean row sets on a person, new or on file (attnames)."""
    pk, grid_id, scope, lat, lng, label = c["house"]
    out = {
        "name": c["name"], "id_type": c["id_type"], "hukou_region": c.get("hukou_region", ""),
        "category": c["category"], "political_status": c["political_status"],
        "house_id": pk, "grid_id": grid_id, "scope_code": scope, "lat": lat, "lng": lng,
        "address": label, "confirmed_at": now, "updated_at": now,
    }  # fmt: skip
    if "gender" in c:
        out["gender"], out["birth_date"] = c["gender"], c["birth_date"]
    if c.get("phone"):
        out["phone_enc"] = crypto.encrypt(c["phone"], context=Person.PHONE_CONTEXT)
        out["phone_bidx"] = services.phone_index(c["phone"])
        out["phone_mask"] = crypto.mask_phone(c["phone"])
    return out


def _write(chunk: list[dict], actor, report: ImportReport) -> None:
    """Write a chunk of clean rows: new persons through COPY (``core.bulk``), persons on file
    (found by the blind index) updated; a history row for each."""
    now = timezone.now()
    by_idx = {c["bidx"]: c for c in chunk}
    existing = {p.id_number_bidx: p for p in Person.objects.filter(id_number_bidx__in=list(by_idx))}
    new: list[dict] = []
    upd: list[Person] = []
    for idx, c in by_idx.items():
        values = _values(c, now)
        p = existing.get(idx)
        if p is None:
            new.append({
                **values, "id_number_bidx": idx,
                "id_number_enc": crypto.encrypt(c["id_number"], context=Person.ID_CONTEXT),
                "id_number_mask": crypto.mask_id(c["id_number"]), "created_at": now,
            })  # fmt: skip
        else:
            # A person registered elsewhere who now lives in one of the actor's houses moves
            # here; the history row says who moved them.
            for k, v in values.items():
                setattr(p, k, v)
            upd.append(p)
    ids = bulk.insert_rows(Person, new)
    if upd:
        Person.objects.bulk_update(upd, UPDATE_FIELDS, batch_size=CHUNK)
    logs = [
        (pk, "import", v["name"], v["id_number_mask"], v["house_id"], v["scope_code"])
        for pk, v in zip(ids, new, strict=True)
    ] + [(p.pk, "import_update", p.name, p.id_number_mask, p.house_id, p.scope_code) for p in upd]
    bulk.insert_rows(ChangeLog, [
        {"entity": "person", "object_id": pk, "actor_id": actor.pk, "action": action,
         "changes": {"name": name, "id_number_mask": mask, "house_id": house},
         "scope_code": scope, "at": now}
        for pk, action, name, mask, house, scope in logs
    ])  # fmt: skip
    report.created += len(new)
    report.updated += len(upd)


EXPORT_HEADERS = ["姓名", "证件类型", "证件号码（脱敏）", "联系电话（脱敏）", "性别", "出生日期",
                  "户籍地区划代码", "人员类别", "政治面貌", "地址", "网格", "标签"]  # fmt: skip


def export_persons(user, qs) -> bytes:
    """A masked export of the given (already scoped) persons; visible tags only."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("实有人口")
    ws.append(EXPORT_HEADERS)
    qs = qs.select_related(None).select_related("grid").order_by("id")
    last = 0
    while True:
        batch = list(qs.filter(pk__gt=last)[:2000])
        if not batch:
            break
        tags = selectors.tags_for(user, batch)
        for p in batch:
            ws.append(xlsx_row(ws, [
                p.name, p.get_id_type_display(), p.id_number_mask, p.phone_mask,
                p.get_gender_display(), p.birth_date.isoformat() if p.birth_date else "",
                p.hukou_region, p.get_category_display(), p.get_political_status_display(),
                p.address, p.grid.name, "、".join(t.kind.name for t in tags[p.pk]),
            ]))  # fmt: skip
        last = batch[-1].pk
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
