"""Readers: GeoJSON FeatureCollection and zipped Shapefile → numbered raw features.

File-level problems (not JSON, not a zip, a member missing, a foreign projection) raise a
DomainError; problems of one feature are left to the plan, which reports them by number.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import shapefile
from django.utils.translation import gettext as _

from civicgrid.core.errors import DomainError

# A zip whose members expand beyond this is refused before anything is decompressed.
MAX_UNCOMPRESSED = 512 * 1024 * 1024

# Property names as found in Chinese registers and 10-character DBF columns.
PROPERTY_ALIASES = {
    "code": "code",
    "编码": "code",
    "代码": "code",
    "网格编码": "code",
    "区划代码": "code",
    "name": "name",
    "名称": "name",
    "网格名称": "name",
    "kind": "kind",
    "类型": "kind",
    "网格类型": "kind",
    "households": "households",
    "househol": "households",
    "household": "households",
    "户数": "households",
    "population": "population",
    "populatio": "population",
    "pop": "population",
    "人口": "population",
    "人口数": "population",
}

# CRS names in GeoJSON's (obsolete but still written) "crs" member that mean lng/lat WGS-84.
GEOJSON_WGS84_NAMES = {
    "urn:ogc:def:crs:ogc:1.3:crs84",
    "urn:ogc:def:crs:ogc::crs84",
    "crs84",
    "epsg:4326",
    "urn:ogc:def:crs:epsg::4326",
    "urn:ogc:def:crs:epsg:6.6:4326",
    "epsg:4490",
    "urn:ogc:def:crs:epsg::4490",
}


@dataclass
class RawFeature:
    """One input feature: its 1-based number, properties (canonical keys), raw geometry."""

    number: int
    properties: dict[str, Any] = field(default_factory=dict)
    geometry: Any = None
    error: DomainError | None = None


def normalise_properties(props: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in props.items():
        k = str(key).strip()
        canon = PROPERTY_ALIASES.get(k.lower()) or PROPERTY_ALIASES.get(k) or k.lower()
        if isinstance(value, str):
            value = value.strip()
        # A later alias does not overwrite an explicit canonical key.
        if canon not in out or k.lower() == canon:
            out[canon] = value
    return out


def sniff_format(data: bytes, filename: str | None = None) -> str:
    """'shp' for a zip, 'geojson' otherwise; the extension wins when there is one."""
    name = (filename or "").lower()
    if name.endswith(".zip"):
        return "shp"
    if name.endswith((".geojson", ".json")):
        return "geojson"
    return "shp" if data[:4] == b"PK\x03\x04" else "geojson"


def read_features(data: bytes, *, filename: str | None = None, fmt: str | None = None):
    """Parse the file; returns the features in file order."""
    fmt = fmt or sniff_format(data, filename)
    if fmt == "geojson":
        return read_geojson(data)
    if fmt in ("shp", "shapefile", "zip"):
        return read_shapefile_zip(data)
    raise DomainError(
        "unsupported_format",
        _("Unsupported format %(fmt)s; use geojson or shp (a zipped Shapefile).") % {"fmt": fmt},
        field="format",
    )


# --- GeoJSON -------------------------------------------------------------------------------------


def read_geojson(data: bytes | str) -> list[RawFeature]:
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DomainError(
                "invalid_geojson",
                _("The file is not UTF-8 text (GeoJSON must be UTF-8)."),
                field="file",
            ) from exc
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise DomainError(
            "invalid_geojson",
            _("The file is not valid JSON: %(err)s") % {"err": exc},
            field="file",
            details={"line": getattr(exc, "lineno", None)},
        ) from exc
    if not isinstance(doc, dict):
        raise DomainError("invalid_geojson", _("The file is not a GeoJSON object."), field="file")
    _check_geojson_crs(doc)
    if doc.get("type") == "Feature":
        items = [doc]
    elif doc.get("type") == "FeatureCollection" and isinstance(doc.get("features"), list):
        items = doc["features"]
    else:
        raise DomainError(
            "invalid_geojson",
            _("The file must be a GeoJSON FeatureCollection (found type %(type)s).")
            % {"type": doc.get("type")},
            field="file",
        )
    out = []
    for n, item in enumerate(items, start=1):
        if not isinstance(item, dict) or item.get("type") != "Feature":
            out.append(
                RawFeature(
                    n,
                    error=DomainError(
                        "invalid_geojson", _("Not a GeoJSON Feature object."), field="feature"
                    ),
                )
            )
            continue
        props = item.get("properties") or {}
        if not isinstance(props, dict):
            props = {}
        out.append(RawFeature(n, normalise_properties(props), item.get("geometry")))
    return out


def _check_geojson_crs(doc: dict) -> None:
    crs = doc.get("crs")
    if not crs:
        return
    name = ""
    if isinstance(crs, dict):
        props = crs.get("properties") or {}
        name = str(props.get("name") or props.get("href") or "")
    if name.strip().lower() not in GEOJSON_WGS84_NAMES:
        raise DomainError(
            "unsupported_crs",
            _(
                "The file declares coordinate system %(crs)s; only WGS-84 longitude/latitude "
                "(EPSG:4326, or CGCS2000 EPSG:4490) is accepted. Reproject it first."
            )
            % {"crs": name or json.dumps(crs)[:80]},
            field="crs",
        )


# --- Shapefile -----------------------------------------------------------------------------------


def _members(zf: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    out = {}
    for info in zf.infolist():
        p = PurePosixPath(info.filename)
        if info.is_dir() or "__MACOSX" in p.parts or p.name.startswith("._"):
            continue
        out[info.filename] = info
    return out


def read_shapefile_zip(data: bytes) -> list[RawFeature]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise DomainError(
            "not_a_zip",
            _(
                "The file is not a zip archive; a Shapefile must be uploaded as a .zip holding "
                ".shp, .shx and .dbf (and .prj)."
            ),
            field="file",
        ) from exc
    with zf:
        members = _members(zf)
        if sum(i.file_size for i in members.values()) > MAX_UNCOMPRESSED:
            raise DomainError(
                "file_too_large",
                _("The zip expands to more than %(mb)d MB.") % {"mb": MAX_UNCOMPRESSED >> 20},
                field="file",
            )
        shps = [n for n in members if n.lower().endswith(".shp")]
        if not shps:
            raise DomainError(
                "shapefile_incomplete",
                _("The zip holds no .shp file."),
                field="file",
                details={"missing": [".shp"]},
            )
        if len(shps) > 1:
            raise DomainError(
                "shapefile_ambiguous",
                _("The zip holds several shapefiles (%(names)s); upload one at a time.")
                % {"names": ", ".join(sorted(shps))},
                field="file",
            )
        base = shps[0][:-4]
        lower = {n.lower(): n for n in members}

        def member(ext: str) -> bytes | None:
            name = lower.get((base + ext).lower())
            return zf.read(name) if name else None

        parts = {ext: member(ext) for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg")}
    missing = [ext for ext in (".shx", ".dbf") if parts[ext] is None]
    if missing:
        raise DomainError(
            "shapefile_incomplete",
            _(
                "The zip is missing %(missing)s next to %(shp)s; a Shapefile needs .shp, .shx "
                "and .dbf with the same name."
            )
            % {"missing": ", ".join(missing), "shp": PurePosixPath(shps[0]).name},
            field="file",
            details={"missing": missing},
        )
    if parts[".prj"] is not None:
        check_prj(parts[".prj"])
    encoding = _dbf_encoding(parts[".cpg"])
    if encoding is None:
        try:
            return _read_records(parts, "utf-8")
        except (UnicodeDecodeError, shapefile.ShapefileException):
            # No .cpg and not UTF-8: Chinese desktop GIS writes the system code page (GBK).
            encoding = "gb18030"
    try:
        return _read_records(parts, encoding)
    except (UnicodeDecodeError, LookupError, shapefile.ShapefileException) as exc:
        raise DomainError(
            "invalid_shapefile",
            _("The Shapefile cannot be read (attribute encoding %(enc)s): %(err)s")
            % {"enc": encoding, "err": exc},
            field="file",
        ) from exc


def _dbf_encoding(cpg: bytes | None) -> str | None:
    if not cpg:
        return None
    name = cpg.decode("ascii", "ignore").strip().lower().replace("-", "")
    if name in ("utf8", "65001"):
        return "utf-8"
    if name in ("936", "gbk", "gb2312", "cp936", "ansi 936", "gb18030"):
        return "gb18030"
    return name or None


def _read_records(parts: dict[str, bytes | None], encoding: str) -> list[RawFeature]:
    try:
        reader = shapefile.Reader(
            shp=io.BytesIO(parts[".shp"]),
            shx=io.BytesIO(parts[".shx"]),
            dbf=io.BytesIO(parts[".dbf"]),
            encoding=encoding,
        )
    except (shapefile.ShapefileException, ValueError, OSError) as exc:
        raise DomainError(
            "invalid_shapefile",
            _("The Shapefile cannot be read: %(err)s") % {"err": exc},
            field="file",
        ) from exc
    with reader:
        names = [f.name for f in reader.fields[1:]]
        out = []
        for n, sr in enumerate(reader.iterShapeRecords(), start=1):
            props = normalise_properties(dict(zip(names, list(sr.record), strict=False)))
            shape = sr.shape
            geometry = None
            error = None
            if shape.shapeType != shapefile.NULL:
                try:
                    geometry = shape.__geo_interface__
                except Exception as exc:  # noqa: BLE001 - pyshp raises plain Exceptions
                    error = DomainError(
                        "invalid_geometry",
                        _("The shape cannot be read: %(err)s") % {"err": exc},
                        field="geometry",
                    )
            out.append(RawFeature(n, props, geometry, error))
        return out


def check_prj(prj: bytes) -> None:
    """Accept WGS-84 (and CGCS2000, identical at the metre level) lng/lat; refuse the rest."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    text = prj.decode("utf-8", "ignore").strip()
    if not text:
        return
    try:
        crs = CRS.from_wkt(text)
    except CRSError as exc:
        raise DomainError(
            "unsupported_crs",
            _("The .prj file cannot be read; only WGS-84 longitude/latitude is accepted."),
            field="crs",
        ) from exc
    if crs.to_epsg(min_confidence=70) in (4326, 4490):
        return
    datum = (crs.datum.name if crs.datum else "").lower()
    if crs.is_geographic and ("wgs" in datum and "84" in datum or "china 2000" in datum):
        return
    raise DomainError(
        "unsupported_crs",
        _(
            "The Shapefile is in %(crs)s; only WGS-84 longitude/latitude (EPSG:4326, or CGCS2000 "
            "EPSG:4490) is accepted. Reproject it to EPSG:4326 in your GIS and export again."
        )
        % {"crs": crs.name},
        field="crs",
        details={"crs": crs.name},
    )
