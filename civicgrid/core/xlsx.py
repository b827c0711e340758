"""Reading the first sheet of an .xlsx file as text, row by row, in flat memory.

The importers read uploads with this instead of openpyxl's read-only mode, which builds a cell
object with styles for every cell and reads about 5,000 rows of 11 cells a second here; this
reader streams the sheet's XML through the standard library's C parser (expat) and reads the same
rows about 5 times faster (docs/benchmarks.md, "Excel import"): the sheet goes through expat's
callbacks and only the current row is ever held. openpyxl still writes every file.

What it reads: the first worksheet of the workbook (by the workbook's own order), shared strings
(rich-text runs joined, phonetic guides left out), inline strings, numbers as written in the file
(``13900000012`` stays that text; ``1.39E+10`` becomes ``13900000000``), booleans as
``TRUE``/``FALSE``, formulas by their cached value. Cells are placed by their reference (``C7``),
so an empty cell the file leaves out still leaves its column empty. Dates are serial numbers: the
importers have no date columns.

Hostile files: a file that is not a zip, lacks its parts, has a damaged member (bad CRC, a
deflate stream that does not decompress) or malformed XML raises :class:`XlsxError`; any part that declares a DOCTYPE (the carrier of entity-expansion attacks) is
refused (the small parts before they are parsed, the sheet as the parser meets it); a part that unpacks to more than ``MAX_PART_BYTES`` is refused
(a zip bomb); expat itself (2.4+) also limits entity amplification.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import posixpath
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from xml.etree import ElementTree as ET
from xml.parsers import expat

MAX_PART_BYTES = 2 * 1024**3  # an unpacked sheet larger than 2 GiB is refused
MAX_COLUMNS = 16_384  # Excel's own limit (column XFD)
NS_MAIN = (
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "http://purl.oclc.org/ooxml/spreadsheetml/main",  # "strict" Open XML
)
NS_REL = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "http://purl.oclc.org/ooxml/officeDocument/relationships",
)
PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"


class XlsxError(ValueError):
    """The upload is not a readable .xlsx file (the message says why, in English)."""


def _open(zf: zipfile.ZipFile, name: str):
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise XlsxError(f"missing part {name}") from None
    if info.file_size > MAX_PART_BYTES:
        raise XlsxError(f"part {name} is too large")
    with zf.open(info) as head:
        start = head.read(4096)
    if b"<!DOCTYPE" in start or b"<!ENTITY" in start:
        raise XlsxError(f"part {name} declares a DOCTYPE")
    return zf.open(info)


def _parse(zf: zipfile.ZipFile, name: str) -> ET.Element:
    with _open(zf, name) as fh:
        try:
            return ET.parse(fh).getroot()
        except ET.ParseError as exc:
            raise XlsxError(f"part {name}: {exc}") from None


def _ns(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def _rels(zf: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """{relationship id: (type, target path inside the zip)} of a part."""
    folder, base = posixpath.split(part)
    name = posixpath.join(folder, "_rels", base + ".rels")
    if name not in zf.NameToInfo:
        return {}
    out = {}
    for rel in _parse(zf, name).iter(PKG_REL):
        target = rel.get("Target", "")
        path = target[1:] if target.startswith("/") else posixpath.join(folder, target)
        out[rel.get("Id", "")] = (rel.get("Type", ""), posixpath.normpath(path))
    return out


def _shared_strings(zf: zipfile.ZipFile, name: str | None, ns: str) -> list[str]:
    if not name or name not in zf.NameToInfo:
        return []
    si, t, r = f"{{{ns}}}si", f"{{{ns}}}t", f"{{{ns}}}r"
    out: list[str] = []
    with _open(zf, name) as fh:
        try:
            for _ev, el in ET.iterparse(fh, events=("end",)):
                if el.tag != si:
                    continue
                parts = []
                for child in el:  # <t> or rich-text runs <r><t>; <rPh> (phonetic) left out
                    if child.tag == t:
                        parts.append(child.text or "")
                    elif child.tag == r:
                        parts.append(child.findtext(t) or "")
                out.append("".join(parts))
                el.clear()
        except ET.ParseError as exc:
            raise XlsxError(f"part {name}: {exc}") from None
    return out


_COLUMNS: dict[str, int] = {}


def _column(ref: str | None, default: int) -> int:
    """0-based column of a cell reference ("C7" → 2); ``default`` when the cell has none."""
    if not ref:
        return default
    letters = ref.rstrip("0123456789")
    i = _COLUMNS.get(letters)
    if i is None:
        n = 0
        for ch in letters:
            if not "A" <= ch <= "Z":
                return default
            n = n * 26 + ord(ch) - 64
        if not n:
            return default
        i = n - 1
        if len(_COLUMNS) < MAX_COLUMNS:
            _COLUMNS[letters] = i
    return i


def _number(text: str) -> str:
    if "E" in text or "e" in text or "." in text:
        try:
            f = float(text)
        except ValueError:
            return text
        return str(int(f)) if f.is_integer() and abs(f) < 1e21 else repr(f)
    return text


def iter_rows(upload) -> Iterator[tuple[int, list[str]]]:
    """(row number, [cell text …]) for each row of the first sheet with a value; "" for empty.

    Trailing empty cells are left off, and a row of only empty cells is skipped.

    ``upload`` is a path or a binary file object. Raises :class:`XlsxError`.
    """
    if hasattr(upload, "seek"):
        upload.seek(0)
    try:
        zf = zipfile.ZipFile(upload)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise XlsxError(f"not a zip file: {exc}") from None
    try:
        yield from _workbook_rows(zf)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        # A damaged member: a bad CRC, a deflate stream that does not decompress, a cut file.
        raise XlsxError(f"damaged file: {exc}") from None
    finally:
        zf.close()


def _workbook_rows(zf: zipfile.ZipFile) -> Iterator[tuple[int, list[str]]]:
    """The first sheet's rows: the workbook's parts found through its relationships."""
    book_part = "xl/workbook.xml"
    for _id, (typ, path) in _rels(zf, "").items():
        if typ.endswith("/officeDocument"):
            book_part = path
    book = _parse(zf, book_part)
    ns = _ns(book.tag)
    if ns not in NS_MAIN:
        raise XlsxError("not a spreadsheet workbook")
    rels = _rels(zf, book_part)
    sheet = next(book.iter(f"{{{ns}}}sheet"), None)
    if sheet is None:
        raise XlsxError("the workbook has no sheet")
    rid = next((sheet.get(f"{{{r}}}id") for r in NS_REL if sheet.get(f"{{{r}}}id")), None)
    if rid not in rels:
        raise XlsxError("the first sheet has no part")
    strings_part = next((p for t, p in rels.values() if t.endswith("/sharedStrings")), None)
    strings = _shared_strings(zf, strings_part, ns)
    yield from _sheet_rows(zf, rels[rid][1], ns, strings)


def _sheet_rows(zf, name: str, ns: str, strings: list[str]) -> Iterator[tuple[int, list[str]]]:
    """The sheet's rows through expat's callbacks: nothing but the current row is kept (no
    element tree at all), which is what makes this reader fast and its memory flat."""
    row_tag, c_tag, v_tag, t_tag = (f"{ns}}}{t}" for t in ("row", "c", "v", "t"))
    rph_tag = f"{ns}}}rPh"
    parser = expat.ParserCreate(namespace_separator="}")
    parser.buffer_text = True
    parser.buffer_size = 1 << 16
    ready: list[tuple[int, list[str]]] = []
    values: list[str] = []
    text: list[str] = []
    number = 0
    ref = typ = None
    collect = False
    phonetic = 0

    def start(tag, attrs):
        nonlocal number, ref, typ, collect, phonetic
        if tag == c_tag:
            ref, typ = attrs.get("r"), attrs.get("t")
            text.clear()
        elif tag == v_tag or tag == t_tag:
            collect = not phonetic
        elif tag == row_tag:
            r = attrs.get("r")
            number = int(r) if r and r.isdigit() else number + 1
            values.clear()
        elif tag == rph_tag:
            phonetic += 1

    def end(tag):
        nonlocal collect, phonetic
        if tag == c_tag:
            value = "".join(text)
            if typ == "s":
                if not value.isdigit() or int(value) >= len(strings):
                    raise XlsxError(f"cell {ref}: bad shared string")
                value = strings[int(value)]
            elif typ == "b":
                value = "TRUE" if value == "1" else "FALSE"
            elif (typ is None or typ == "n") and value:
                value = _number(value)
            i = _column(ref, len(values))
            if i < len(values) or i >= MAX_COLUMNS:  # backwards or past XFD: malformed
                raise XlsxError(f"row {number}: bad cell reference {ref}")
            if i > len(values):
                values.extend([""] * (i - len(values)))
            values.append(value)
        elif tag == v_tag or tag == t_tag:
            collect = False
        elif tag == row_tag:
            while values and not values[-1]:
                values.pop()  # trailing empty (often only styled) cells
            if values:
                ready.append((number, values[:]))
        elif tag == rph_tag:
            phonetic -= 1

    def chars(data):
        if collect:
            text.append(data)

    def doctype(*_args):
        raise XlsxError(f"part {name} declares a DOCTYPE")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = doctype
    with _open(zf, name) as fh:
        try:
            while True:
                block = fh.read(1 << 16)
                parser.Parse(block, not block)
                yield from ready
                ready.clear()
                if not block:
                    break
        except expat.ExpatError as exc:
            raise XlsxError(f"part {name}: {exc}") from None


# --- parsing in a process of its own -------------------------------------------------------------

PARALLEL_MIN_BYTES = 512 * 1024  # below this a file parses faster than a process starts
PARALLEL_CHUNK = 1000


def iter_rows_parallel(upload, *, min_bytes: int | None = None) -> Iterator[tuple[int, list[str]]]:
    """:func:`iter_rows`, parsed in a separate process when the file is large.

    An importer's time is parsing, then validating and encrypting, then waiting for the database
    to write and index the rows; in one process these add up. A process of its own (started with
    ``spawn``: a fresh interpreter, safe in a threaded or forked server) parses ahead on the other
    core while the importer works or waits, and hands over chunks of rows through a pipe whose
    buffer bounds what is in flight, so memory stays flat. Errors come back as :class:`XlsxError`;
    the caller stopping early stops the process. A small file is parsed in-process.
    """
    limit = PARALLEL_MIN_BYTES if min_bytes is None else min_bytes
    path, temp = _file_path(upload, limit)
    if path is None:
        yield from iter_rows(upload)
        return
    ctx = multiprocessing.get_context("spawn")
    receiver, sender = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_parse_into, args=(path, sender), daemon=True)
    try:
        child.start()
        sender.close()
        while True:
            try:
                kind, value = receiver.recv()
            except EOFError:
                raise XlsxError("the reading process stopped") from None
            if kind == "rows":
                yield from value
            elif kind == "error":
                raise XlsxError(value)
            else:
                return
    finally:
        receiver.close()
        if child.is_alive():
            child.terminate()
        child.join()
        if temp:
            os.unlink(path)


def _file_path(upload, limit: int) -> tuple[str | None, bool]:
    """(a path on disk holding the upload, whether it is a temporary copy), or (None, False) for
    a file under ``limit`` bytes or one that cannot be measured."""
    # Only a path we were given, a Django upload's own temporary file or a file we opened: an
    # upload's ``name`` is the client's file name and must never be opened as a path.
    if isinstance(upload, str | os.PathLike):
        name = upload
    elif hasattr(upload, "temporary_file_path"):
        name = upload.temporary_file_path()
    elif isinstance(upload, io.BufferedReader | io.FileIO):
        name = upload.name
    else:
        name = None
    if isinstance(name, str | os.PathLike) and os.path.isfile(name):
        return (str(name), False) if os.path.getsize(name) >= limit else (None, False)
    if not (hasattr(upload, "seek") and hasattr(upload, "read")):
        return None, False
    size = upload.seek(0, os.SEEK_END)
    upload.seek(0)
    if size < limit:
        return None, False
    fd, path = tempfile.mkstemp(suffix=".xlsx", prefix="civicgrid-read-")
    with os.fdopen(fd, "wb") as out:
        shutil.copyfileobj(upload, out)
    upload.seek(0)
    return path, True


def _parse_into(path: str, sender) -> None:
    """The child process: every row of ``path`` into ``sender``, a chunk at a time."""
    try:
        chunk = []
        for row in iter_rows(path):
            chunk.append(row)
            if len(chunk) >= PARALLEL_CHUNK:
                sender.send(("rows", chunk))
                chunk = []
        if chunk:
            sender.send(("rows", chunk))
        sender.send(("done", None))
    except XlsxError as exc:
        sender.send(("error", str(exc)))
    except Exception as exc:  # noqa: BLE001 - any failure is the file's: reported, not raised
        sender.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        sender.close()
