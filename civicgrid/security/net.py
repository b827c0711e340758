"""The client's address, from a header only when a trusted proxy is configured to set it."""

from __future__ import annotations

import ipaddress

from django.conf import settings


def _header() -> str:
    header = getattr(settings, "CLIENT_IP_HEADER", "")
    if header:
        return header
    from civicgrid.core.conf import options  # CIVICGRID["CLIENT_IP_HEADER"] (same env variable)

    return options().CLIENT_IP_HEADER


def client_ip(request) -> str:
    """REMOTE_ADDR, or the header named by ``CLIENT_IP_HEADER`` (e.g. ``HTTP_X_REAL_IP``).

    Only name a header your own proxy overwrites on every request: a client can send any header,
    so trusting one the proxy passes through lets every request pick its own address.
    """
    meta = getattr(request, "META", None) or {}
    header = _header() or "REMOTE_ADDR"
    raw = meta.get(header) or ""
    if header != "REMOTE_ADDR":
        # X-Forwarded-For style lists: the proxy appends the peer it saw, so the last entry is
        # the one our proxy wrote.
        raw = raw.split(",")[-1].strip()
    if not raw:
        raw = meta.get("REMOTE_ADDR", "") if header != "REMOTE_ADDR" else ""
    try:
        return str(ipaddress.ip_address(raw.strip()))
    except ValueError:
        return ""
