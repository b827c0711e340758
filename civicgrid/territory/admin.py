from django.contrib import admin

from .coverage_admin import CoverageAdminMixin
from .io.admin_views import ImportAdminMixin
from .models import Area, Grid, MicroGrid, TerritoryVersion


@admin.register(Area)
class AreaAdmin(CoverageAdminMixin, ImportAdminMixin, admin.ModelAdmin):
    list_display = ("code", "name", "level", "parent")
    list_filter = ("level",)
    search_fields = ("code", "name")
    raw_id_fields = ("parent",)


@admin.register(Grid)
class GridAdmin(ImportAdminMixin, admin.ModelAdmin):
    list_display = ("code", "name", "kind", "area", "households", "population")
    list_filter = ("kind",)
    search_fields = ("code", "name")
    raw_id_fields = ("area",)


@admin.register(MicroGrid)
class MicroGridAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "grid", "households")
    search_fields = ("code", "name")
    raw_id_fields = ("grid",)


@admin.register(TerritoryVersion)
class TerritoryVersionAdmin(admin.ModelAdmin):
    list_display = ("id", "value")
