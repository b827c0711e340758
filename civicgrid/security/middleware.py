"""Session lifetime limits and per-address limits on the public endpoints."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from . import ratelimit
from .net import client_ip

STARTED, SEEN = "_cg_started", "_cg_seen"


class SessionTimeoutMiddleware:
    """Sign out a session idle longer than SESSION_IDLE_TIMEOUT or older than
    SESSION_ABSOLUTE_TIMEOUT (seconds). Place it after AuthenticationMiddleware.

    The last-seen time is written at most once a minute, so reads do not turn into session writes.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        user = getattr(request, "user", None)
        if session is not None and user is not None and user.is_authenticated:
            now = int(time.time())
            idle = int(getattr(settings, "SESSION_IDLE_TIMEOUT", 1800))
            absolute = int(getattr(settings, "SESSION_ABSOLUTE_TIMEOUT", 43200))
            started = session.get(STARTED)
            seen = session.get(SEEN)
            if started is None:
                session[STARTED] = session[SEEN] = now
            elif now - started > absolute or (seen is not None and now - seen > idle):
                logout(request)
                request.session_expired = True
            elif seen is None or now - seen >= 60:
                session[SEEN] = now
        return self.get_response(request)


@dataclass(frozen=True)
class PathLimit:
    scope: str
    pattern: re.Pattern
    methods: frozenset[str]
    rules: tuple[ratelimit.Rule, ...]


def _limits() -> list[PathLimit]:
    out = []
    for scope, pattern, methods, rules in getattr(settings, "PATH_RATE_LIMITS", ()):
        out.append(
            PathLimit(
                scope,
                re.compile(pattern),
                frozenset(m.upper() for m in methods),
                tuple(ratelimit.Rule(w, n) for w, n in rules),
            )
        )
    return out


class RateLimitMiddleware:
    """Per-address budgets for anonymous endpoints (tracking, rating, one-key, Open311).

    Paths and budgets come from settings.PATH_RATE_LIMITS, so the endpoints themselves stay
    unchanged; a request counts against every matching scope.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.limits = _limits()

    def __call__(self, request):
        path = request.path_info
        matching = [
            lim for lim in self.limits if request.method in lim.methods and lim.pattern.search(path)
        ]
        if matching:
            ip = client_ip(request) or "unknown"
            try:
                for lim in matching:
                    ratelimit.check(lim.scope, ip, lim.rules)
            except ratelimit.RateLimited as exc:
                return self.refusal(request, exc)
            for lim in matching:
                ratelimit.count(lim.scope, ip, lim.rules)
        return self.get_response(request)

    @staticmethod
    def refusal(request, exc: ratelimit.RateLimited) -> HttpResponse:
        path = request.path_info
        if path.startswith("/api/open311/"):
            # GeoReport's error array.
            response = JsonResponse(
                [{"code": 429, "description": exc.message}], status=429, safe=False
            )
        elif path.startswith("/api/"):
            response = JsonResponse(exc.as_dict(), status=429)
        else:
            response = render(
                request,
                "security/rate_limited.html",
                {"message": exc.message, "title": _("Too many requests")},
                status=429,
            )
        response["Retry-After"] = str(exc.retry_after)
        return response
