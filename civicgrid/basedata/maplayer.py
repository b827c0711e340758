"""The base-data layer of the console map: records inside a bounding box, scoped, as compact rows.

``GET /basedata/map/points?bbox=w,s,e,n&layers=house,tag,place,riskpoint,organisation,thing``
answers ``{"items": [[layer, id, lat, lng, label, detail], ...], "truncated": bool}``, at most
``LIMIT`` rows a layer. The ``tag`` layer shows tagged persons with only the tags the viewer may
see (sensitive tags to the roles that serve them): a person whose every tag is hidden from the
viewer is not on it. Names are shown, ID numbers and phones never.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Exists, OuterRef, Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.core.errors import DomainError

from . import selectors
from .models import House, Organisation, PersonTag, Place, RiskPoint, Thing

LIMIT = 2000
LAYERS = ("house", "tag", "place", "riskpoint", "organisation", "thing")


def parse_bbox(value: Any) -> tuple[float, float, float, float]:
    try:
        w, s, e, n = (float(v) for v in str(value or "").split(","))
    except ValueError:
        raise DomainError("invalid", _("bbox: west,south,east,north"), field="bbox") from None
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90) or (e - w) * (n - s) > 4:
        raise DomainError("invalid", _("bbox: a box of at most 4 square degrees"), field="bbox")
    return w, s, e, n


def _in(qs, bbox):
    w, s, e, n = bbox
    return qs.filter(lng__gte=w, lng__lte=e, lat__gte=s, lat__lte=n)


def points(principal, bbox, layers: list[str]) -> dict:
    items: list[list] = []
    truncated = False
    today = timezone.localdate()
    for layer in [x for x in LAYERS if x in layers]:
        if layer == "tag":
            visible = PersonTag.objects.filter(selectors.tag_visible_q(principal)).select_related(
                "kind"
            )
            qs = (
                _in(selectors.person_list_for(principal), bbox)
                .filter(
                    Exists(
                        PersonTag.objects.filter(
                            selectors.tag_visible_q(principal), person=OuterRef("pk")
                        )
                    )
                )
                .prefetch_related(Prefetch("tags", queryset=visible, to_attr="shown"))
                .order_by("pk")
            )
            rows = list(qs[: LIMIT + 1])
            for p in rows[:LIMIT]:
                overdue = any(t.next_visit_due and t.next_visit_due < today for t in p.shown)
                sensitive = any(t.sensitive for t in p.shown)
                kinds = "、".join(t.kind.name for t in p.shown)
                items.append(
                    ["tag", p.pk, p.lat, p.lng, p.name, {"tags": kinds, "overdue": overdue,
                                                        "sensitive": sensitive}]
                )  # fmt: skip
        else:
            model = {
                "house": House,
                "place": Place,
                "riskpoint": RiskPoint,
                "organisation": Organisation,
                "thing": Thing,
            }[layer]
            qs = _in(model.objects.filter(selectors.scope_q(principal, "scope_code")), bbox)
            if layer == "house":
                qs = qs.annotate(n=Count("residents"))
            rows = list(qs.order_by("pk")[: LIMIT + 1])
            for o in rows[:LIMIT]:
                detail: dict[str, Any] = {}
                if layer == "house":
                    detail = {"residents": o.n, "use": o.get_use_display()}
                elif layer == "riskpoint":
                    detail = {"level": o.level, "kind": o.get_kind_display()}
                elif layer == "thing":
                    detail = {"state": o.state, "kind": o.get_kind_display()}
                else:
                    detail = {"kind": o.get_kind_display()}
                items.append([layer, o.pk, o.lat, o.lng, str(o), detail])
        truncated = truncated or len(rows) > LIMIT
    return {"items": items, "truncated": truncated, "limit": LIMIT}
