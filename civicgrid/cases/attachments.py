"""Photos and audio clips: checked by content, stripped of metadata, thumbnailed, hashed.

Images are decoded with Pillow (the file name and declared type are ignored; HEIC/HEIF through
pillow-heif, AVIF natively), refused from their header when larger than ``MAX_PIXELS``, rotated
upright from the EXIF orientation and re-encoded as JPEG or PNG, which drops every metadata block
(EXIF with GPS, XMP, comments). Audio is accepted only in formats whose metadata we can remove:
m4a (every ``udta``/``meta``/``uuid`` box is overwritten as ``free``, so offsets stay valid), mp3
and ogg (tags deleted with mutagen), wav (only the ``fmt``/``fact``/``data`` chunks are kept) and
amr (a bare frame stream with no place for metadata). An ISO-BMFF file with a video track is
refused; WebM/Matroska is refused (its tags cannot be removed reliably). At most ``MAX_PHOTOS``
photos go with one action. Files go to the default storage (``var/media`` unless
``MEDIA_STORAGE`` says otherwise) and leave it only through civicgrid/core/files.py.
"""

from __future__ import annotations

import hashlib
import io
import struct
import warnings
from dataclasses import dataclass

import mutagen
import pillow_heif
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from civicgrid.core.conf import options
from civicgrid.core.errors import DomainError

from .models import Attachment, AttachmentKind

pillow_heif.register_heif_opener()

MAX_IMAGE_BYTES = 15 * 1024 * 1024
MAX_AUDIO_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_PHOTOS = 9
MAX_SIDE = 4096
THUMB_SIDE = 320
IMAGE_FORMATS = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "HEIF": "image/heic",
    "AVIF": "image/avif",
}
# ftyp major/compatible brands of still images (HEIF, HEIC, AVIF).
IMAGE_BRANDS = {
    b"heic",
    b"heix",
    b"hevc",
    b"hevx",
    b"heim",
    b"heis",
    b"mif1",
    b"msf1",
    b"avif",
    b"avis",
}
# Error codes of a refused upload (they count against the citizen rate limit).
UPLOAD_ERRORS = {"invalid_file", "file_too_large", "image_too_large", "too_many_photos"}


def _limit(name: str, default: int) -> int:
    return getattr(options(), name)


@dataclass
class Prepared:
    kind: str
    content: bytes
    content_type: str
    ext: str
    sha256: str
    width: int | None = None
    height: int | None = None
    thumbnail: bytes | None = None


def _read(upload, field: str, limit: int) -> bytes:
    if isinstance(upload, bytes | bytearray):
        data = bytes(upload)
    else:
        size = getattr(upload, "size", None)
        if size is not None and size > limit:
            raise _too_large(field, limit)
        if hasattr(upload, "seek"):
            upload.seek(0)
        data = upload.read(limit + 1)
    if len(data) > limit:
        raise _too_large(field, limit)
    if not data:
        raise DomainError(
            "invalid_file", _("%(field)s: the file is empty.") % {"field": field}, field=field
        )
    return data


def _too_large(field: str, limit: int) -> DomainError:
    return DomainError(
        "file_too_large",
        _("%(field)s: the file is larger than %(mb)s MB.")
        % {"field": field, "mb": round(limit / 1024 / 1024, 1)},
        field=field,
        details={"max_bytes": limit},
    )


def _invalid(field: str, message: str) -> DomainError:
    return DomainError("invalid_file", message % {"field": field}, field=field)


def _not_accepted(field: str) -> DomainError:
    return _invalid(
        field,
        _(
            "%(field)s: only JPEG, PNG, WebP, HEIC or AVIF photos and m4a, mp3, ogg, wav or amr "
            "audio are accepted."
        ),
    )


def _brands(head: bytes) -> set[bytes]:
    """The major and compatible brands of an ISO-BMFF ``ftyp`` box at the start of ``head``."""
    if head[4:8] != b"ftyp":
        return set()
    size = struct.unpack(">I", head[:4])[0]
    box = head[8 : max(16, min(size, len(head)))]
    out = {box[:4]}
    out.update(box[i : i + 4] for i in range(8, len(box) - 3, 4))
    return out


def audio_type(head: bytes) -> tuple[str, str] | None:
    """(content type, extension) of an accepted audio format from its first bytes, or None."""
    if head[4:8] == b"ftyp":
        return None if _brands(head) & IMAGE_BRANDS else ("audio/mp4", ".m4a")
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg", ".mp3"
    if head.startswith(b"#!AMR"):
        return "audio/amr", ".amr"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "audio/wav", ".wav"
    if head.startswith(b"OggS"):
        return "audio/ogg", ".ogg"
    return None


