from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = (
        "user",
        "name",
        "prefix",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked",
    )
    list_filter = ("revoked",)
    raw_id_fields = ("user",)
    readonly_fields = ("expires_at", "revoked_at", "last_used_at")
    actions = ["revoke_selected"]

    def has_add_permission(self, request):
        return False  # issued with manage.py issue_token, which shows the token once

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke_selected(self, request, queryset):
        for row in queryset.filter(revoked=False):
            row.revoke()
