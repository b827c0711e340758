"""Admin: configuration (categories, admission list, holiday calendar) and read-only case records.

Cases change only through the engine, so the admin shows them read-only; the action log can be
neither edited nor deleted from here (nor anywhere else).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from . import calendar
from .models import (
    AdmissionItem,
    Attachment,
    Case,
    CaseAction,
    Category,
    ExtensionRequest,
    GridTask,
    Holiday,
    Supervision,
    SuspensionRequest,
)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "name",
        "handling_level",
        "default_department",
        "priority",
        "response_limit",
        "handling_limit",
        "sla_unit",
        "self_closable",
        "photo_required",
        "is_active",
    )
    list_filter = ("handling_level", "sla_unit", "self_closable", "photo_required", "is_active")
    search_fields = ("code", "name")
    autocomplete_fields = ("default_department",)
    list_select_related = ("default_department",)
    ordering = ("code",)


@admin.register(AdmissionItem)
class AdmissionItemAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "department", "item_class", "state")
    list_filter = ("state", "item_class")
    readonly_fields = ("state", "proposed_by", "decided_at", "created_at")
    search_fields = ("code", "name", "department__name", "legal_basis")
    autocomplete_fields = ("department",)
    list_select_related = ("department",)


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ("date", "name", "is_workday")
    list_filter = ("is_workday",)
    date_hierarchy = "date"
    search_fields = ("name",)
    actions = ["seed_from_package"]

    @admin.action(description=_("Add missing days from the chinesecalendar package"))
    def seed_from_package(self, request, queryset):
        added = calendar.seed_from_package()
        self.message_user(request, _("%(n)s days added.") % {"n": added}, messages.SUCCESS)

    def changelist_view(self, request, extra_context=None):
        for warning in calendar.calendar_warnings():
            self.message_user(request, warning, messages.WARNING)
        return super().changelist_view(request, extra_context)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CaseActionInline(admin.TabularInline):
    model = CaseAction
    fields = ("created_at", "action", "actor", "role", "from_state", "to_state", "note")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    list_display = (
        "tracking_code",
        "category",
        "state",
        "sla_state",
        "owner",
        "department",
        "scope_code",
        "source",
        "reported_at",
    )
    list_filter = ("state", "sla_state", "source", "flow", "priority")
    search_fields = ("=tracking_code", "=scope_code")
    list_select_related = ("category", "owner", "department")
    show_full_result_count = False  # COUNT(*) over a million rows on every page is wasted work
    inlines = [CaseActionInline]
    raw_id_fields = ("grid", "area", "owner", "department", "worker", "reporter", "merged_into")


@admin.register(CaseAction)
class CaseActionAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "case", "action", "actor", "role", "from_state", "to_state")
    list_filter = ("action", "role")
    search_fields = ("=case__tracking_code",)
    list_select_related = ("case__category", "actor")
    show_full_result_count = False


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdmin):
    list_display = ("sha256", "kind", "case", "size", "created_at")
    list_filter = ("kind",)


@admin.register(ExtensionRequest)
class ExtensionRequestAdmin(ReadOnlyAdmin):
    list_display = ("case", "requested_due", "state", "requested_by", "decided_by", "created_at")
    list_filter = ("state",)


@admin.register(SuspensionRequest)
class SuspensionRequestAdmin(ReadOnlyAdmin):
    list_display = ("case", "review_date", "state", "requested_by", "decided_by", "created_at")
    list_filter = ("state",)


@admin.register(Supervision)
class SupervisionAdmin(ReadOnlyAdmin):
    list_display = ("case", "kind", "by", "department", "created_at", "answered_at")
    list_filter = ("kind",)


@admin.register(GridTask)
class GridTaskAdmin(ReadOnlyAdmin):
    list_display = ("title", "department", "item", "grid", "worker", "deadline", "state")
    list_filter = ("state",)
    search_fields = ("title", "=grid__code")
