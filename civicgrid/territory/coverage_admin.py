"""The coverage page of the area admin: a report with a map, a button on the change page, an action."""

from __future__ import annotations

import shapely
from django.conf import settings
from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicgrid.people.scoping import in_scope

from . import coverage
from .coverage import CoverageReport

# Areas selected at once in the list action; each one is a full check of its subtree.
ACTION_LIMIT = 20
# Map outlines are simplified to about a metre: enough to see, far lighter to send.
MAP_SIMPLIFY_DEG = 1e-5


def _tolerance(request, name: str, default: float) -> float:
    try:
        value = float(request.GET.get(name, default))
    except ValueError:
        return default
    return value if value >= 0 else default


def _feature(geom, **props) -> dict | None:
    if geom is None or geom.is_empty:
        return None
    geom = shapely.simplify(geom, MAP_SIMPLIFY_DEG, preserve_topology=True)
    return {"type": "Feature", "geometry": shapely.geometry.mapping(geom), "properties": props}


def coverage_geojson(report: CoverageReport) -> dict:
    """Boundary, children and every problem piece as one FeatureCollection for the Leaflet map."""
    features = [_feature(report.geometry, role="parent", code=report.code)]
    features += [_feature(g, role="child", code=code) for code, g in report.child_geometries]
    for n, o in enumerate(report.overlaps, 1):
        features.append(_feature(o.geometry, role="overlap", n=n, label=f"{o.a} × {o.b}"))
    for n, g in enumerate(report.gaps, 1):
        features.append(_feature(g.geometry, role="gap", n=n, label=_("Gap")))
    for n, o in enumerate(report.outside, 1):
        features.append(_feature(o.geometry, role="outside", n=n, label=o.code))
    return {"type": "FeatureCollection", "features": [f for f in features if f]}


class CoverageAdminMixin:
    """Adds /admin/territory/area/<id>/coverage/ and the "Check coverage" list action."""

    change_form_template = "territory/admin/coverage_change_form.html"
    actions = ["check_coverage"]

    def get_urls(self):
        view = self.admin_site.admin_view(self.coverage_view)
        return [
            path("<path:object_id>/coverage/", view, name="territory_area_coverage"),
            *super().get_urls(),
        ]

    def coverage_view(self, request, object_id):
        area = self.get_object(request, unquote(object_id))
        # Out of scope answers like a missing area, so its existence is not disclosed.
        if area is None or not in_scope(request.user, area.code):
            raise Http404
        if not self.has_view_permission(request, area):
            raise PermissionDenied
        min_area = _tolerance(request, "min_area", 1.0)
        min_width = _tolerance(request, "min_width", 0.0)
        report = coverage.check_coverage(area, min_area_m2=min_area, min_width_m=min_width)
        child_model = "grid" if report.children_kind == "grid" else "area"
        context = {
            **self.admin_site.each_context(request),
            "title": _("Coverage of %(area)s") % {"area": area},
            "opts": self.model._meta,
            "original": area,
            "report": report,
            "min_area": min_area,
            "min_width": min_width,
            "child_changelist": reverse(f"admin:territory_{child_model}_changelist"),
            "map_data": coverage_geojson(report),
            "map_tiles": {
                "url": settings.MAP_TILE_URL,
                "attribution": settings.MAP_TILE_ATTRIBUTION,
            },
            "covered_pct": None if report.covered_ratio is None else report.covered_ratio * 100,
        }
        return TemplateResponse(request, "territory/admin/coverage.html", context)

    @staticmethod
    def _coverage_url(area) -> str:
        return reverse("admin:territory_area_coverage", args=[area.pk])

    def check_coverage(self, request, queryset):
        areas = [
            a
            for a in queryset.order_by("code")[: ACTION_LIMIT + 1]
            if in_scope(request.user, a.code)
        ]
        if len(areas) == 1:
            return HttpResponseRedirect(self._coverage_url(areas[0]))
        if len(areas) > ACTION_LIMIT:
            self.message_user(
                request,
                _("Select at most %(n)d areas; to check everything run `manage.py coverage_check`.")
                % {"n": ACTION_LIMIT},
                messages.WARNING,
            )
            return None
        for area in areas:
            r = coverage.check_coverage(area)
            args = {
                "area": area,
                "overlaps": len(r.overlaps),
                "gaps": len(r.gaps),
                "outside": len(r.outside),
            }
            if r.ok:
                self.message_user(
                    request, _("%(area)s: no overlaps or gaps.") % args, messages.SUCCESS
                )
            else:
                self.message_user(
                    request,
                    _("%(area)s: %(overlaps)d overlaps, %(gaps)d gaps, %(outside)d spills.") % args,
                    messages.ERROR,
                )
        return None

    check_coverage.short_description = gettext_lazy("Check coverage (overlaps and gaps)")
