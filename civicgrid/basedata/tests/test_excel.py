import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from civicgrid.basedata import excel
from civicgrid.basedata.models import ChangeLog, Person

from .conftest import pid


def xlsx(rows, header=None) -> io.BytesIO:
    wb = Workbook()
    ws = wb.active
    ws.append(header or [h for h, *_ in excel.COLUMNS])
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    return buf


def row(serial, name="赵六", phone="13600000001", region="140213", room="301", **kw):
    base = {"姓名": name, "证件类型": "居民身份证", "证件号码": pid(serial), "联系电话": phone,
            "户籍地区划代码": region, "人员类别": "户籍人口", "政治面貌": "群众",
            "地址": "甲街1号", "楼栋": "1", "单元": "2", "户室": room}  # fmt: skip
    base.update(kw)
    return [base[h] for h, *_ in excel.COLUMNS]


def test_template_has_chinese_headers_and_a_valid_example():
    wb = load_workbook(io.BytesIO(excel.person_template()), read_only=True)
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    assert rows[0][0] == "姓名*" and rows[0][2] == "证件号码*"
    from civicgrid.basedata.validators import parse_resident_id

    parse_resident_id(rows[1][2])


def test_dry_run_lists_every_bad_row_and_writes_nothing(bd):
    bad_id = pid(3)[:-1] + ("0" if pid(3)[-1] != "0" else "1")
    f = xlsx([
        row(1),
        row(2, phone="123"),
        row(3, **{"证件号码": bad_id}),
        row(4, region="990000"),
        row(5, room="999"),
        row(6, name=""),
        row(1, name="重复"),
    ])  # fmt: skip
    report = excel.import_persons(f, actor=bd.worker_a1, commit=True)
    assert not report.ok and not report.committed and report.rows == 7
    got = {(e["row"], e["column"]) for e in report.errors}
    assert got == {(3, "联系电话"), (4, "证件号码"), (5, "户籍地区划代码"), (6, "户室"), (7, "姓名"),
                   (8, "证件号码")}  # fmt: skip
    assert Person.objects.count() == 2


def test_import_all_or_nothing_then_update_by_id_number(bd):
    f = xlsx([row(1), row(2, name="钱七", **{"人员类别": "流动人口"}), row(11, name="张三改")])
    report = excel.import_persons(f, actor=bd.worker_a1, commit=True)
    assert report.ok and report.committed and (report.created, report.updated) == (2, 1)
    p = Person.objects.get(
        id_number_bidx=__import__("civicgrid.basedata.services", fromlist=["x"]).id_index(pid(2))
    )
    assert (
        p.category == "floating"
        and p.house_id == bd.house_a1.pk
        and p.scope_code == bd.grid_a1.code
    )
    assert p.reveal_id_number() == pid(2) and p.phone_mask == "136****0001"
    bd.person_a1.refresh_from_db()
    assert bd.person_a1.name == "张三改"
    assert ChangeLog.objects.filter(action="import").count() == 2
    again = excel.import_persons(
        xlsx([row(1), row(2, name="钱七")]), actor=bd.worker_a1, commit=True
    )
    assert (again.created, again.updated) == (0, 2) and Person.objects.count() == 4


def test_house_outside_the_importers_scope_is_a_row_error(bd):
    f = xlsx([row(1, **{"地址": "乙街9号", "楼栋": "3", "单元": "", "户室": "101"})])
    report = excel.import_persons(f, actor=bd.worker_a1, commit=False)
    assert [(e["row"], e["column"]) for e in report.errors] == [(2, "户室")]


def test_missing_column_and_not_a_workbook(bd):
    r = excel.import_persons(xlsx([["x"]], header=["姓名"]), actor=bd.worker_a1, commit=False)
    assert r.errors[0]["column"] == "file" and "证件号码" in r.errors[0]["reason"]
    r = excel.import_persons(io.BytesIO(b"not a workbook"), actor=bd.worker_a1, commit=False)
    assert r.errors[0]["column"] == "file"


def test_import_page_and_masked_export(client, bd):
    client.force_login(bd.worker_a1)
    up = SimpleUploadedFile("p.xlsx", xlsx([row(1)]).getvalue())
    html = client.post(
        reverse("basedata:person_import"), {"file": up, "commit": "0"}
    ).content.decode()
    assert Person.objects.count() == 2 and (
        "全部行校验通过" in html or "All rows are valid" in html
    )
    up = SimpleUploadedFile("p.xlsx", xlsx([row(1)]).getvalue())
    client.post(reverse("basedata:person_import"), {"file": up, "commit": "1"})
    assert Person.objects.count() == 3
    resp = client.get(reverse("basedata:person_export"))
    wb = load_workbook(io.BytesIO(resp.content), read_only=True)
    cells = [c for r in wb.worksheets[0].iter_rows(values_only=True) for c in r if c]
    assert bd.person_a1.id_number_mask in cells and "139****0012" in cells
    assert pid(11) not in cells and pid(1) not in cells and "13900000012" not in cells
    assert "李四" not in cells  # out of scope
    client.force_login(bd.leader_a)
    assert client.get(reverse("basedata:person_import")).status_code == 404


def test_a_large_file_parsed_in_a_process_of_its_own_gives_the_same_report(bd, monkeypatch):
    from civicgrid.core import xlsx as reader

    rows = [row(1), row(2, phone="123"), row(4, region="990000"), row(5, room="999")]
    inline = excel.import_persons(xlsx(rows), actor=bd.worker_a1, commit=False)
    started = []
    real_process = reader.multiprocessing.get_context

    def spy(method):
        ctx = real_process(method)
        started.append(method)
        return ctx

    monkeypatch.setattr(reader, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(reader.multiprocessing, "get_context", spy)
    parallel = excel.import_persons(xlsx(rows), actor=bd.worker_a1, commit=False)
    assert started == ["spawn"]
    assert parallel.errors == inline.errors and parallel.rows == inline.rows == 4
    ok = excel.import_persons(xlsx([row(1), row(2, name="钱七")]), actor=bd.worker_a1, commit=True)
    assert ok.committed and (ok.created, ok.updated) == (2, 0) and Person.objects.count() == 4


def test_a_damaged_file_is_reported_not_raised(bd):
    import zipfile

    data = bytearray(xlsx([row(i) for i in range(1, 400)]).getvalue())
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 500
    for k in range(40):
        data[start + k] ^= 0x5A
    r = excel.import_persons(io.BytesIO(bytes(data)), actor=bd.worker_a1, commit=True)
    assert not r.committed and [e["column"] for e in r.errors] == ["file"]
    assert Person.objects.count() == 2