def attachment_prepare(upload, *, field: str = "attachments") -> Prepared:
    """Validate and clean one upload (file object or bytes). Raises DomainError naming field."""
    data = _read(
        upload,
        field,
        max(_limit("MAX_IMAGE_BYTES", MAX_IMAGE_BYTES), _limit("MAX_AUDIO_BYTES", MAX_AUDIO_BYTES)),
    )
    image = _open_image(data, field)
    if image is not None:
        if len(data) > _limit("MAX_IMAGE_BYTES", MAX_IMAGE_BYTES):
            raise _too_large(field, _limit("MAX_IMAGE_BYTES", MAX_IMAGE_BYTES))
        return _clean_image(image, field)
    if _brands(data[:64]) & IMAGE_BRANDS:
        raise _invalid(field, _("%(field)s: this HEIC/AVIF photo could not be read."))
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        raise _invalid(
            field,
            _("%(field)s: WebM/Matroska recordings are not accepted; send m4a, ogg or mp3 audio."),
        )
    kind = audio_type(data[:64])
    if kind is None:
        raise _not_accepted(field)
    if len(data) > _limit("MAX_AUDIO_BYTES", MAX_AUDIO_BYTES):
        raise _too_large(field, _limit("MAX_AUDIO_BYTES", MAX_AUDIO_BYTES))
    content_type, ext = kind
    content = _clean_audio(data, ext, field)
    return Prepared(
        kind=AttachmentKind.AUDIO,
        content=content,
        content_type=content_type,
        ext=ext,
        sha256=hashlib.sha256(content).hexdigest(),
    )


def photo_count_check(count: int, field: str) -> None:
    """Refuse more than ``MAX_PHOTOS`` photos with one action (a report, a result)."""
    limit = _limit("MAX_PHOTOS", MAX_PHOTOS)
    if count > limit:
        raise DomainError(
            "too_many_photos",
            _("%(field)s: at most %(n)s photos.") % {"field": field, "n": limit},
            field=field,
            details={"max_photos": limit},
        )


def attachments_prepare(items, *, field: str = "attachments") -> list[Prepared]:
    """Prepare a list of uploads, refusing more than ``MAX_PHOTOS`` photos among them."""
    out = []
    for item in items or []:
        out.append(attachment_prepare(item, field=field))
        photo_count_check(sum(1 for p in out if p.kind == AttachmentKind.IMAGE), field)
    return out


# --- images ----------------------------------------------------------------------------------


def _open_image(data: bytes, field: str):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            if probe.format not in IMAGE_FORMATS:
                return None
            # The header gives the size: refuse before any pixel is decoded.
            width, height = probe.size
            budget = _limit("MAX_PIXELS", MAX_PIXELS)
            if width * height > budget:
                raise DomainError(
                    "image_too_large",
                    _("%(field)s: the photo has %(mp)s megapixels; at most %(max)s are accepted.")
                    % {
                        "field": field,
                        "mp": round(width * height / 1e6, 1),
                        "max": round(budget / 1e6),
                    },
                    field=field,
                    details={"width": width, "height": height, "max_pixels": budget},
                )
            if probe.format in ("JPEG", "PNG", "WEBP"):
                probe.verify()  # structural check; the image must be reopened after verify()
                image = Image.open(io.BytesIO(data))
            else:
                image = probe
            image.load()
            return image
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        RuntimeError,  # pillow-heif on a damaged container
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ):
        return None


def _clean_image(image: Image.Image, field: str) -> Prepared:
    fmt = image.format
    # Turn the pixels upright before the orientation tag is dropped with the rest of EXIF.
    image = ImageOps.exif_transpose(image)
    if max(image.size) > MAX_SIDE:
        image.thumbnail((MAX_SIDE, MAX_SIDE))
    keep_alpha = fmt in ("PNG", "WEBP", "HEIF", "AVIF") and image.mode in ("RGBA", "LA", "P")
    out = io.BytesIO()
    if keep_alpha:
        image = image.convert("RGBA")
        image.save(out, format="PNG", optimize=True)
        content_type, ext = "image/png", ".png"
    else:
        image = image.convert("RGB")
        image.save(out, format="JPEG", quality=85, optimize=True)
        content_type, ext = "image/jpeg", ".jpg"
    content = out.getvalue()
    thumb = image.convert("RGB")
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE))
    tout = io.BytesIO()
    thumb.save(tout, format="JPEG", quality=75)
    return Prepared(
        kind=AttachmentKind.IMAGE,
        content=content,
        content_type=content_type,
        ext=ext,
        sha256=hashlib.sha256(content).hexdigest(),
        width=image.width,
        height=image.height,
        thumbnail=tout.getvalue(),
    )


# --- audio -----------------------------------------------------------------------------------

# Boxes that hold metadata (iTunes tags, ©xyz/loci locations, XMP) and the containers searched.
MP4_META = {b"udta", b"meta", b"uuid"}
MP4_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"moof", b"traf"}


