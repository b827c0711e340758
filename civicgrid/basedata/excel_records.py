"""Excel import of houses, organisations, places, risk points and things (persons: ``excel``).

Each entity has a template with Chinese headers (required ones starred) and an example row.
Every row goes through the same service as a form (``house_create``, ``organisation_create`` …)
inside one transaction, each in its own savepoint: a bad row is listed by row number, column
(the Chinese header) and reason (the service's message, in the page's language — Chinese by
default) and validation goes on; the transaction is rolled back unless the file is imported and
has no bad row, so a check (dry run) validates exactly like the import and a file with any error
changes nothing. A row for a record on file updates it: a house by grid + address + building +
unit + room, an organisation by credit code, a thing by component code, a place or risk point by
name + address in the importer's scope.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from django.db import DatabaseError, transaction
from django.utils.translation import gettext as _
from openpyxl import Workbook

from civicgrid.core import xlsx
from civicgrid.core.errors import DomainError
from civicgrid.people.scoping import scope_q

from . import services
from .excel import MAX_ERRORS, PROGRESS_EVERY, ImportReport
from .excel import read_rows as _rows
from .models import House, Organisation, Place, RiskPoint, Thing

CRS = {"": "wgs84", "WGS84": "wgs84", "WGS-84": "wgs84", "GCJ02": "gcj02", "GCJ-02": "gcj02",
       "BD09": "bd09", "BD-09": "bd09"}  # fmt: skip
USE = {"自住": "own", "出租": "rented", "空置": "vacant", "经营": "business", "其他": "other"}
ORG_KIND = {
    "非公企业": "enterprise",
    "个体工商户": "individual",
    "社会组织": "social",
    "其他": "other",
}
PLACE_KIND = {"学校": "school", "医院": "hospital", "市场": "market", "九小场所": "small",
              "宗教场所": "religious", "其他": "other"}  # fmt: skip
RISK_KIND = {"地质灾害": "geological", "危房": "unsafe_building", "危化品": "chemicals",
             "火灾隐患": "fire", "防汛": "flood", "其他": "other"}  # fmt: skip
RISK_LEVEL = {"低": 1, "一般": 2, "中": 2, "较大": 3, "高": 3, "重大": 4}
THING_KIND = {"井盖": "manhole", "路灯": "streetlight", "消防栓": "hydrant", "摄像头": "camera",
              "垃圾桶": "bin", "其他": "other"}  # fmt: skip
THING_STATE = {"完好": "ok", "损坏": "damaged", "丢失": "missing", "报废": "retired"}
YES = {"是": True, "有": True, "否": False, "无": False, "": False}

POINT = [("纬度", "lat", True, "40.110000"), ("经度", "lng", True, "113.305000"),
         ("坐标系", "crs", False, "WGS84")]  # fmt: skip

# entity: (sheet title, [(header, field, required, example)], the choices listed in the notes)
SPECS: dict[str, tuple[str, list[tuple[str, str, bool, str]], dict[str, dict]]] = {
    "house": ("实有房屋", [
        ("地址", "address", True, "和平路1号"), ("楼栋", "building", True, "1"),
        ("单元", "unit", False, "2"), ("户室", "room", True, "301"), ("用途", "use", False, "自住"),
        *POINT], {"用途": USE}),
    "organisation": ("组织", [
        ("名称", "name", True, "和平商贸有限公司"),
        ("统一社会信用代码", "uscc", True, "91350100M000100Y43"),
        ("类型", "kind", False, "非公企业"), ("从业人数", "staff_count", False, "12"),
        ("有党组织", "has_party_org", False, "否"), ("地址", "address", False, "和平路2号"),
        *POINT], {"类型": ORG_KIND, "有党组织": {"是": 1, "否": 0}}),
    "place": ("重点场所", [
        ("名称", "name", True, "和平小学"), ("类型", "kind", True, "学校"),
        ("地址", "address", False, "和平路3号"), ("巡查周期（天）", "check_in_days", False, "30"),
        *POINT], {"类型": PLACE_KIND}),
    "riskpoint": ("风险点", [
        ("名称", "name", True, "和平路配电房"), ("类型", "kind", True, "火灾隐患"),
        ("等级", "level", True, "中"), ("地址", "address", False, "和平路4号"),
        ("巡查周期（天）", "check_in_days", False, "7"), *POINT],
        {"类型": RISK_KIND, "等级": RISK_LEVEL}),
    "thing": ("城市部件", [
        ("部件编码", "code", True, "JG-0001"), ("类型", "kind", True, "井盖"),
        ("状态", "state", False, "完好"), ("地址", "address", False, "和平路5号"), *POINT],
        {"类型": THING_KIND, "状态": THING_STATE}),
}  # fmt: skip


# The natural key of a row (a second row with it is refused) and the column named for it.
KEYS = {
    "house": ("room", ("address", "building", "unit", "room")),
    "organisation": ("uscc", ("uscc",)),
    "place": ("name", ("name", "address")),
    "riskpoint": ("name", ("name", "address")),
    "thing": ("code", ("code",)),
}


def template(entity: str) -> bytes:
    title, cols, choices = SPECS[entity]
    wb = Workbook()
    ws = wb.active
    ws.title = title
    ws.append([h + ("*" if r else "") for h, _f, r, _e in cols])
    ws.append([e for _h, _f, _r, e in cols])
    for i in range(len(cols)):
        ws.column_dimensions[chr(65 + i)].width = 18
    notes = wb.create_sheet("说明")
    notes.append(["带 * 的列必填；第 2 行为示例，导入前请删除。"])
    notes.append(["坐标为 WGS84 经纬度（坐标系可填 GCJ-02 或 BD-09）；点位须在您辖区的网格内。"])
    for header, table in choices.items():
        notes.append([f"{header}：" + "、".join(table)])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _choice(table: dict, value: str, header: str) -> Any:
    if value in table:
        return table[value]
    if value in {str(v) for v in table.values()}:
        return value if not isinstance(next(iter(table.values())), int) else int(value)
    raise ValueError(_("unknown value %(v)s (one of %(c)s)") % {"v": value, "c": "、".join(table)})


def _number(value: str, header: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise ValueError(_("a number")) from None


class _Writer:
    """One row → one service call (create, or update of the record on file)."""

    def __init__(self, entity: str, actor) -> None:
        self.entity, self.actor = entity, actor
        self.scope = scope_q(actor, "scope_code", roles=services.WRITE_ROLES)
        self.seen: set[tuple] = set()

    def point(self, raw: dict) -> dict:
        crs = CRS.get(raw.get("crs", "").upper().replace(" ", ""))
        if crs is None:
            raise _Bad("crs", _("unknown value %(v)s (one of %(c)s)")
                       % {"v": raw["crs"], "c": "WGS84、GCJ-02、BD-09"})  # fmt: skip
        out = {"crs": crs}
        for f in ("lat", "lng"):
            try:
                out[f] = _number(raw[f], f)
            except ValueError as exc:
                raise _Bad(f, str(exc)) from None
        return out

    def write(self, raw: dict) -> bool:
        """Create or update the row's record; True when created."""
        field, key = KEYS[self.entity]
        k = tuple(raw.get(f, "").upper() for f in key)
        if k in self.seen:
            raise _Bad(field, _("the same record appears twice in the file"))
        handler: Callable[[dict], bool] = getattr(self, f"_{self.entity}")
        created = handler(raw)
        self.seen.add(k)
        return created

    def _house(self, raw: dict) -> bool:
        use = _convert(USE, raw, "use", "own")
        try:
            services.house_create(
                actor=self.actor, address=raw["address"], building=raw["building"],
                unit=raw.get("unit", ""), room=raw["room"], use=use, **self.point(raw),
            )  # fmt: skip
            return True
        except DomainError as exc:
            if exc.code != "duplicate" or not exc.details.get("house"):
                raise
            house = House.objects.filter(self.scope, pk=exc.details["house"]).first()
            if house is None:
                raise
        services.house_update(house=house, actor=self.actor, use=use)
        return False

    def _organisation(self, raw: dict) -> bool:
        fields = dict(
            name=raw["name"],
            kind=_convert(ORG_KIND, raw, "kind", "enterprise"),
            staff_count=raw.get("staff_count") or 0,
            has_party_org=_convert(YES, raw, "has_party_org", False),
        )
        org = Organisation.objects.filter(self.scope, uscc=raw["uscc"].upper()).first()
        if org is not None:
            services.organisation_update(organisation=org, actor=self.actor, **fields)
            return False
        services.organisation_create(
            actor=self.actor, uscc=raw["uscc"], address=raw.get("address", ""),
            **fields, **self.point(raw),
        )  # fmt: skip
        return True

    def _located(self, model, raw: dict, create, **fields) -> bool:
        existing = model.objects.filter(
            self.scope, name=raw["name"], address=raw.get("address", "")
        ).first()
        if existing is not None:
            changes = {k: v for k, v in fields.items() if getattr(existing, k) != v}
            if changes:
                for k, v in changes.items():
                    setattr(existing, k, v)
                existing.save()
                services._log(model._meta.model_name, existing, self.actor, "import_update",
                              {k: [None, v] for k, v in changes.items()})  # fmt: skip
            return False
        create(actor=self.actor, name=raw["name"], address=raw.get("address", ""),
               **fields, **self.point(raw))  # fmt: skip
        return True

    def _days(self, raw: dict, default: int) -> int:
        v = raw.get("check_in_days") or str(default)
        if not v.isdigit() or not 1 <= int(v) <= 366:
            raise _Bad("check_in_days", _("a whole number of days from 1 to 366"))
        return int(v)

    def _place(self, raw: dict) -> bool:
        return self._located(
            Place, raw, services.place_create,
            kind=_convert(PLACE_KIND, raw, "kind", None), check_in_days=self._days(raw, 30),
        )  # fmt: skip

    def _riskpoint(self, raw: dict) -> bool:
        return self._located(
            RiskPoint, raw, services.riskpoint_create,
            kind=_convert(RISK_KIND, raw, "kind", None),
            level=_convert(RISK_LEVEL, raw, "level", None), check_in_days=self._days(raw, 7),
        )  # fmt: skip

    def _thing(self, raw: dict) -> bool:
        state = _convert(THING_STATE, raw, "state", "ok")
        thing = Thing.objects.filter(self.scope, code=raw["code"]).first()
        if thing is not None:
            services.thing_set_state(thing=thing, state=state, actor=self.actor)
            return False
        services.thing_create(
            actor=self.actor, code=raw["code"], kind=_convert(THING_KIND, raw, "kind", None),
            state=state, address=raw.get("address", ""), **self.point(raw),
        )  # fmt: skip
        return True


