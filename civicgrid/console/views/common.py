"""Helpers shared by the console views: 404 for out-of-scope, conditional GET for polled
fragments."""

from __future__ import annotations

import functools
import time

from django.http import Http404, HttpResponseNotModified
from django.utils.cache import patch_vary_headers
from django.utils.http import parse_etags
from django.utils.translation import get_language

from civicgrid.core.errors import NotFound

from ..queries import data_stamp


def not_found_as_404(view):
    """Out of scope and missing both answer 404 (existence is not disclosed)."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from None

    return wrapper


def fragment_etag(request, *parts) -> str:
    """An ETag that changes when any case changes, every minute (deadlines move with time),
    and per user and language (one browser may serve two users one after the other)."""
    minute = int(time.time() // 60)
    body = "-".join(str(p) for p in parts)
    return f'"c{data_stamp()}-m{minute}-u{request.user.pk}-{get_language()}-{body}"'


def conditional(request, etag: str, render):
    """304 when the client already holds ``etag``; else ``render()`` with the ETag set."""
    if etag in parse_etags(request.headers.get("If-None-Match", "")):
        response = HttpResponseNotModified()
    else:
        response = render()
    response["ETag"] = etag
    # Revalidate on every poll; the browser turns a 304 into its cached copy for htmx.
    response["Cache-Control"] = "private, no-cache"
    patch_vary_headers(response, ["Cookie", "Accept-Language"])
    return response


def clean_choice(value: str | None, allowed) -> str:
    value = (value or "").strip()
    return value if value in allowed else ""
