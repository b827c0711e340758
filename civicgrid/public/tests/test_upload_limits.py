"""A refused upload counts against the citizen rate limit; other refused forms do not."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from civicgrid.cases.models import Case
from civicgrid.public.services import IP_LIMITS

from .test_public import FROZEN, form

pytestmark = pytest.mark.django_db


def bad_photo():
    return [SimpleUploadedFile("IMG_1.HEIC", b"\x00\x00\x00\x18ftypheic" + b"\x00" * 64)]


@FROZEN
def test_failed_uploads_count_against_the_ip_limit(client, world, cats):
    _window, allowed = IP_LIMITS[0]
    for i in range(allowed):
        r = client.post("/report/", form(cats, phone=f"1380000{i:04d}", photos=bad_photo()))
        assert r.status_code == 400
    r = client.post("/report/", form(cats, phone="13900009999"))
    assert r.status_code == 429
    assert Case.objects.count() == 0


@FROZEN
def test_failed_uploads_count_in_the_api_too(client, world, cats):
    _window, allowed = IP_LIMITS[0]
    for i in range(allowed):
        r = client.post(
            "/api/public/reports", form(cats, phone=f"1380000{i:04d}", photos=bad_photo())
        )
        assert r.status_code == 400 and r.json()["code"] == "invalid_file"
    r = client.post("/api/public/reports", form(cats, phone="13900009999"))
    assert r.status_code == 429
