"""Fixed-window counters in the shared cache (database table or Redis, see settings.CACHES).

A counter lives in Django's default cache, so every web process and the worker see the same
count; a per-process memory would let each process grant the full budget again.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.cache import cache
from django.utils.translation import gettext as _

from civicgrid.core.errors import DomainError


@dataclass(frozen=True)
class Rule:
    window: int  # seconds
    maximum: int


class RateLimited(DomainError):
    status = 429

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        minutes = max(1, (retry_after + 59) // 60)
        super().__init__(
            "rate_limited",
            message
            or _("Too many requests. Please try again in %(minutes)s minutes.")
            % {"minutes": minutes},
            details={"retry_after": retry_after},
        )
        self.retry_after = retry_after


def _key(scope: str, ident: str, rule: Rule, now: float) -> str:
    return f"rl:{scope}:{ident}:{rule.window}:{int(now // rule.window)}"


def used(scope: str, ident: str, rule: Rule, now: float | None = None) -> int:
    return int(cache.get(_key(scope, ident, rule, now or time.time()), 0))


def check(scope: str, ident: str, rules: Iterable[Rule]) -> None:
    """Raise RateLimited when a window for ``ident`` is already full (nothing counted)."""
    now = time.time()
    for rule in rules:
        if used(scope, ident, rule, now) >= rule.maximum:
            raise RateLimited(int(rule.window - now % rule.window) + 1)


def count(scope: str, ident: str, rules: Iterable[Rule]) -> None:
    now = time.time()
    for rule in rules:
        key = _key(scope, ident, rule, now)
        if cache.add(key, 1, timeout=rule.window + 5):
            continue
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=rule.window + 5)


def hit(scope: str, ident: str, rules: Iterable[Rule]) -> None:
    """Check then count one request."""
    rules = tuple(rules)
    check(scope, ident, rules)
    count(scope, ident, rules)
