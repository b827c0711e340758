"""Stored files (attachments, exports) are never public: every byte goes through a view.

Nothing is served from ``/media/``. A view checks who asks (attachments: whoever may view the
case, through ``cases.engine.can_view``; exports: their owner), then hands the file over with
``serve_file``: with ``FILES_ACCEL_REDIRECT_PREFIX`` set (e.g. ``/_protected/``) it answers with
an empty body and ``X-Accel-Redirect: <prefix><name relative to MEDIA_ROOT>`` for nginx to send
from an ``internal`` location; otherwise it streams the file itself (``FileResponse``).

Citizens have no account: the tracking page shows their report's photos through signed,
expiring URLs (``django.core.signing``) that it mints each time it is rendered.

``file_url`` is the one place that builds a file's URL (API schemas, field app, tracking page,
console).
"""

from __future__ import annotations

import os
from urllib.parse import quote

from django.core import signing
from django.http import FileResponse, Http404, HttpResponse
from django.urls import reverse
from django.utils.http import content_disposition_header

from civicgrid.core.conf import options

PUBLIC_SALT = "civicgrid.files.public"


def accel_prefix() -> str:
    """The nginx internal location of MEDIA_ROOT, or "" to stream from Django."""
    return options().FILES_ACCEL_REDIRECT_PREFIX


def public_max_age() -> int:
    return options().PUBLIC_FILE_URL_MAX_AGE


def serve_file(
    request,
    field_file,
    *,
    content_type: str,
    filename: str | None = None,
    as_attachment: bool = False,
    cache_seconds: int = 3600,
) -> HttpResponse:
    """Answer with the stored file: X-Accel-Redirect for nginx, else a streamed body.

    The caller has already decided that ``request`` may have this file. Raises Http404 when the
    file is missing from storage.
    """
    if not field_file or not field_file.name:
        raise Http404("file")
    prefix = accel_prefix()
    if prefix:
        response = HttpResponse(content_type=content_type)
        # The storage name is relative to MEDIA_ROOT and ASCII (hashes and random tokens).
        response["X-Accel-Redirect"] = prefix + quote(field_file.name.lstrip("/"))
    else:
        try:
            handle = field_file.open("rb")
        except (FileNotFoundError, OSError):
            raise Http404("file") from None
        response = FileResponse(handle, content_type=content_type)
    if filename or as_attachment:
        response["Content-Disposition"] = content_disposition_header(
            as_attachment, filename or os.path.basename(field_file.name)
        )
    # Private: a shared cache (or the field app's service worker) must not keep it for others.
    response["Cache-Control"] = f"private, max-age={cache_seconds}"
    response["X-Content-Type-Options"] = "nosniff"
    # A stored file is data, never a document that may run script on this origin.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- URLs ------------------------------------------------------------------------------------


def public_token(att, *, thumb: bool = False) -> str:
    return signing.dumps({"a": att.pk, "t": int(bool(thumb))}, salt=PUBLIC_SALT, compress=False)


def public_token_read(token: str) -> tuple[int, bool]:
    """(attachment id, thumbnail?) from a signed token, or Http404 when forged or expired."""
    try:
        data = signing.loads(token, salt=PUBLIC_SALT, max_age=public_max_age())
        return int(data["a"]), bool(data.get("t"))
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise Http404("file") from None


def file_url(obj, *, thumb: bool = False, public: bool = False) -> str:
    """The URL of an attachment (``public``: a signed, expiring one) or of an export."""
    from civicgrid.analytics.models import Export

    if isinstance(obj, Export):
        return reverse("analytics:export_download", args=[obj.pk])
    use_thumb = bool(thumb and obj.thumbnail)
    if public:
        return reverse("files:public", args=[public_token(obj, thumb=use_thumb)])
    url = reverse("files:attachment", args=[obj.pk])
    return url + "?thumb=1" if use_thumb else url
