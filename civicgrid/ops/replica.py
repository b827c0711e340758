"""Reads that tolerate lag go to the read replica: ``with replica_reads(): ...`` or
``@replica_reads()`` on a view or task. Everything else uses the primary. Without
``DATABASE_REPLICA_URL`` nothing changes.

Read-your-writes, the way django-multidb-router's pinning does it:

- a request is **pinned** to the primary when its method is not safe (POST, PUT, PATCH, DELETE),
  when it carries the pin cookie, or as soon as it writes anything (the router sees every ORM
  write); a pinned request reads only from the primary, inside ``replica_reads()`` too;
- a response to a pinned request sets the pin cookie (``REPLICA_PIN_COOKIE``) for
  ``REPLICA_PIN_SECONDS``, so the next requests of that browser or client, which expect to see
  what it just wrote, read from the primary until the replica has surely caught up;
- outside a request (a task in ``replica_reads()``) a write pins the **model** it wrote: the
  export task updates its ``Export`` row and reads it back from the primary while the rows it
  exports still come from the replica;
- reads inside a transaction on the primary stay on the primary.

``ReplicaRouter`` is in DATABASE_ROUTERS and ``ReplicaPinMiddleware`` in MIDDLEWARE; both use
context variables, so they cover exactly the request or task that set them (threads stay separate).
"""

from __future__ import annotations

import contextvars
from contextlib import ContextDecorator
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

from civicgrid.core.conf import options

REPLICA = "replica"
REPLICA_PIN_COOKIE = "cg_primary"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


@dataclass
class _Pin:
    request: bool  # a request scope (pins everything) or a task scope (pins written models)
    pinned: bool = False
    wrote: bool = False
    models: set = field(default_factory=set)


_allowed: contextvars.ContextVar[bool] = contextvars.ContextVar("replica_reads", default=False)
_pin: contextvars.ContextVar[_Pin | None] = contextvars.ContextVar("replica_pin", default=None)


def has_replica() -> bool:
    return REPLICA in settings.DATABASES


def pinned() -> bool:
    """True when this request has been pinned to the primary."""
    pin = _pin.get()
    return bool(pin and pin.pinned)


class replica_reads(ContextDecorator):  # noqa: N801 - used like a function
    def _recreate_cm(self):
        return type(self)()  # one instance per call: the decorator is shared by threads

    def __enter__(self):
        self._token = _allowed.set(True)
        # A task (no request around it) gets a scope of its own for its written models.
        self._pin_token = _pin.set(_Pin(request=False)) if _pin.get() is None else None
        return self

    def __exit__(self, *exc):
        if self._pin_token is not None:
            _pin.reset(self._pin_token)
        _allowed.reset(self._token)
        return False


def _label(model) -> str:
    # app_label.model_name: also on the database cache's stand-in model, which has no label.
    return f"{model._meta.app_label}.{model._meta.model_name}"


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        if not _allowed.get() or not has_replica():
            return DEFAULT_DB_ALIAS
        pin = _pin.get()
        if pin is not None and (pin.pinned or _label(model) in pin.models):
            return DEFAULT_DB_ALIAS
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return DEFAULT_DB_ALIAS
        return REPLICA

    def db_for_write(self, model, **hints):
        pin = _pin.get()
        if pin is not None:
            if pin.request:
                pin.pinned = pin.wrote = True
            else:
                pin.models.add(_label(model))
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True  # one database, two copies of it

    def allow_migrate(self, db, app_label, **hints):
        return db == DEFAULT_DB_ALIAS


class ReplicaPinMiddleware:
    """Pins a request that writes (or follows a write) to the primary; see the module doc."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not has_replica():
            return self.get_response(request)
        pin = _Pin(
            request=True,
            pinned=request.method not in SAFE_METHODS or REPLICA_PIN_COOKIE in request.COOKIES,
        )
        token = _pin.set(pin)
        try:
            response = self.get_response(request)
        finally:
            _pin.reset(token)
        # A write (or an unsafe method) starts or renews the window; a pinned read does not.
        if pin.wrote or request.method not in SAFE_METHODS:
            response.set_cookie(
                REPLICA_PIN_COOKIE,
                "1",
                max_age=options().REPLICA_PIN_SECONDS,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response
