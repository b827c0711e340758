from django.contrib import admin

from .models import Notification, OutboundMessage


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "recipient", "kind", "title", "tracking_code", "read_at")
    list_filter = ("kind", ("read_at", admin.EmptyFieldListFilter))
    search_fields = ("title", "tracking_code", "recipient__username", "recipient__full_name")
    raw_id_fields = ("recipient",)
    date_hierarchy = "created_at"
    list_select_related = ("recipient",)


@admin.register(OutboundMessage)
class OutboundMessageAdmin(admin.ModelAdmin):
    """An audit trail: operators read it, nobody edits what was sent."""

    list_display = (
        "created_at",
        "channel",
        "to",
        "kind",
        "status",
        "attempts",
        "sender",
        "sent_at",
    )
    list_filter = ("status", "channel", "kind")
    search_fields = ("to", "body", "error")
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
