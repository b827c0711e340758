"""Sign-in limits on top of django-axes' (user, IP) lockout.

axes alone lets one address try a few passwords on every account, and many addresses try
passwords on one account. Two more limits close that:

* per account, whatever the address: after ``LOGIN_ACCOUNT_FREE_FAILURES`` failures each further
  attempt must wait a delay that doubles with every failure (capped); an attempt inside the delay
  is refused before the password is looked at, so a guesser gains nothing from trying faster;
* per address, across accounts: at most ``LOGIN_IP_FAILURES`` failures per hour.

A success resets the account's count. Counters live in the shared cache.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied

from . import ratelimit
from .net import client_ip


@dataclass(frozen=True)
class Block:
    kind: str  # "account" or "ip"
    retry_after: int


def _conf(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def _account_key(username: str) -> str:
    return f"login:acct:{(username or '').strip().lower()}"


def _ip_rule() -> ratelimit.Rule:
    return ratelimit.Rule(3600, _conf("LOGIN_IP_FAILURES", 30))


def account_delay(failures: int) -> int:
    """Seconds to wait after ``failures`` consecutive failures on one account."""
    free = _conf("LOGIN_ACCOUNT_FREE_FAILURES", 3)
    if failures < free:
        return 0
    base = _conf("LOGIN_ACCOUNT_BASE_DELAY", 2)
    cap = _conf("LOGIN_ACCOUNT_MAX_DELAY", 900)
    return int(min(cap, base * 2 ** (failures - free)))


def blocked(request, username: str) -> Block | None:
    now = time.time()
    state = cache.get(_account_key(username))
    if state:
        failures, last = state
        wait = account_delay(failures) - (now - last)
        if wait > 0:
            return Block("account", int(wait) + 1)
    ip = client_ip(request) if request is not None else ""
    if ip:
        rule = _ip_rule()
        if ratelimit.used("login:ip", ip, rule, now) >= rule.maximum:
            return Block("ip", int(rule.window - now % rule.window) + 1)
    return None


def note_failure(request, username: str) -> None:
    key = _account_key(username)
    state = cache.get(key) or (0, 0.0)
    cache.set(key, (state[0] + 1, time.time()), timeout=_conf("LOGIN_ACCOUNT_MEMORY", 86400))
    ip = client_ip(request) if request is not None else ""
    if ip:
        ratelimit.count("login:ip", ip, [_ip_rule()])


def note_success(username: str) -> None:
    cache.delete(_account_key(username))


class LoginGuardBackend:
    """First authentication backend: refuses (PermissionDenied) while a limit holds.

    Django stops at PermissionDenied without asking the next backends, so the password is never
    checked during a delay; the refusal is still a failed sign-in (signal, audit row). No
    ``get_user``: it never signs anyone in, and test clients' force_login skip such backends.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            return None
        block = blocked(request, username)
        if block is not None:
            if request is not None:
                request.login_guard_block = block
            raise PermissionDenied("sign-in limit")
        return None
