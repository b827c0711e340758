"""Request id and request metrics, first in the middleware list so they see every response."""

from __future__ import annotations

import time

from . import metrics
from .context import new_request_id, request_id_var


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
