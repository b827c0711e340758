"""Excel import of houses, organisations, places, risk points and things: templates, dry run
with every bad row named (in Chinese), all or nothing, updates of records on file, scope."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from openpyxl import Workbook, load_workbook

from civicgrid.basedata import excel_records
from civicgrid.basedata.models import House, Organisation, Place, RiskPoint, Thing

from .conftest import A1, A2, B1

pytestmark = pytest.mark.django_db


def xlsx(entity, rows) -> io.BytesIO:
    cols = excel_records.SPECS[entity][1]
    wb = Workbook()
    ws = wb.active
    ws.append([h + ("*" if r else "") for h, _f, r, _e in cols])
    for r in rows:
        ws.append([r.get(f, "") for _h, f, _r, _e in cols])
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    return buf


def house(room, at=A1, **kw):
    return {"address": "丁街7号", "building": "2", "room": room, "use": "出租",
            "lat": at[0], "lng": at[1], **kw}  # fmt: skip


@pytest.mark.parametrize("entity", list(excel_records.SPECS))
def test_every_template_has_chinese_headers_and_an_example_that_imports(bd, entity):
    wb = load_workbook(io.BytesIO(excel_records.template(entity)), read_only=True)
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    assert rows[0][0].endswith("*") and all("\u4e00" <= h[0] <= "\u9fff" for h in rows[0])
    # The example row, placed in the importer's grid, passes the dry run.
    cols = excel_records.SPECS[entity][1]
    example = {f: e for _h, f, _r, e in cols}
    example.update(lat=str(A1[0]), lng=str(A1[1]))
    report = excel_records.import_records(
        entity, xlsx(entity, [example]), actor=bd.worker_a1, commit=False
    )
    assert report.ok, report.errors
    assert report.rows == 1 and not report.committed


def test_house_dry_run_names_every_bad_row_in_chinese_and_writes_nothing(bd):
    rows = [
        house("101"),
        house("102", use="别墅"),
        house("103", lat="北纬"),
        house("104", at=(40.5, 113.9)),  # outside every grid
        house("105", at=A2),  # grid A2: not the worker's
        house(""),
        house("101"),  # the same room twice
    ]
    with translation.override("zh-hans"):
        report = excel_records.import_records(
            "house", xlsx("house", rows), actor=bd.worker_a1, commit=True
        )
    assert not report.ok and not report.committed and report.rows == 7
    got = {(e["row"], e["column"]) for e in report.errors}
    assert got == {(3, "用途"), (4, "纬度"), (5, "纬度/经度"), (6, "纬度/经度"), (7, "户室"),
                   (8, "户室")}  # fmt: skip
    reasons = " ".join(e["reason"] for e in report.errors)
    assert "未知" in reasons or "自住" in reasons  # Chinese validator messages
    assert not House.objects.filter(address="丁街7号").exists()


def test_houses_import_all_or_nothing_and_update_on_the_second_run(bd):
    rows = [house("101"), house("102", use="自住")]
    report = excel_records.import_records(
        "house", xlsx("house", rows), actor=bd.worker_a1, commit=True
    )
    assert report.committed and (report.created, report.updated) == (2, 0)
    again = excel_records.import_records(
        "house", xlsx("house", [house("101", use="空置")]), actor=bd.worker_a1, commit=True
    )
    assert (again.created, again.updated) == (0, 1)
    assert House.objects.get(address="丁街7号", room="101").use == "vacant"
    assert House.objects.filter(address="丁街7号").count() == 2


def test_other_entities_import_and_update(bd):
    org = {"name": "丁街商贸", "uscc": "91350100M000100Y43", "kind": "个体工商户",
           "staff_count": "3", "has_party_org": "是", "lat": A1[0], "lng": A1[1]}  # fmt: skip
    r = excel_records.import_records(
        "organisation", xlsx("organisation", [org]), actor=bd.worker_a1, commit=True
    )
    assert r.committed, r.errors
    o = Organisation.objects.get(uscc="91350100M000100Y43")
    assert (o.kind, o.staff_count, o.has_party_org) == ("individual", 3, True)
    bad = {**org, "uscc": "91350100M000100Y44"}
    r = excel_records.import_records(
        "organisation", xlsx("organisation", [bad]), actor=bd.worker_a1, commit=False
    )
    assert [e["column"] for e in r.errors] == ["统一社会信用代码"]
    rp = {"name": "丁街配电房", "kind": "火灾隐患", "level": "高", "lat": A1[0], "lng": A1[1]}
    assert excel_records.import_records(
        "riskpoint", xlsx("riskpoint", [rp]), actor=bd.worker_a1, commit=True
    ).committed
    assert RiskPoint.objects.get(name="丁街配电房").level == 3
    r = excel_records.import_records(
        "riskpoint", xlsx("riskpoint", [{**rp, "level": "极高"}]), actor=bd.worker_a1, commit=True
    )
    assert [e["column"] for e in r.errors] == ["等级"]
    pl = {"name": "丁街小学", "kind": "学校", "check_in_days": "14", "lat": A1[0], "lng": A1[1]}
    assert excel_records.import_records(
        "place", xlsx("place", [pl, {**pl, "name": "丁街诊所", "kind": "医院"}]),
        actor=bd.worker_a1, commit=True,
    ).committed  # fmt: skip
    assert Place.objects.get(name="丁街小学").check_in_days == 14
    th = {"code": "JG-0009", "kind": "井盖", "state": "完好", "lat": A1[0], "lng": A1[1]}
    assert excel_records.import_records(
        "thing", xlsx("thing", [th]), actor=bd.worker_a1, commit=True
    ).committed
    r = excel_records.import_records(
        "thing", xlsx("thing", [{**th, "state": "损坏"}]), actor=bd.worker_a1, commit=True
    )
    assert (r.created, r.updated) == (0, 1) and Thing.objects.get(code="JG-0009").state == "damaged"


def test_import_pages_are_for_writers_and_refuse_a_missing_column(client, bd):
    client.force_login(bd.leader_a)
    assert client.get(reverse("basedata:records_import", args=["house"])).status_code == 404
    client.force_login(bd.outsider_b)
    f = xlsx("house", [house("201", at=B1)])
    r = client.post(
        reverse("basedata:records_import", args=["house"]),
        {"file": SimpleUploadedFile("h.xlsx", f.read()), "commit": "1"},
    )
    assert r.status_code == 200 and "import-report" in r.content.decode()
    assert House.objects.filter(address="丁街7号", room="201").exists()
    wb = Workbook()
    wb.active.append(["地址", "楼栋"])
    buf = io.BytesIO()
    wb.save(buf)
    r = client.post(
        reverse("basedata:records_import", args=["house"]),
        {"file": SimpleUploadedFile("h.xlsx", buf.getvalue()), "commit": "0"},
    )
    assert "户室" in r.content.decode()
    t = client.get(reverse("basedata:records_template", args=["thing"]))
    assert t.status_code == 200 and t["Content-Type"].startswith("application/vnd.openxml")
