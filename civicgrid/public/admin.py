from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicgrid.territory.spatial import locate

from .models import EmergencyDevice
from .services import emergency_device_rotate, new_device_token


@admin.register(EmergencyDevice)
class EmergencyDeviceAdmin(admin.ModelAdmin):
    list_display = ("holder_name", "address", "grid", "phone", "is_active", "last_pressed_at")
    list_filter = ("is_active",)
    search_fields = ("holder_name", "address", "label", "phone", "contact_phone")
    raw_id_fields = ("grid",)
    readonly_fields = ("last_case", "last_pressed_at", "press_count")
    actions = ["rotate_tokens"]

    def save_model(self, request, obj, form, change):
        if not obj.grid_id:
            res = locate(obj.lat, obj.lng)
            if res.grid_id:
                obj.grid_id = res.grid_id
        if not change:
            token = new_device_token()
            obj.token_hash = EmergencyDevice.hash_token(token)
            super().save_model(request, obj, form, change)
            messages.warning(
                request,
                _("Device token (shown only now; configure it on the device): %(t)s")
                % {"t": token},
            )
            return
        super().save_model(request, obj, form, change)

    @admin.action(description=gettext_lazy("Issue new tokens (the old ones stop working)"))
    def rotate_tokens(self, request, queryset):
        for device in queryset:
            token = emergency_device_rotate(device=device)
            messages.warning(request, f"{device}: {token}")
