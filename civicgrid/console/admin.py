from django.contrib import admin

from .models import PhoneReveal


@admin.register(PhoneReveal)
class PhoneRevealAdmin(admin.ModelAdmin):
    list_display = ("created_at", "user", "case", "ip")
    list_filter = ("created_at",)
    search_fields = ("case__tracking_code", "user__username", "user__full_name")
    readonly_fields = ("created_at", "user", "case", "ip")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
