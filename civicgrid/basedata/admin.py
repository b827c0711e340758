"""Admin for configuration only: tag kinds (with their fields and visit rules) and region codes.

Records themselves are written through the services (validation, history, scoping); the admin
shows the reveal log read-only.
"""

from django.contrib import admin

from .models import RegionCode, RevealLog, TagKind, VisitRule


class VisitRuleInline(admin.TabularInline):
    model = VisitRule
    extra = 0


@admin.register(TagKind)
class TagKindAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "group", "sensitive", "visit_days", "builtin")
    list_filter = ("group", "sensitive")
    filter_horizontal = ("departments",)
    inlines = [VisitRuleInline]

    def has_delete_permission(self, request, obj=None):
        return obj is None or not obj.builtin


@admin.register(RegionCode)
class RegionCodeAdmin(admin.ModelAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")


@admin.register(RevealLog)
class RevealLogAdmin(admin.ModelAdmin):
    list_display = ("at", "user", "person", "fields", "reason", "ip")
    readonly_fields = list_display
    list_select_related = ("user", "person")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
