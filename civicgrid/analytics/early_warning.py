"""Early warning (预警): a category × area whose count today is far above its own baseline.

The test, per (case category, street/township) pair:

- count c = cases of that category reported in that area today (local day, so far);
- baseline λ = the pair's mean daily count over the 28 days before today (days without cases
  count as zero);
- flagged when c ≥ 5 and the Poisson upper tail P(X ≥ c | λ) < 0.001.

The minimum count keeps rare categories quiet (one case where there are usually none is not an
alarm); the tail probability makes the bar scale with the usual volume (30 a day against a mean
of 20 is not unusual, 12 against a mean of 2 is). Counting today so far against whole-day means
is conservative: a flag only gets likelier as the day goes on.

``detect`` is read-only and scoped (the dashboard calls it); ``scan`` runs city-wide in the task
worker, stores each flag once per day and pair (a unique row) and notifies the leaders and
operators whose scope covers the area — once, because only the insert that wins notifies.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.db.models.functions import Substr
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.cases.models import Case, Category
from civicgrid.core.conf import options
from civicgrid.territory import codes
from civicgrid.territory.models import Area

from .models import EarlyWarning

BASELINE_DAYS = 28
MIN_COUNT = 5
P_THRESHOLD = 0.001


def _setting(name: str, default):
    return getattr(options(), name)


def area_level() -> int:
    """The area level pairs are formed at (default 3, township/street)."""
    return int(_setting("EARLY_WARNING_LEVEL", codes.TOWNSHIP))


def poisson_sf(k: int, lam: float) -> float:
    """P(X ≥ k) for X ~ Poisson(lam), summing the tail directly so tiny values stay exact."""
    if k <= 0:
        return 1.0
    if lam <= 0:
        return 0.0
    log_lam = math.log(lam)
    if k <= lam:  # the tail is large; the complement is accurate enough
        cdf = sum(math.exp(-lam + i * log_lam - math.lgamma(i + 1)) for i in range(k))
        return max(0.0, 1.0 - cdf)
    term = math.exp(-lam + k * log_lam - math.lgamma(k + 1))
    total, i = 0.0, k
    while term > total * 1e-17 and i < k + 100_000:
        total += term
        i += 1
        term *= lam / i
    return total


@dataclass(frozen=True)
class Signal:
    day: dt.date
    category_id: int
    area_code: str
    count: int
    baseline: float
    p_value: float


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    return start, start + dt.timedelta(days=1)


def detect(
    *,
    day: dt.date | None = None,
    scope: Q | None = None,
    level: int | None = None,
    now: dt.datetime | None = None,
) -> list[Signal]:
    """Pairs flagged on ``day`` (default today) among the cases matching ``scope``."""
    now = now or timezone.now()
    day = day or timezone.localdate(now)
    level = level or area_level()
    n = codes.PREFIX_LEN[level]
    start, end = _day_bounds(day)
    end = min(end, now) if day == timezone.localdate(now) else end
    base_start = start - dt.timedelta(days=BASELINE_DAYS)
    qs = Case.objects.filter(scope or Q(), reported_at__gte=base_start, reported_at__lt=end)
    rows = (
        qs.annotate(a=Substr("scope_code", 1, n))
        .values("category_id", "a")
        .annotate(
            today=Count("pk", filter=Q(reported_at__gte=start)),
            before=Count("pk", filter=Q(reported_at__lt=start)),
        )
        .filter(today__gte=MIN_COUNT)
        .order_by()
    )
    out = []
    for r in rows:
        lam = r["before"] / BASELINE_DAYS
        p = poisson_sf(r["today"], lam)
        if p < P_THRESHOLD:
            out.append(Signal(day, r["category_id"], r["a"], r["today"], lam, p))
    out.sort(key=lambda s: (s.p_value, -s.count))
    return out


def describe(signals: list[Signal]) -> list[dict]:
    """Display rows: category and area names, count, baseline, p-value."""
    cats = Category.objects.in_bulk({s.category_id for s in signals})
    area_codes = {_area_code(s.area_code) for s in signals}
    areas = {a.code: a for a in Area.objects.filter(code__in=area_codes)}
    out = []
    for s in signals:
        cat = cats.get(s.category_id)
        area = areas.get(_area_code(s.area_code))
        out.append(
            {
                "day": s.day.isoformat(),
                "category": cat.code if cat else "",
                "category_name": cat.name if cat else "",
                "area": area.code if area else s.area_code,
                "area_name": area.name if area else s.area_code,
                "count": s.count,
                "baseline": round(s.baseline, 2),
                "p_value": s.p_value,
            }
        )
    return out


def _area_code(prefix: str) -> str:
    return prefix.ljust(12, "0")


def scan(*, day: dt.date | None = None, now: dt.datetime | None = None) -> list[EarlyWarning]:
    """Store today's new flags city-wide and notify each once; returns the new rows."""
    signals = detect(day=day, now=now)
    areas = {
        a.code: a for a in Area.objects.filter(code__in={_area_code(s.area_code) for s in signals})
    }
    created = []
    for s in signals:
        area = areas.get(_area_code(s.area_code))
        if area is None:
            continue
        try:
            with transaction.atomic():
                row = EarlyWarning.objects.create(
                    day=s.day,
                    category_id=s.category_id,
                    area=area,
                    area_code=area.code,
                    count=s.count,
                    baseline=s.baseline,
                    p_value=s.p_value,
                )
        except IntegrityError:  # flagged (and notified) earlier today, or by a parallel scan
            continue
        row.notified = _notify(row)
        EarlyWarning.objects.filter(pk=row.pk).update(notified=row.notified)
        created.append(row)
    return created


def _recipients(area: Area) -> list:
    from civicgrid.people.models import Role, RoleAssignment

    rows = RoleAssignment.objects.filter(
        role__in=(Role.LEADER, Role.OPERATOR), user__is_active=True
    ).select_related("area", "user")
    return list(
        {ra.user.pk: ra.user for ra in rows if area.code.startswith(ra.area.prefix)}.values()
    )


def _notify(row: EarlyWarning) -> int:
    from django.urls import reverse

    from civicgrid.notifications.services import notify

    users = _recipients(row.area)
    title = _("Early warning: %(cat)s in %(area)s, %(n)s cases today (usually %(base)s)") % {
        "cat": row.category.name,
        "area": row.area.name,
        "n": row.count,
        "base": f"{row.baseline:.1f}",
    }
    body = _(
        "Poisson test against the %(days)s-day mean: p = %(p).2g (flagged below %(t)s, at "
        "least %(min)s cases)."
    ) % {"days": BASELINE_DAYS, "p": row.p_value, "t": P_THRESHOLD, "min": MIN_COUNT}
    url = f"{reverse('analytics:dashboard')}?area={row.area.code}&category={row.category.code}"
    rows = notify(users=users, kind="early_warning", title=title, body=body, url=url)
    return len(rows)
