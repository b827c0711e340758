"""Redirect targets taken from the request: only this site's own paths."""

from __future__ import annotations

from django.utils.http import url_has_allowed_host_and_scheme


def safe_next(request, default: str, field: str = "next") -> str:
    """The POSTed (or queried) ``next`` when it stays on this host, else ``default``.

    An unchecked ``next`` turns any form into an open redirect (phishing that starts on the
    city's own domain).
    """
    target = request.POST.get(field) or request.GET.get(field) or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default
