"""A full media disk answers 507 storage_full with a clear message, never a bare 500."""

import errno
import io
import json

import pytest
from django.test import RequestFactory
from PIL import Image

from civicgrid.ops.middleware import storage_full_response


def _full():
    return OSError(errno.ENOSPC, "No space left on device")


def test_the_api_answers_507_json():
    resp = storage_full_response(RequestFactory().post("/api/cases/attachments"), _full())
    assert resp.status_code == 507
    body = json.loads(resp.content)
    assert body["code"] == "storage_full"
    assert "存储空间已满" in body["message"]  # zh-hans by default


@pytest.mark.django_db
def test_a_page_answers_507_with_the_error_page(rf, django_user_model):
    request = rf.post("/console/intake/")
    request.user = django_user_model(username="x")
    resp = storage_full_response(request, OSError(errno.EDQUOT, "Disk quota exceeded"))
    assert resp.status_code == 507
    assert "存储空间已满" in resp.content.decode()


def test_other_os_errors_are_not_storage_errors():
    assert storage_full_response(RequestFactory().get("/api/x"), FileNotFoundError()) is None
    assert storage_full_response(RequestFactory().get("/api/x"), ValueError()) is None


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buf, "JPEG")
    return buf.getvalue()


@pytest.mark.django_db
def test_an_upload_on_a_full_disk_is_refused_with_507_and_keeps_nothing(client, world, monkeypatch):
    from django.core.files.storage import InMemoryStorage

    from civicgrid.cases.models import Attachment

    def full(self, name, content):
        raise _full()

    monkeypatch.setattr(InMemoryStorage, "_save", full)
    client.force_login(world.worker_a1)
    photo = io.BytesIO(_jpeg())
    photo.name = "p.jpg"
    resp = client.post("/api/cases/attachments", {"file": photo})
    assert resp.status_code == 507, resp.content
    assert resp.json()["code"] == "storage_full"
    assert not Attachment.objects.exists()