def _mp4_boxes(data: bytearray, start: int, end: int):
    """(type, offset, size, header size) of the boxes between ``start`` and ``end``."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        header = 8
        if size == 1:
            if pos + 16 > end:
                raise ValueError("truncated box")
            size = struct.unpack(">Q", data[pos + 8 : pos + 16])[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise ValueError("bad box size")
        yield kind, pos, size, header
        pos += size
    if pos != end:
        raise ValueError("trailing bytes")


def _mp4_clean(data: bytes) -> tuple[bytes, set[bytes]]:
    """Overwrite every metadata box with ``free`` and zeros; return the bytes and the handlers."""
    buf = bytearray(data)
    handlers: set[bytes] = set()

    def walk(start: int, end: int) -> None:
        for kind, pos, size, header in _mp4_boxes(buf, start, end):
            if kind in MP4_META:
                # Keep the size so chunk offsets (stco/co64, moof) stay right.
                buf[pos + 4 : pos + 8] = b"free"
                buf[pos + header : pos + size] = bytes(size - header)
            elif kind == b"hdlr" and size >= header + 12:
                handlers.add(bytes(buf[pos + header + 8 : pos + header + 12]))
            elif kind in MP4_CONTAINERS:
                walk(pos + header, pos + size)

    walk(0, len(buf))
    return bytes(buf), handlers


def _riff_clean(data: bytes) -> bytes:
    """A WAV with only its ``fmt ``, ``fact`` and ``data`` chunks (no LIST/INFO, id3, bext...)."""
    if len(data) < 12:
        raise ValueError("short")
    pos, end, kept = 12, len(data), []
    while pos + 8 <= end:
        cid, size = struct.unpack("<4sI", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + size]
        if len(body) < size and cid != b"data":
            raise ValueError("truncated chunk")
        if cid in (b"fmt ", b"fact", b"data"):
            chunk = cid + struct.pack("<I", len(body)) + body
            kept.append(chunk + (b"\x00" if len(body) % 2 else b""))
        pos += 8 + size + (size % 2)
    if not any(c.startswith(b"fmt ") for c in kept) or not any(c.startswith(b"data") for c in kept):
        raise ValueError("no fmt or data chunk")
    payload = b"WAVE" + b"".join(kept)
    return b"RIFF" + struct.pack("<I", len(payload)) + payload


def _has_tags(content: bytes) -> bool:
    f = mutagen.File(io.BytesIO(content))
    if f is None:
        raise ValueError("not audio")
    tags = f.tags
    if tags is None:
        return False
    # Ogg comment headers keep a vendor string; what matters is that no field is left.
    return len(tags.keys()) > 0


def _clean_audio(data: bytes, ext: str, field: str) -> bytes:
    try:
        if ext == ".m4a":
            content, handlers = _mp4_clean(data)
            if b"vide" in handlers or b"pict" in handlers:
                raise DomainError(
                    "invalid_file",
                    _("%(field)s: video is not accepted; send a photo or an audio clip.")
                    % {"field": field},
                    field=field,
                )
            if b"soun" not in handlers:
                raise ValueError("no sound track")
        elif ext in (".mp3", ".ogg"):
            f = mutagen.File(io.BytesIO(data))
            if f is None:
                raise ValueError("not audio")
            buf = io.BytesIO(data)
            if f.tags is not None:
                f.delete(buf)
            content = buf.getvalue()
            if ext == ".mp3":
                from mutagen.apev2 import delete as ape_delete

                buf = io.BytesIO(content)
                ape_delete(buf)
                content = buf.getvalue()
        elif ext == ".wav":
            content = _riff_clean(data)
        else:  # .amr: "#!AMR" and frames, nothing else
            content = data
        if ext in (".m4a", ".mp3", ".ogg") and _has_tags(content):
            raise ValueError("tags left")
    except DomainError:
        raise
    except Exception:  # noqa: BLE001 - any parser failure means we cannot vouch for the file
        raise _invalid(field, _("%(field)s: the audio file could not be read.")) from None
    return content


def attachment_save(
    prepared: Prepared, *, case=None, action=None, task=None, order=None, uploaded_by=None
) -> Attachment:
    att = Attachment(
        case=case,
        action=action,
        task=task,
        order=order,
        kind=prepared.kind,
        content_type=prepared.content_type,
        size=len(prepared.content),
        sha256=prepared.sha256,
        width=prepared.width,
        height=prepared.height,
        uploaded_by=uploaded_by,
    )
    att.file.save(f"upload{prepared.ext}", ContentFile(prepared.content), save=False)
    if prepared.thumbnail:
        att.thumbnail.save("thumb.jpg", ContentFile(prepared.thumbnail), save=False)
    att.save()
    return att
