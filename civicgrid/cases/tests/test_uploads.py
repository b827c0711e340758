"""Uploads: HEIC/AVIF decoded and re-encoded, audio stripped of tags, video and WebM refused,
pixel budget checked from the header, at most nine photos per action."""

from __future__ import annotations

import io
import struct
import zlib

import mutagen
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from PIL import Image, ImageFile

from civicgrid.cases.attachments import MAX_PHOTOS, attachment_prepare
from civicgrid.cases.models import Attachment
from civicgrid.core.errors import DomainError

from .conftest import jpeg_bytes, report

LOCATION = b"+40.1000+113.3000/"


def gps_exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (40.0, 6.0, 0.0), 3: "E", 4: (113.0, 18.0, 0.0)}
    return exif.tobytes()


# --- HEIC / AVIF -------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt,brand", [("HEIF", b"heic"), ("AVIF", b"avif")])
def test_heic_and_avif_photos_are_decoded_and_re_encoded_without_gps(db, fmt, brand):
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 200, 30)).save(buf, format=fmt, exif=gps_exif())
    raw = buf.getvalue()
    assert raw[4:12] == b"ftyp" + brand and b"PhoneMaker" in raw  # precondition
    p = attachment_prepare(SimpleUploadedFile("IMG_0001.HEIC", raw, "audio/mp4"))
    assert p.kind == "image" and p.content_type == "image/jpeg"
    assert (p.width, p.height) == (64, 48)
    img = Image.open(io.BytesIO(p.content))
    assert img.format == "JPEG" and dict(img.getexif()) == {}
    assert b"PhoneMaker" not in p.content


def test_a_damaged_heic_is_refused_not_stored_as_audio(db):
    raw = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 200
    with pytest.raises(DomainError) as exc:
        attachment_prepare(raw, field="photos")
    assert exc.value.code == "invalid_file" and exc.value.field == "photos"
    assert "HEIC" in exc.value.message


# --- ISO-BMFF audio and video -------------------------------------------------------------------


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4(handler: bytes = b"soun", *, location: bool = True) -> bytes:
    mvhd = box(b"mvhd", b"\x00" * 12 + struct.pack(">II", 1000, 1000) + b"\x00" * 80)
    mdhd = box(b"mdhd", b"\x00" * 12 + struct.pack(">II", 44100, 44100) + b"\x00" * 4)
    hdlr = box(b"hdlr", b"\x00" * 8 + handler + b"\x00" * 12 + b"Handler\x00")
    stbl = box(b"stbl", box(b"stsd", b"\x00" * 8))
    trak = box(b"trak", box(b"tkhd", b"\x00" * 84) + box(b"mdia", mdhd + hdlr + box(b"minf", stbl)))
    udta = box(b"udta", box(b"\xa9xyz", struct.pack(">HH", len(LOCATION), 0) + LOCATION))
    moov = box(b"moov", mvhd + trak + (udta if location else b""))
    return box(b"ftyp", b"M4A \x00\x00\x00\x00M4A mp42isom") + moov + box(b"mdat", b"\x11" * 300)


def with_itunes_location(data: bytes) -> bytes:
    buf = io.BytesIO(data)
    f = mutagen.File(buf)
    f.add_tags()
    f.tags["\xa9xyz"] = [LOCATION.decode()]
    f.tags["\xa9nam"] = ["Voice memo at home"]
    f.save(buf)
    return buf.getvalue()


def test_m4a_location_tags_are_removed(db):
    raw = with_itunes_location(mp4())
    assert raw.count(LOCATION) == 2 and mutagen.File(io.BytesIO(raw)).tags  # precondition
    p = attachment_prepare(SimpleUploadedFile("memo.m4a", raw, "audio/mp4"))
    assert p.kind == "audio" and p.content_type == "audio/mp4"
    assert LOCATION not in p.content and b"Voice memo" not in p.content
    assert len(p.content) == len(raw)  # boxes overwritten in place: offsets stay right
    assert p.content.endswith(b"\x11" * 300)  # the samples are untouched
    assert mutagen.File(io.BytesIO(p.content)).tags is None


def test_mp4_video_is_refused(db):
    with translation.override("en"), pytest.raises(DomainError) as exc:
        attachment_prepare(SimpleUploadedFile("clip.mp4", mp4(b"vide"), "video/mp4"))
    assert exc.value.code == "invalid_file" and "video" in exc.value.message.lower()


