from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import Center, Department, GridAdviser, GridMember, RoleAssignment, User


class RoleAssignmentInline(admin.TabularInline):
    model = RoleAssignment
    extra = 0
    raw_id_fields = ("area", "center", "department")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "full_name", "is_active", "is_staff", "last_login")
    search_fields = ("username", "full_name")
    fieldsets = BaseUserAdmin.fieldsets + ((_("Profile"), {"fields": ("full_name", "phone")}),)
    inlines = [RoleAssignmentInline]


@admin.register(Center)
class CenterAdmin(admin.ModelAdmin):
    list_display = ("name", "area", "phone")
    search_fields = ("name", "area__code")
    raw_id_fields = ("area",)


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "area", "is_active")
    search_fields = ("code", "name")
    raw_id_fields = ("area",)


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(admin.ModelAdmin):
    list_display = ("user", "role", "area", "center", "department")
    list_filter = ("role",)
    raw_id_fields = ("user", "area", "center", "department")


@admin.register(GridMember)
class GridMemberAdmin(admin.ModelAdmin):
    list_display = ("grid", "user", "worker_type", "is_leader")
    list_filter = ("worker_type",)
    raw_id_fields = ("grid", "user")


@admin.register(GridAdviser)
class GridAdviserAdmin(admin.ModelAdmin):
    list_display = ("grid", "kind", "name", "organisation")
    list_filter = ("kind",)
    raw_id_fields = ("grid",)
