from django.contrib import admin, messages
from django.shortcuts import redirect

from civicgrid.core.errors import DomainError

from . import services
from .admin_forms import AreaForm, GridForm, MicroGridForm
from .coverage_admin import CoverageAdminMixin
from .io.admin_views import ImportAdminMixin
from .models import Area, Grid, MicroGrid, TerritoryVersion


class ServiceAdminMixin:
    """Add, change and delete go through the territory services (validation + version bump)."""

    readonly_on_change = ("code",)
    delete_service = None

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"actor": request.user})

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_on_change if obj is not None else ()

    def save_model(self, request, obj, form, change):
        pass  # written by the service in the form's clean()

    def delete_model(self, request, obj):
        type(self).delete_service(obj, request.user)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except DomainError as exc:  # e.g. still referenced by cases or team members
            self.message_user(request, exc.message, messages.ERROR)
            return redirect(request.path.rsplit("/delete/", 1)[0] + "/change/")

    def get_actions(self, request):
        # Bulk delete would bypass the services' reference checks.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


@admin.register(Area)
class AreaAdmin(ServiceAdminMixin, CoverageAdminMixin, ImportAdminMixin, admin.ModelAdmin):
    form = AreaForm
    readonly_on_change = ("code", "parent")
    delete_service = staticmethod(lambda obj, actor: services.area_delete(area=obj, actor=actor))
    list_display = ("code", "name", "level", "parent")
    list_filter = ("level",)
    search_fields = ("code", "name")
    raw_id_fields = ("parent",)


@admin.register(Grid)
class GridAdmin(ServiceAdminMixin, ImportAdminMixin, admin.ModelAdmin):
    form = GridForm
    readonly_on_change = ("code", "area")
    delete_service = staticmethod(lambda obj, actor: services.grid_delete(grid=obj, actor=actor))
    list_display = ("code", "name", "kind", "area", "households", "population")
    list_filter = ("kind",)
    search_fields = ("code", "name")
    raw_id_fields = ("area",)


@admin.register(MicroGrid)
class MicroGridAdmin(ServiceAdminMixin, admin.ModelAdmin):
    form = MicroGridForm
    readonly_on_change = ("code", "grid")
    delete_service = staticmethod(
        lambda obj, actor: services.microgrid_delete(micro_grid=obj, actor=actor)
    )
    list_display = ("code", "name", "grid", "households")
    search_fields = ("code", "name")
    raw_id_fields = ("grid",)


@admin.register(TerritoryVersion)
class TerritoryVersionAdmin(admin.ModelAdmin):
    list_display = ("id", "value")
