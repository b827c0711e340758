"""Stored files leave only through checked views: scope, owner, signed URLs, X-Accel-Redirect."""

from __future__ import annotations

import datetime as dt
import importlib
import re

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.test import override_settings
from django.urls import Resolver404, clear_url_caches, resolve

from civicgrid.analytics.models import Export, ExportState
from civicgrid.cases.models import Attachment
from civicgrid.cases.tests.conftest import cats, jpeg_bytes, report  # noqa: F401
from civicgrid.core.files import file_url, public_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def case_with_photo(world, cats):  # noqa: F811
    case = report(world, cats, attachments=[jpeg_bytes()])
    return case, Attachment.objects.get(case=case)


def body(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


@pytest.mark.parametrize("debug", [False, True])
def test_no_media_url_pattern_even_under_debug(debug):
    import config.urls

    with override_settings(DEBUG=debug):
        importlib.reload(config.urls)
        clear_url_caches()
        try:
            with pytest.raises(Resolver404):
                resolve("/media/cases/ab/abcdef.jpg")
        finally:
            importlib.reload(config.urls)
            clear_url_caches()


def test_case_viewers_get_the_photo_others_get_404(client, world, case_with_photo):
    case, att = case_with_photo
    url = file_url(att)
    assert url == f"/files/attachments/{att.pk}"
    r = client.get(url)
    assert r.status_code == 302 and "/login/" in r["Location"]  # anonymous
    for user in (world.operator_a, world.worker_a1, world.leader_a):
        client.force_login(user)
        r = client.get(url)
        assert r.status_code == 200, user
        assert body(r) == att.file.open("rb").read()
        assert r["Content-Type"] == "image/jpeg"
        assert r["Cache-Control"].startswith("private")
        assert r["X-Content-Type-Options"] == "nosniff"
    for user in (world.outsider_b, world.citizen):
        client.force_login(user)
        assert client.get(url).status_code == 404, user
        assert client.get(url + "?thumb=1").status_code == 404, user


def test_thumbnail_is_served_as_jpeg(client, world, case_with_photo):
    _case, att = case_with_photo
    client.force_login(world.operator_a)
    r = client.get(file_url(att, thumb=True))
    assert r.status_code == 200 and body(r) == att.thumbnail.open("rb").read()


def test_an_unused_upload_is_its_uploaders_only(client, world):
    att = Attachment(kind="image", content_type="image/jpeg", size=3, sha256="a" * 64)
    att.uploaded_by = world.worker_a1
    att.file.save("upload.jpg", ContentFile(b"abc"), save=False)
    att.save()
    client.force_login(world.worker_a1)
    assert client.get(file_url(att)).status_code == 200
    client.force_login(world.operator_a)
    assert client.get(file_url(att)).status_code == 404


@override_settings(FILES_ACCEL_REDIRECT_PREFIX="/_protected/")
def test_accel_redirect_hands_the_file_to_nginx(client, world, case_with_photo):
    _case, att = case_with_photo
    client.force_login(world.operator_a)
    r = client.get(file_url(att))
    assert r.status_code == 200
    assert r["X-Accel-Redirect"] == "/_protected/" + att.file.name
    assert r.content == b"" and r["Content-Type"] == "image/jpeg"
    client.force_login(world.outsider_b)
    r = client.get(file_url(att))
    assert r.status_code == 404 and not r.has_header("X-Accel-Redirect")


def test_api_and_console_and_field_links_go_through_the_checked_view(
    client, world, case_with_photo
):
    case, att = case_with_photo
    client.force_login(world.operator_a)
    data = client.get(f"/api/cases/{case.pk}").json()
    urls = {a["url"] for a in data["attachments"]} | {
        a["thumbnail_url"] for a in data["attachments"]
    }
    assert urls == {f"/files/attachments/{att.pk}", f"/files/attachments/{att.pk}?thumb=1"}
    for url in urls:
        assert client.get(url).status_code == 200
    html = client.get(f"/console/cases/{case.pk}/").content.decode()
    assert f"/files/attachments/{att.pk}" in html and "/media/" not in html
    client.force_login(world.worker_a1)
    html = client.get(f"/field/cases/{case.pk}/").content.decode()
    assert f"/files/attachments/{att.pk}" in html and "/media/" not in html


def test_tracking_page_photos_are_signed_and_expire(client, world, cats):  # noqa: F811
    case = report(world, cats, attachments=[jpeg_bytes()], actor=world.citizen, source="citizen")
    att = Attachment.objects.get(case=case)
    start = dt.datetime(2026, 6, 15, 10, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        html = client.get(f"/track/{case.tracking_code}/").content.decode()
        assert "/media/" not in html
        srcs = re.findall(r'src="(/files/p/[^"]+)"', html)
        assert len(srcs) == 1
        r = client.get(srcs[0])  # anonymous: the signature is the permission
        assert r.status_code == 200 and body(r) == att.thumbnail.open("rb").read()
        assert "no-store" in r["Cache-Control"]
        tampered = srcs[0][:-3] + ("AAA" if not srcs[0].endswith("AAA") else "BBB")
        assert client.get(tampered).status_code == 404
        # A token for another attachment cannot be made without the key.
        assert client.get(f"/files/p/{att.pk + 1}").status_code == 404
    with time_machine.travel(start + dt.timedelta(hours=2), tick=False):
        assert client.get(srcs[0]).status_code == 404


def test_signed_url_is_for_one_file_only(client, world, cats):  # noqa: F811
    case = report(world, cats, attachments=[jpeg_bytes(), jpeg_bytes(color=(1, 2, 3))])
    a, b = Attachment.objects.filter(case=case).order_by("pk")
    r = client.get(f"/files/p/{public_token(a)}")
    assert body(r) == a.file.open("rb").read() != b.file.open("rb").read()


def _export(user, name="cases-2026-06.csv") -> Export:
    e = Export.objects.create(
        user=user, kind="cases", fmt="csv", filename=name, state=ExportState.DONE
    )
    e.file.save(name, ContentFile("编号,状态\n".encode()), save=True)
    return e


def test_export_file_name_is_unguessable(world):
    a, b = _export(world.leader_a), _export(world.leader_a)
    for e in (a, b):
        assert re.fullmatch(r"exports/[A-Za-z0-9_-]{32}\.csv", e.file.name), e.file.name
        assert str(world.leader_a.pk) not in e.file.name.split("/")[0]
    assert a.file.name != b.file.name


def test_export_download_is_the_owners_only(client, world):
    e = _export(world.leader_a)
    url = file_url(e)
    client.force_login(world.admin)
    assert client.get(url).status_code == 404
    client.force_login(world.leader_a)
    r = client.get(url)
    assert r.status_code == 200 and body(r) == "编号,状态\n".encode()
    assert (
        "attachment" in r["Content-Disposition"] and "cases-2026-06.csv" in r["Content-Disposition"]
    )
    with override_settings(FILES_ACCEL_REDIRECT_PREFIX="/_protected/"):
        r = client.get(url)
        assert r["X-Accel-Redirect"] == "/_protected/" + e.file.name and r.content == b""
    api = client.get("/api/analytics/exports").json()
    assert api[0]["download_url"] == url


def test_a_stored_file_is_never_a_document(client, world, case_with_photo):
    _case, att = case_with_photo
    client.force_login(world.operator_a)
    r = client.get(file_url(att))
    assert r["Content-Security-Policy"] == "default-src 'none'; sandbox"
