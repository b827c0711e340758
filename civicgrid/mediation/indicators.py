"""The mediation indicators of docs/domain.md §10, per scope and period, with 环比 and 同比.

For a period [s, e) and its cut-off T′ = min(e, now), over the disputes visible to the
principal (and under the area filter):

received            disputes registered in [s, T′)                                   受理数
concluded           disputes concluded (agreement, referral or withdrawal) in [s, T′)
resolved            concluded ones settled by an agreement (no legal route)          化解数
resolution_rate     resolved / concluded                                             化解率
village_share       resolved at village level / resolved      (小事不出村)
township_share      resolved at township level / resolved     (大事不出镇)
success_rate        resolved / (resolved + referred): mediation attempted to an end  调解成功率
fulfilment_rate     agreements due in [s, T′) fulfilled by their date / those due    协议履行率
satisfaction_rate   follow-up visits made in [s, T′) with satisfied parties / visits 回访满意率
repeat_rate         received by visit, letter or online that repeat an earlier one / those
violence_flags      disputes flagged 民转刑 in [s, T′); violence_resolved / _referred / _open:
                    their outcome now (resolved, referred or withdrawn, still open)
overdue             open disputes past their deadline now (not compared)

A concluded dispute that relapsed counts again when it concludes again (``concluded_at`` is its
latest conclusion). Each figure is one conditional aggregate; the whole report is six queries
per period.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from civicgrid.people.access import principal_of
from civicgrid.territory.models import Area

from .models import OPEN_STATES, Agreement, Dispute, DisputeSource, DisputeState, FollowUp

CENTER_SOURCES = (DisputeSource.VISIT, DisputeSource.LETTER, DisputeSource.ONLINE)


@dataclass(frozen=True)
class Indicator:
    key: str
    label: Any
    unit: str  # "count" or "rate"
    higher_is_better: bool | None = True


INDICATORS = (
    Indicator("received", _("Disputes received (受理数)"), "count", None),
    Indicator("concluded", _("Disputes concluded"), "count", None),
    Indicator("resolved", _("Disputes resolved (化解数)"), "count"),
    Indicator("resolution_rate", _("Resolution rate (化解率)"), "rate"),
    Indicator("village_share", _("Resolved at village level"), "rate"),
    Indicator("township_share", _("Resolved at township level"), "rate"),
    Indicator("success_rate", _("Mediation success rate (调解成功率)"), "rate"),
    Indicator("fulfilment_rate", _("Agreement fulfilment rate (协议履行率)"), "rate"),
    Indicator("satisfaction_rate", _("Follow-up satisfaction (回访满意率)"), "rate"),
    Indicator("repeat_rate", _("Repeat visit rate (重复来访率)"), "rate", False),
    Indicator("violence_flags", _("民转刑 flags"), "count", False),
    Indicator("violence_resolved", _("民转刑 flags resolved"), "count"),
    Indicator("violence_referred", _("民转刑 flags referred"), "count", None),
    Indicator("violence_open", _("民转刑 flags still open"), "count", False),
    Indicator("overdue", _("Disputes overdue now"), "count", False),
)
BY_KEY = {i.key: i for i in INDICATORS}


def ratio(num: int, den: int) -> float | None:
    return None if not den else num / den


def _base(principal, prefix: str = ""):
    qs = Dispute.objects.filter(principal.dispute_visible_q())
    if prefix:
        qs = qs.filter(scope_code__startswith=prefix)
    return qs


def values(who, period, prefix: str = "", *, now: dt.datetime | None = None) -> dict[str, Any]:
    """The indicators for ``who``'s scope (under ``prefix``) and ``period``."""
    p = principal_of(who)
    now = now or timezone.now()
    s, t = period.start, period.until(now)
    base = _base(p, prefix)
    has_agreement = Exists(Agreement.objects.filter(dispute=OuterRef("pk")))
    in_p = Q(registered_at__gte=s, registered_at__lt=t)
    concl = Q(concluded_at__gte=s, concluded_at__lt=t)
    settled = Q(has_agreement=True, legal_route="")
    referred = ~Q(legal_route="")
    a = base.annotate(has_agreement=has_agreement).aggregate(
        received=Count("pk", filter=in_p),
        center_received=Count("pk", filter=in_p & Q(source__in=CENTER_SOURCES)),
        repeats=Count("pk", filter=in_p & Q(source__in=CENTER_SOURCES, repeat_visit=True)),
        concluded=Count("pk", filter=concl),
        resolved=Count("pk", filter=concl & settled),
        referred=Count("pk", filter=concl & referred),
        village=Count("pk", filter=concl & settled & Q(concluded_level=Area.Level.VILLAGE)),
        township=Count("pk", filter=concl & settled & Q(concluded_level=Area.Level.TOWNSHIP)),
        flags=Count("pk", filter=Q(violence_flagged_at__gte=s, violence_flagged_at__lt=t)),
        flags_resolved=Count(
            "pk",
            filter=Q(violence_flagged_at__gte=s, violence_flagged_at__lt=t)
            & settled
            & ~Q(state__in=OPEN_STATES),
        ),
        flags_referred=Count(
            "pk",
            filter=Q(violence_flagged_at__gte=s, violence_flagged_at__lt=t)
            & ~Q(state__in=OPEN_STATES)
            & (referred | Q(state=DisputeState.WITHDRAWN)),
        ),
        flags_open=Count(
            "pk",
            filter=Q(violence_flagged_at__gte=s, violence_flagged_at__lt=t, state__in=OPEN_STATES),
        ),
        overdue=Count("pk", filter=Q(state__in=OPEN_STATES, overdue=True)),
    )
    visible = base.values("pk")
    # Agreements whose date fell in the period (while it runs: up to yesterday, so today's are
    # not counted as broken before the day is over).
    last_day = timezone.localdate(t) if t < period.end else period.last + dt.timedelta(days=1)
    due = Agreement.objects.filter(
        dispute__in=visible, fulfil_by__gte=period.first, fulfil_by__lt=last_day
    ).aggregate(
        due=Count("pk"),
        kept=Count(
            "pk",
            filter=Q(fulfilled_at__isnull=False, fulfilled_at__date__lte=F("fulfil_by")),
        ),
    )
    visits = FollowUp.objects.filter(dispute__in=visible, done_at__gte=s, done_at__lt=t).aggregate(
        n=Count("pk"), satisfied=Count("pk", filter=Q(satisfied=True))
    )
    return {
        "received": a["received"],
        "concluded": a["concluded"],
        "resolved": a["resolved"],
        "resolution_rate": ratio(a["resolved"], a["concluded"]),
        "village_share": ratio(a["village"], a["resolved"]),
        "township_share": ratio(a["township"], a["resolved"]),
        "success_rate": ratio(a["resolved"], a["resolved"] + a["referred"]),
        "fulfilment_rate": ratio(due["kept"], due["due"]),
        "satisfaction_rate": ratio(visits["satisfied"], visits["n"]),
        "repeat_rate": ratio(a["repeats"], a["center_received"]),
        "violence_flags": a["flags"],
        "violence_resolved": a["flags_resolved"],
        "violence_referred": a["flags_referred"],
        "violence_open": a["flags_open"],
        "overdue": a["overdue"],
    }


def report(who, period, prefix: str = "", *, now: dt.datetime | None = None) -> dict:
    """Values with 环比 (previous period) and 同比 (a year earlier) and their changes."""
    from civicgrid.analytics.indicators import change

    now = now or timezone.now()
    current = values(who, period, prefix, now=now)
    prev_p, year_p = period.previous(now), period.year_ago(now)
    prev = values(who, prev_p, prefix, now=now)
    year = values(who, year_p, prefix, now=now)
    return {
        "period": period.as_dict(now),
        "previous_period": prev_p.as_dict(now),
        "year_ago_period": year_p.as_dict(now),
        "values": current,
        "previous": prev,
        "year_ago": year,
        "change_previous": {k: change(current[k], prev[k], BY_KEY[k].unit) for k in current},
        "change_year_ago": {k: change(current[k], year[k], BY_KEY[k].unit) for k in current},
        "indicators": [
            {
                "key": i.key,
                "label": str(i.label),
                "unit": i.unit,
                "higher_is_better": i.higher_is_better,
            }
            for i in INDICATORS
        ],
    }
