"""Uploads are judged by content: EXIF/GPS stripped, bad files refused, audio by magic bytes."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from PIL import Image

from civicgrid.cases import services
from civicgrid.cases.attachments import attachment_prepare, audio_type
from civicgrid.cases.models import Attachment
from civicgrid.core.errors import DomainError

from .conftest import jpeg_bytes, report


def exif_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0112] = 6  # orientation: rotate 90° CW to display
    gps = {1: "N", 2: (40.0, 6.0, 0.0), 3: "E", 4: (113.0, 18.0, 0.0)}
    exif[0x8825] = gps
    return exif.tobytes()


def test_exif_and_gps_are_stripped_and_orientation_applied(db):
    raw = jpeg_bytes(size=(80, 40), exif=exif_with_gps())
    assert Image.open(io.BytesIO(raw)).getexif().get(0x8825) is not None  # precondition
    p = attachment_prepare(SimpleUploadedFile("IMG_1.jpg", raw, "image/jpeg"))
    img = Image.open(io.BytesIO(p.content))
    assert dict(img.getexif()) == {}
    assert b"Exif" not in p.content and b"PhoneMaker" not in p.content
    assert (p.width, p.height) == (40, 80)  # turned upright before EXIF was dropped
    assert p.kind == "image" and p.content_type == "image/jpeg" and len(p.sha256) == 64
    assert Image.open(io.BytesIO(p.thumbnail)).size[0] <= 320


def test_image_is_judged_by_content_not_extension(db):
    buf = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buf, format="PNG")
    p = attachment_prepare(SimpleUploadedFile("photo.mp3", buf.getvalue(), "audio/mpeg"))
    assert p.kind == "image"


@pytest.mark.parametrize(
    "payload",
    [
        b"GIF89a not really",
        b"<?php system($_GET['c']); ?>",
        b"\xff\xd8\xff\xe0" + b"\x00" * 50,  # a JPEG header with garbage after it
        b"%PDF-1.4\n",
    ],
)
def test_bad_files_are_refused_naming_the_field(db, payload):
    with pytest.raises(DomainError) as exc:
        attachment_prepare(SimpleUploadedFile("x.jpg", payload, "image/jpeg"), field="photo")
    assert exc.value.code == "invalid_file" and exc.value.field == "photo"


def test_empty_file_refused(db):
    with pytest.raises(DomainError) as exc:
        attachment_prepare(b"")
    assert exc.value.code == "invalid_file"


@override_settings(CIVICGRID={"MAX_IMAGE_BYTES": 1000, "MAX_AUDIO_BYTES": 1000})
def test_size_limit(db):
    noisy = Image.effect_noise((400, 400), 80).convert("RGB")
    buf = io.BytesIO()
    noisy.save(buf, format="JPEG", quality=95)
    with pytest.raises(DomainError) as exc:
        attachment_prepare(buf.getvalue())
    assert exc.value.code == "file_too_large"
    # a tiny image still passes under the limit
    assert attachment_prepare(jpeg_bytes(size=(8, 8))).kind == "image"


@pytest.mark.parametrize(
    "head,ctype",
    [
        (b"\x00\x00\x00\x20ftypM4A \x00\x00", "audio/mp4"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00", "audio/mpeg"),
        (b"\xff\xfb\x90\x64\x00\x00\x00\x00", "audio/mpeg"),
        (b"#!AMR\n\x00\x00", "audio/amr"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "audio/wav"),
        (b"OggS\x00\x02\x00\x00\x00\x00", "audio/ogg"),
    ],
)
def test_audio_formats_by_magic_bytes(head, ctype):
    assert audio_type(head)[0] == ctype


@pytest.mark.parametrize(
    "head",
    [
        b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic",  # a photo, never "audio"
        b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf",
        b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81",  # WebM: tags cannot be removed
    ],
)
def test_not_audio_by_magic_bytes(head):
    assert audio_type(head) is None


def test_amr_is_stored_as_sent(db):
    p = attachment_prepare(SimpleUploadedFile("clip.amr", b"#!AMR\n" + b"\x3c" * 100))
    assert p.kind == "audio" and p.content_type == "audio/amr"
    assert p.content == b"#!AMR\n" + b"\x3c" * 100


def test_garbage_behind_an_audio_magic_is_refused(db):
    for head in (b"\x00\x00\x00\x20ftypM4A \x00\x00", b"OggS\x00\x02", b"RIFF\x24\x00\x00\x00WAVE"):
        with pytest.raises(DomainError) as exc:
            attachment_prepare(SimpleUploadedFile("clip.bin", head + b"\x00" * 100))
        assert exc.value.code == "invalid_file"


def test_attachment_stored_with_thumbnail_and_linked_to_action(world, cats):
    case = report(world, cats)
    from civicgrid.cases.services import case_self_close

    case_self_close(
        case=case,
        actor=world.worker_a1,
        result="已处理",
        attachments=[jpeg_bytes(exif=exif_with_gps())],
    )
    att = Attachment.objects.get(case=case)
    assert att.action.action == "self_close"
    assert att.thumbnail.name and att.file.name.startswith("cases/")
    stored = att.file.read()
    assert b"PhoneMaker" not in stored
    assert att.size == len(stored)


def test_pre_uploaded_attachment_can_be_used_by_a_later_action(world, cats):
    case = report(world, cats)
    att = services.attachment_upload(case=case, actor=world.worker_a1, file=jpeg_bytes())
    services.case_self_close(case=case, actor=world.worker_a1, result="ok", attachments=[att])
    att.refresh_from_db()
    assert att.action.action == "self_close"
    other = report(world, cats)
    with pytest.raises(DomainError) as exc:  # already used
        services.case_self_close(
            case=other, actor=world.worker_a1, result="ok", attachments=[att.pk]
        )
    assert exc.value.code == "invalid_attachment"