def test_bytes_after_ftyp_that_are_no_mp4_are_refused(db):
    with pytest.raises(DomainError) as exc:
        attachment_prepare(b"\x00\x00\x00\x20ftypM4A " + b"\x00" * 100)
    assert exc.value.code == "invalid_file"


# --- mp3, ogg, wav, webm -----------------------------------------------------------------------


def mp3() -> bytes:
    frame = b"\xff\xfb\x90\x64" + b"\x00" * 413  # MPEG-1 layer III, 128 kbit/s, 44.1 kHz
    return frame * 20


def test_mp3_id3_location_is_removed(db):
    from mutagen.id3 import ID3, TIT2, TXXX

    buf = io.BytesIO(mp3())
    tags = ID3()
    tags.add(TXXX(encoding=3, desc="location", text=[LOCATION.decode()]))
    tags.add(TIT2(encoding=3, text=["at home"]))
    tags.save(buf)
    raw = buf.getvalue()
    assert LOCATION in raw  # precondition
    p = attachment_prepare(raw)
    assert p.content_type == "audio/mpeg" and LOCATION not in p.content
    assert p.content.endswith(mp3()[-400:])
    assert mutagen.File(io.BytesIO(p.content)).tags is None


def _ogg_crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def ogg_page(packet: bytes, seq: int, granule: int, flags: int) -> bytes:
    segs = [255] * (len(packet) // 255) + [len(packet) % 255]
    head = struct.pack("<4sBBqIIIB", b"OggS", 0, flags, granule, 0x1234, seq, 0, len(segs))
    page = head + bytes(segs) + packet
    return page[:22] + struct.pack("<I", _ogg_crc(page)) + page[26:]


def opus(comment: bytes) -> bytes:
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, 312, 48000, 0, 0)
    vendor = b"phone recorder"
    tags = b"OpusTags" + struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", 1)
    tags += struct.pack("<I", len(comment)) + comment
    return (
        ogg_page(head, 0, 0, 2)
        + ogg_page(tags, 1, 0, 0)
        + ogg_page(b"\xf8\xff\xfe" * 10, 2, 48000, 4)
    )


def test_ogg_opus_comments_are_removed(db):
    raw = opus(b"LOCATION=" + LOCATION)
    assert mutagen.File(io.BytesIO(raw)).tags["location"] == [LOCATION.decode()]  # precondition
    p = attachment_prepare(SimpleUploadedFile("memo.ogg", raw, "audio/ogg"))
    assert p.content_type == "audio/ogg" and LOCATION not in p.content
    assert list(mutagen.File(io.BytesIO(p.content)).tags.keys()) == []


def test_wav_keeps_only_format_and_samples(db):
    import wave

    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x01\x02" * 800)
    plain = buf.getvalue()
    info = b"INFO" + b"ICMT" + struct.pack("<I", len(LOCATION)) + LOCATION
    raw = plain + b"LIST" + struct.pack("<I", len(info)) + info
    raw = raw[:4] + struct.pack("<I", len(raw) - 8) + raw[8:]
    p = attachment_prepare(raw)
    assert p.content_type == "audio/wav" and LOCATION not in p.content
    with wave.open(io.BytesIO(p.content)) as w:
        assert w.getframerate() == 8000 and w.readframes(800) == b"\x01\x02" * 800


def test_webm_is_refused_with_a_clear_message(db):
    with pytest.raises(DomainError) as exc:
        attachment_prepare(b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81" + b"\x00" * 100, field="audio")
    assert exc.value.code == "invalid_file" and exc.value.field == "audio"
    assert "WebM" in exc.value.message


# --- pixel budget and photo count --------------------------------------------------------------


def png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))


def test_images_over_the_pixel_budget_are_refused_before_decoding(db, monkeypatch):
    def no_decoding(self):
        raise AssertionError("pixels decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    with pytest.raises(DomainError) as exc:
        attachment_prepare(png_header(8000, 6000), field="photos")  # 48 MP
    assert exc.value.code == "image_too_large" and exc.value.field == "photos"
    assert exc.value.details["max_pixels"] == 40_000_000


def test_at_most_nine_photos_with_a_report(world, cats):
    photos = [jpeg_bytes(color=(i, 0, 0)) for i in range(MAX_PHOTOS + 1)]
    with pytest.raises(DomainError) as exc:
        report(world, cats, attachments=photos)
    assert exc.value.code == "too_many_photos"
    assert Attachment.objects.count() == 0
    case = report(world, cats, attachments=photos[:MAX_PHOTOS])
    assert Attachment.objects.filter(case=case).count() == MAX_PHOTOS
