"""The streaming .xlsx reader against openpyxl (the oracle) and against hostile files."""

import io
import tracemalloc
import zipfile

import pytest
from openpyxl import Workbook, load_workbook

from civicgrid.core import xlsx

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def openpyxl_file(rows, write_only=False) -> bytes:
    wb = Workbook(write_only=write_only)
    ws = wb.create_sheet() if write_only else wb.active
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def oracle(data: bytes):
    """What openpyxl reads, as text the way the importers used to turn it into text."""
    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    out = []
    for n, row in enumerate(wb.worksheets[0].iter_rows(values_only=True), start=1):
        cells = ["" if v is None else str(int(v) if isinstance(v, float) and v.is_integer() else v)
                 for v in row]  # fmt: skip
        cells = [{"True": "TRUE", "False": "FALSE"}.get(c, c) for c in cells]
        while cells and cells[-1] == "":
            cells.pop()
        if cells:
            out.append((n, cells))
    return out


def ours(data: bytes):
    return [(n, vals) for n, vals in xlsx.iter_rows(io.BytesIO(data))]


ROWS = [
    ["姓名", "证件号码", "电话", "楼栋", "备注"],
    ["张三", "11010519491231002X", 13900000012, 3, "=not a formula"],
    ["李四", None, 13900000013, 2.5, None],
    [None, None, None, None, None],
    ["王五", "110105194912310037", None, None, "  带空格  "],
    ["真假", True, False, -4, 1e-3],
]


@pytest.mark.parametrize("write_only", [False, True])
def test_reads_what_openpyxl_reads_from_openpyxl_files(write_only):
    data = openpyxl_file(ROWS, write_only=write_only)
    got = ours(data)
    assert got == oracle(data)
    assert got[0] == (1, ROWS[0]) and got[1][1][2] == "13900000012"
    assert [n for n, _v in got] == [1, 2, 3, 5, 6]  # the empty row 4 is left out, numbers kept


