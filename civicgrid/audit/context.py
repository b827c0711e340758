"""Who is acting: the current request (set by AuditContextMiddleware) or an explicit override.

Model signals cannot see the request, so the middleware keeps it in a context variable for the
duration of the request; commands and tasks name their actor with ``acting_as``.
"""

from __future__ import annotations

import contextlib
import contextvars
from dataclasses import dataclass

from civicgrid.security.net import client_ip


@dataclass(frozen=True)
class Actor:
    user: object | None
    label: str
    ip: str


_request: contextvars.ContextVar = contextvars.ContextVar("audit_request", default=None)
_override: contextvars.ContextVar = contextvars.ContextVar("audit_actor", default=None)


def current_actor() -> Actor:
    override = _override.get()
    if override is not None:
        return override
    request = _request.get()
    if request is None:
        return Actor(user=None, label="system", ip="")
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return Actor(user=user, label=user.get_username(), ip=client_ip(request))
    return Actor(user=None, label="anonymous", ip=client_ip(request))


def actor_for_request(request, user=None) -> Actor:
    user = user if user is not None else getattr(request, "user", None)
    ip = client_ip(request) if request is not None else ""
    if user is not None and getattr(user, "is_authenticated", False):
        return Actor(user=user, label=user.get_username(), ip=ip)
    return Actor(user=None, label="anonymous", ip=ip)


def actor_for_user(user) -> Actor:
    """``user`` as the actor, with the current request's address when there is one."""
    if user is None:
        return current_actor()
    request = _request.get()
    ip = client_ip(request) if request is not None else ""
    return Actor(user=user, label=user.get_username(), ip=ip)


@contextlib.contextmanager
def acting_as(user=None, *, label: str | None = None, ip: str = ""):
    """Attribute every audit row written inside the block to ``user`` (or a label, e.g. a command)."""
    name = label or (user.get_username() if user is not None else "system")
    token = _override.set(Actor(user=user, label=name, ip=ip))
    try:
        yield
    finally:
        _override.reset(token)


class AuditContextMiddleware:
    """Make the request visible to audit signals. Place it after AuthenticationMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)