class _Bad(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def _convert(table: dict, raw: dict, field: str, default):
    v = raw.get(field, "")
    if not v:
        if default is None:
            raise _Bad(field, _("required"))
        return default
    try:
        return _choice(table, v, field)
    except ValueError as exc:
        raise _Bad(field, str(exc)) from None


class _Rollback(Exception):
    pass


def import_records(entity: str, upload, *, actor, commit: bool, progress=None) -> ImportReport:
    """Validate (and with ``commit`` and no bad row, write) every row of an entity's file.

    ``progress(rows)`` is called every ``PROGRESS_EVERY`` rows read (a job's progress bar).
    """
    _title, cols, _choices = SPECS[entity]
    labels = {f: h for h, f, _r, _e in cols}
    report = ImportReport()
    writer = _Writer(entity, actor)
    try:
        with transaction.atomic():
            for n, raw in _rows(upload, cols, parallel=True):
                report.rows += 1
                if progress is not None and report.rows % PROGRESS_EVERY == 0:
                    progress(report.rows)
                missing = [f for _h, f, r, _e in cols if r and not raw.get(f)]
                for f in missing:
                    report.add(n, labels[f], _("required"))
                if missing:
                    continue
                try:
                    with transaction.atomic():
                        created = writer.write(raw)
                except _Bad as exc:
                    report.add(n, labels.get(exc.field, exc.field), exc.message)
                    continue
                except DomainError as exc:
                    field = (exc.field or "").split(".")[-1]
                    column = labels.get(field) or {"location": "纬度/经度"}.get(field, field)
                    report.add(n, column, exc.message.split(": ", 1)[-1])
                    continue
                if created:
                    report.created += 1
                else:
                    report.updated += 1
                if report.error_count >= MAX_ERRORS:
                    break
            if not commit or not report.ok:
                raise _Rollback
    except _Rollback:
        pass
    except DomainError as exc:
        report.add(1, "file", exc.message)
    except DatabaseError:
        raise
    except xlsx.XlsxError:
        report.add(0, "file", _("not a readable .xlsx file"))
    if not report.ok:
        report.created = report.updated = 0
    report.committed = commit and report.ok and report.rows > 0
    return report
