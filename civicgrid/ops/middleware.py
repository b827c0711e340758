"""Request id and request metrics, first in the middleware list so they see every response."""

from __future__ import annotations

import errno
import logging
import time

from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from . import metrics
from .context import new_request_id, request_id_var

logger = logging.getLogger(__name__)


def _route(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return "/" + (match.route or match.view_name or "")


class ObservabilityMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        rid = new_request_id(request.META.get("HTTP_X_REQUEST_ID"))
        request.request_id = rid
        # Cleared on request_finished (signals.py), not here: Django's own "django.request" log
        # line for a 4xx/5xx is written after the middleware chain returns and carries it too.
        request_id_var.set(rid)
        start = time.perf_counter()
        response = self.get_response(request)
        route, method = _route(request), request.method or "-"
        metrics.REQUEST_LATENCY.labels(route, method).observe(time.perf_counter() - start)
        metrics.REQUESTS.labels(route, method, str(response.status_code)).inc()
        response["X-Request-ID"] = rid
        return response

    def process_exception(self, request, exception):
        metrics.EXCEPTIONS.labels(_route(request), type(exception).__name__).inc()
        return None


STORAGE_FULL = {errno.ENOSPC, errno.EDQUOT}


def storage_full_response(request, exception):
    """507 with a clear message for a full media disk (ENOSPC, a quota), else None: JSON in the
    API's error shape under /api/, the error page elsewhere. Nothing of the refused action was
    kept (its transaction rolled back with the failed file write), so the client may send it
    again, with the same client_id, once there is room. The API's catch-all handler calls it."""
    if not (isinstance(exception, OSError) and exception.errno in STORAGE_FULL):
        return None
    logger.error("storage full while serving %s: %s", request.path, exception)
    metrics.STORAGE_FULL.inc()
    message = _(
        "The file storage is full: nothing was saved. Please try again later; the "
        "administrators have been alerted."
    )
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"code": "storage_full", "message": str(message), "details": {}}, status=507
        )
    return render(request, "ops/storage_full.html", {"message": message}, status=507)


class StorageFullMiddleware:
    """Pages: a full media disk answers 507 with a clear message (storage_full_response)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        return storage_full_response(request, exception)