def _part(body: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n{body}'


def excel_like(sheet_xml: str, strings: list[str] | None = None, first="sheet2.xml") -> bytes:
    """A workbook shaped like Excel's own: shared strings, its first sheet stored second."""
    sst = "".join(strings or [])
    files = {
        "[Content_Types].xml": _part(
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{CT}.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{CT}.worksheet+xml"/>'
            f'<Override PartName="/xl/worksheets/{first}" ContentType="{CT}.worksheet+xml"/>'
            f'<Override PartName="/xl/sharedStrings.xml" ContentType="{CT}.sharedStrings+xml"/>'
            "</Types>"),
        "_rels/.rels": _part(
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"),
        "xl/workbook.xml": _part(
            f'<workbook xmlns="{NS}" xmlns:r="{REL}"><sheets>'
            '<sheet name="人口" sheetId="1" r:id="rId7"/><sheet name="说明" sheetId="2" r:id="rId8"/>'
            "</sheets></workbook>"),
        "xl/_rels/workbook.xml.rels": _part(
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId8" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId7" Type="{REL}/worksheet" Target="/xl/worksheets/{first}"/>'
            f'<Relationship Id="rId9" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
            "</Relationships>"),
        "xl/sharedStrings.xml": _part(f'<sst xmlns="{NS}">{sst}</sst>'),
        "xl/worksheets/sheet1.xml": _part(
            f'<worksheet xmlns="{NS}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>说明页</t>'
            "</is></c></row></sheetData></worksheet>"),
        f"xl/worksheets/{first}": _part(f'<worksheet xmlns="{NS}"><sheetData>{sheet_xml}</sheetData></worksheet>'),
    }  # fmt: skip
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in files.items():
            zf.writestr(name, body)
    return buf.getvalue()


STRINGS = ["<si><t>姓名</t></si>", "<si><t>电话</t></si>",
           '<si><r><t>张</t></r><r><rPr><b/></rPr><t xml:space="preserve">三 </t></r>'
           "<rPh sb=\"0\" eb=\"1\"><t>ZHANG</t></rPh></si>"]  # fmt: skip
SHEET = (
    '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="C1" t="s"><v>1</v></c></row>'
    '<row r="3" spans="1:4"><c r="A3" t="s"><v>2</v></c><c r="C3"><v>1.3900000012E+10</v></c>'
    '<c r="D3" t="b"><v>1</v></c><c r="E3" t="str"><f>A3&amp;"x"</f><v>张三x</v></c>'
    '<c r="F3" t="e"><v>#N/A</v></c><c r="G3" s="2"/><c r="H3"><v>0.25</v></c></row>'
)


def test_reads_excel_files_shared_strings_rich_text_gaps_and_the_first_sheet_by_order():
    data = excel_like(SHEET, STRINGS)
    assert ours(data) == [
        (1, ["姓名", "", "电话"]),
        (3, ["张三 ", "", "13900000012", "TRUE", "张三x", "#N/A", "", "0.25"]),
    ]
    assert ours(data) == oracle(data)


# Built inside the test, with fixed ids: a zip carries the time it was written, so bytes built at
# collection made test ids that differ between pytest-xdist workers a second apart.
BROKEN = {
    "truncated zip": (lambda: b"PK\x03\x04 truncated", "not a zip"),
    "not a zip": (lambda: b"not a workbook at all", "not a zip"),
    "shared string past the table": (
        lambda: excel_like('<row r="1"><c r="A1" t="s"><v>9</v></c></row>', STRINGS),
        "shared string",
    ),
    "negative shared string": (
        lambda: excel_like('<row r="1"><c r="A1" t="s"><v>-1</v></c></row>', STRINGS),
        "shared string",
    ),
    "column past XFD": (
        lambda: excel_like('<row r="1"><c r="ZZZZZZ1"><v>1</v></c></row>'),
        "cell reference",
    ),
    "cells out of order": (
        lambda: excel_like('<row r="1"><c r="B1"><v>1</v></c><c r="A1"><v>2</v></c></row>'),
        "cell reference",
    ),
    "malformed xml": (lambda: excel_like('<row r="1"><c r="A1"><v>1</v></row>'), "mismatched tag"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_file_raises_xlsx_error(case):
    build, why = BROKEN[case]
    with pytest.raises(xlsx.XlsxError, match=why):
        ours(build())


def test_a_damaged_member_raises_xlsx_error():
    """A deflate stream that no longer decompresses (a file cut or altered in transit)."""
    data = bytearray(openpyxl_file([[f"人{i}", "x" * 30, i] for i in range(3_000)]))
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 2_000
    for k in range(50):
        data[start + k] ^= 0x5A
    with pytest.raises(xlsx.XlsxError, match="damaged file"):
        ours(bytes(data))


def test_a_doctype_is_refused_before_parsing():
    """The billion-laughs carrier: an entity declared in a DOCTYPE."""
    bomb = excel_like("")
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(bomb)) as src, zipfile.ZipFile(buf, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "xl/worksheets/sheet2.xml":
                body = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>' + body.split(b"?>", 1)[1])  # fmt: skip
            dst.writestr(info.filename, body)
    with pytest.raises(xlsx.XlsxError, match="DOCTYPE"):
        ours(buf.getvalue())


def test_missing_parts_raise_xlsx_error():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("hello.txt", "not a workbook")
    with pytest.raises(xlsx.XlsxError, match="missing part"):
        ours(buf.getvalue())


def _peak(n_rows: int) -> int:
    data = openpyxl_file([["姓名", "证件号码", "地址"]] + [[f"人{i}", f"ID{i:016d}", "和平路1号"]
                                                      for i in range(n_rows)], write_only=True)  # fmt: skip
    tracemalloc.start()
    try:
        count = sum(1 for _row in xlsx.iter_rows(io.BytesIO(data)))
        return tracemalloc.get_traced_memory()[1], count
    finally:
        tracemalloc.stop()


def test_memory_stays_flat_however_long_the_sheet():
    small, n_small = _peak(2_000)
    big, n_big = _peak(20_000)
    assert (n_small, n_big) == (2_001, 20_001)
    assert big < small * 1.5 + 256 * 1024, (small, big)


def test_the_parallel_reader_reads_the_same_rows_in_a_process_of_its_own(tmp_path):
    rows = [["姓名", "证件号码"]] + [[f"人{i}", f"ID{i:08d}"] for i in range(2_500)]
    data = openpyxl_file(rows, write_only=True)
    want = ours(data)
    # In memory (copied to a temporary file for the child), from a path, from an open file.
    assert list(xlsx.iter_rows_parallel(io.BytesIO(data), min_bytes=0)) == want
    path = tmp_path / "f.xlsx"
    path.write_bytes(data)
    assert list(xlsx.iter_rows_parallel(str(path), min_bytes=0)) == want
    with open(path, "rb") as fh:
        assert list(xlsx.iter_rows_parallel(fh, min_bytes=0)) == want
    assert not list(tmp_path.glob("civicgrid-read-*"))


def test_the_parallel_reader_reports_a_broken_file_and_stops_early():
    with pytest.raises(xlsx.XlsxError, match="not a zip"):
        list(xlsx.iter_rows_parallel(io.BytesIO(b"x" * 2048), min_bytes=0))
    data = openpyxl_file([["a"]] + [[str(i)] for i in range(5_000)], write_only=True)
    it = xlsx.iter_rows_parallel(io.BytesIO(data), min_bytes=0)
    assert next(it) == (1, ["a"])
    it.close()  # the child is stopped, not left running


def test_an_uploads_client_file_name_is_never_opened_as_a_path(tmp_path, monkeypatch):
    """A client naming its upload after a file on the server must get its own bytes read."""
    secret = tmp_path / "server.xlsx"
    secret.write_bytes(openpyxl_file([["server secret"]]))
    monkeypatch.chdir(tmp_path)
    upload = io.BytesIO(openpyxl_file([["the upload"]]))
    upload.name = "server.xlsx"
    assert list(xlsx.iter_rows_parallel(upload, min_bytes=0)) == [(1, ["the upload"])]
