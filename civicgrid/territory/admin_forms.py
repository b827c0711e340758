"""Admin add/change forms that write through the territory services.

The services both validate and write (code structure, polygon validity, inside-parent, overlaps,
version bump), so the form calls the service from ``clean()`` inside a savepoint: a DomainError
becomes an error on the named field and nothing is written; on success ``form.instance`` is the
saved object and the admin's own save is a no-op. Model-level validation is skipped because the
service already did it (and would otherwise see the row it just created as a duplicate).
"""

from __future__ import annotations

import json

from django import forms
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from civicgrid.core.errors import DomainError

from . import services
from .models import Area, Grid, MicroGrid

SERVICE_FIELDS = {"code", "name", "parent", "area", "grid", "kind", "households", "population"}


class ServiceForm(forms.ModelForm):
    boundary_geojson = forms.CharField(
        label=_("boundary (GeoJSON)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "cols": 80, "spellcheck": "false"}),
        help_text=_("A GeoJSON Polygon or MultiPolygon in WGS-84 (lng, lat). Leave empty to keep."),
    )
    repair = forms.BooleanField(
        label=_("repair an invalid polygon"),
        required=False,
        help_text=_("Only when explicitly ticked; otherwise invalid polygons are refused."),
    )
    force = forms.BooleanField(
        label=_("accept overlaps (administrators only)"),
        required=False,
    )

    actor = None  # set by the admin's get_form

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.geometry is not None:
            self.initial.setdefault(
                "boundary_geojson", json.dumps(self.instance.geometry.__geo_interface__)
            )

    def _geometry_input(self):
        raw = (self.cleaned_data.get("boundary_geojson") or "").strip()
        if not raw:
            return services.UNSET if self.instance.pk else None
        if self.instance.pk and self.instance.geometry is not None:
            if raw == json.dumps(self.instance.geometry.__geo_interface__):
                return services.UNSET
        return raw

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            with transaction.atomic():
                self.instance = self.write(cleaned)
        except DomainError as exc:
            field = exc.field if exc.field in self.fields else None
            if exc.field == "geometry":
                field = "boundary_geojson"
            self.add_error(field, exc.message)
        return cleaned

    def _post_clean(self):
        pass  # validated and written by the service in clean()

    def save(self, commit=True):
        return self.instance

    def save_m2m(self):
        pass  # territory models have no many-to-many fields

    def write(self, cleaned):  # pragma: no cover - abstract
        raise NotImplementedError


class AreaForm(ServiceForm):
    class Meta:
        model = Area
        fields = ["code", "name", "parent"]

    def write(self, c):
        opts = {"repair": c.get("repair", False), "force": c.get("force", False)}
        if self.instance.pk:
            return services.area_update(
                area=self.instance,
                actor=self.actor,
                name=c["name"],
                geometry=self._geometry_input(),
                **opts,
            )
        return services.area_create(
            code=c["code"],
            name=c["name"],
            parent=c.get("parent"),
            actor=self.actor,
            geometry=self._geometry_input(),
            **opts,
        )


class GridForm(ServiceForm):
    class Meta:
        model = Grid
        fields = [
            "code",
            "name",
            "area",
            "kind",
            "dedicated_type",
            "households",
            "population",
            "duty",
        ]

    def write(self, c):
        opts = {"repair": c.get("repair", False), "force": c.get("force", False)}
        values = {k: c[k] for k in ("name", "kind", "households", "population") if k in c}
        values["dedicated_type"] = c.get("dedicated_type", "")
        values["duty"] = c.get("duty", "")
        if self.instance.pk:
            return services.grid_update(
                grid=self.instance,
                actor=self.actor,
                geometry=self._geometry_input(),
                **values,
                **opts,
            )
        return services.grid_create(
            code=c["code"],
            area=c.get("area"),
            actor=self.actor,
            geometry=self._geometry_input(),
            **values,
            **opts,
        )


class MicroGridForm(ServiceForm):
    class Meta:
        model = MicroGrid
        fields = ["code", "name", "grid", "households"]

    def write(self, c):
        opts = {"repair": c.get("repair", False), "force": c.get("force", False)}
        if self.instance.pk:
            return services.microgrid_update(
                micro_grid=self.instance,
                actor=self.actor,
                name=c["name"],
                households=c["households"],
                geometry=self._geometry_input(),
                **opts,
            )
        return services.microgrid_create(
            code=c["code"],
            name=c["name"],
            grid=c.get("grid"),
            households=c["households"],
            actor=self.actor,
            geometry=self._geometry_input(),
            **opts,
        )
