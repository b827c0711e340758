from django.contrib import admin

from .models import CheckIn, KeyPlace, Patrol


@admin.register(KeyPlace)
class KeyPlaceAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "grid", "radius_m", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("name", "address", "grid__code", "grid__name")
    raw_id_fields = ("grid",)


@admin.register(Patrol)
class PatrolAdmin(admin.ModelAdmin):
    list_display = ("worker", "started_at", "ended_at", "state", "distance_m", "point_count")
    list_filter = ("state",)
    search_fields = ("worker__username", "worker__full_name", "scope_code")
    raw_id_fields = ("worker",)
    date_hierarchy = "started_at"

    def has_add_permission(self, request):
        return False  # patrols come from the phones

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(CheckIn)
class CheckInAdmin(admin.ModelAdmin):
    list_display = ("worker", "place", "checked_at", "distance_m", "within")
    list_filter = ("within",)
    search_fields = ("worker__username", "place__name")
    raw_id_fields = ("worker", "place", "patrol")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
