"""Helpers shared by the console views: conditional GET for polled fragments.

Out-of-scope and missing objects raise NotFound; ``civicgrid.core.errors.DomainErrorMiddleware``
answers the 404 page for every view."""

from __future__ import annotations

import time

from django.http import HttpResponseNotModified
from django.utils.cache import patch_vary_headers
from django.utils.http import parse_etags
from django.utils.translation import get_language

from ..queries import data_stamp


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
