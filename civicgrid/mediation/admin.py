"""Admin for configuration only: mediation bodies and their mediator roster (点员台).

Disputes, sessions, agreements and visits are written through the workflow and its services.
"""

from django.contrib import admin

from .models import MediationBody, Mediator


class MediatorInline(admin.TabularInline):
    model = Mediator
    extra = 0
    fields = ("name", "kind", "user", "specialties", "available", "availability", "profile")
    raw_id_fields = ("user",)


@admin.register(MediationBody)
class MediationBodyAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "center", "speciality", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("name", "center__name")
    list_select_related = ("center",)
    raw_id_fields = ("center",)
    inlines = [MediatorInline]


@admin.register(Mediator)
class MediatorAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "body", "available", "user")
    list_filter = ("kind", "available")
    search_fields = ("name", "body__name")
    list_select_related = ("body", "user")
    raw_id_fields = ("body", "user")
