"""Photos and audio clips: checked by content, stripped of metadata, thumbnailed, hashed.

Images are decoded with Pillow (the file name and declared type are ignored), rotated upright
from the EXIF orientation and re-encoded, which drops every metadata block (EXIF with GPS, XMP,
comments). Audio is accepted by magic bytes (m4a/mp3/amr/wav/webm/ogg) and stored as sent.
Files go to the default storage (``var/media`` unless ``MEDIA_STORAGE`` says otherwise).
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from civicgrid.core.conf import options
from civicgrid.core.errors import DomainError

from .models import Attachment, AttachmentKind

MAX_IMAGE_BYTES = 15 * 1024 * 1024
MAX_AUDIO_BYTES = 10 * 1024 * 1024
MAX_SIDE = 4096
THUMB_SIDE = 320
IMAGE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


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


def audio_type(head: bytes) -> tuple[str, str] | None:
    """(content type, extension) from an audio file's first bytes, or None."""
    if head[4:8] == b"ftyp":
        return "audio/mp4", ".m4a"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg", ".mp3"
    if head.startswith(b"#!AMR"):
        return "audio/amr", ".amr"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "audio/wav", ".wav"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "audio/webm", ".webm"
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
    image = _open_image(data)
    if image is not None:
        if len(data) > _limit("MAX_IMAGE_BYTES", MAX_IMAGE_BYTES):
            raise _too_large(field, _limit("MAX_IMAGE_BYTES", MAX_IMAGE_BYTES))
        return _clean_image(image, field)
    kind = audio_type(data[:16])
    if kind is None:
        raise DomainError(
            "invalid_file",
            _(
                "%(field)s: only JPEG, PNG or WebP photos and m4a, mp3, amr, wav, webm or ogg "
                "audio are accepted."
            )
            % {"field": field},
            field=field,
        )
    if len(data) > _limit("MAX_AUDIO_BYTES", MAX_AUDIO_BYTES):
        raise _too_large(field, _limit("MAX_AUDIO_BYTES", MAX_AUDIO_BYTES))
    content_type, ext = kind
    return Prepared(
        kind=AttachmentKind.AUDIO,
        content=data,
        content_type=content_type,
        ext=ext,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _open_image(data: bytes):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            if probe.format not in IMAGE_FORMATS:
                return None
            probe.verify()  # structural check; the image must be reopened after verify()
            image = Image.open(io.BytesIO(data))
            image.load()
            return image
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
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
    keep_alpha = fmt in ("PNG", "WEBP") and image.mode in ("RGBA", "LA", "P")
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


def attachment_save(
    prepared: Prepared, *, case=None, action=None, task=None, uploaded_by=None
) -> Attachment:
    att = Attachment(
        case=case,
        action=action,
        task=task,
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
