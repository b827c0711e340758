"""Small helpers shared by benchmarks."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(p / 100 * (len(s) - 1))))
    return s[k]


def time_calls(fn: Callable[[], object], n: int) -> list[float]:
    """Wall time of n calls, in microseconds each."""
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1e6)
    return out


def measure(
    name, value, unit, *, baseline=None, baseline_value=None, target=None, ok=None, **extra
):
    ratio = None
    if baseline_value:
        ratio = round(value / baseline_value, 3)
    return {
        "name": name,
        "value": round(value, 3) if isinstance(value, float) else value,
        "unit": unit,
        "baseline": baseline,
        "baseline_value": round(baseline_value, 3)
        if isinstance(baseline_value, float)
        else baseline_value,
        "ratio": ratio,
        "target": target,
        "ok": ok,
        **extra,
    }


mean = statistics.fmean
