"""Scope the Django admin by the user's area scope (docs/decisions.md, "Admin scope").

Every registered ModelAdmin is wrapped at start-up, so no app's admin.py needs to remember it:

* models with an area code (territory, key places, centers, departments, role assignments, grid
  teams and advisers, emergency devices, the admission list) are listed, opened, changed and
  deleted only inside the scope the user holds through the roles that may edit them, and their
  foreign-key choices are limited the same way;
* every other model (users, categories and SLA, holidays, cases and their logs, tokens,
  notifications, axes and task tables ...) is for superusers only: none of them has an area
  scope, and a staff flag plus a Django permission must not grant the whole installation.

Django's model permissions still apply on top: the scope only ever narrows them.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import admin

from civicgrid.people.models import Role
from civicgrid.people.scoping import scope_prefixes, scope_q

EDITORS = (Role.ADMIN, Role.OPERATOR)  # as territory.services.can_edit_territory
ADMINS = (Role.ADMIN,)


@dataclass(frozen=True)
class Scope:
    field: str
    roles: tuple[str, ...]


SCOPES: dict[str, Scope] = {
    "territory.area": Scope("code", EDITORS),
    "territory.grid": Scope("code", EDITORS),
    "territory.microgrid": Scope("code", EDITORS),
    "field.keyplace": Scope("scope_code", EDITORS),
    "people.center": Scope("area__code", ADMINS),
    "people.department": Scope("area__code", ADMINS),
    "people.roleassignment": Scope("area__code", ADMINS),
    "people.gridmember": Scope("grid__code", ADMINS),
    "people.gridadviser": Scope("grid__code", ADMINS),
    "public.emergencydevice": Scope("grid__code", EDITORS),
    "cases.admissionitem": Scope("department__area__code", ADMINS),
}


def _superuser(request) -> bool:
    user = request.user
    return bool(user.is_active and user.is_superuser)


class SuperuserOnlyAdmin:
    """Invisible and closed to everyone but superusers."""

    def has_module_permission(self, request):
        return _superuser(request) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return _superuser(request) and super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args):
        return _superuser(request) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return _superuser(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return _superuser(request) and super().has_delete_permission(request, obj)


class ScopedAdmin:
    """Rows, objects and foreign-key choices limited to the user's scope."""

    scope: Scope

    def _q(self, request, scope: Scope):
        return scope_q(request.user, scope.field, roles=scope.roles)

    def _has_scope(self, request) -> bool:
        prefixes = scope_prefixes(request.user, roles=self.scope.roles)
        return prefixes is None or bool(prefixes)

    def _obj_in_scope(self, request, obj) -> bool:
        if obj is None or _superuser(request):
            return True
        return type(obj)._default_manager.filter(self._q(request, self.scope), pk=obj.pk).exists()

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs if _superuser(request) else qs.filter(self._q(request, self.scope))

    def has_module_permission(self, request):
        return super().has_module_permission(request) and (
            _superuser(request) or self._has_scope(request)
        )

    def has_view_permission(self, request, obj=None):
        return (
            super().has_view_permission(request, obj)
            and (_superuser(request) or self._has_scope(request))
            and self._obj_in_scope(request, obj)
        )

    def has_add_permission(self, request, *args):
        return super().has_add_permission(request, *args) and (
            _superuser(request) or self._has_scope(request)
        )

    def has_change_permission(self, request, obj=None):
        return (
            super().has_change_permission(request, obj)
            and (_superuser(request) or self._has_scope(request))
            and self._obj_in_scope(request, obj)
        )

    def has_delete_permission(self, request, obj=None):
        return (
            super().has_delete_permission(request, obj)
            and (_superuser(request) or self._has_scope(request))
            and self._obj_in_scope(request, obj)
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        related = SCOPES.get(db_field.related_model._meta.label_lower)
        if related is not None and not _superuser(request):
            kwargs["queryset"] = db_field.related_model._default_manager.filter(
                # the choices follow this admin's roles: an operator may not pick areas
                # through a role they do not hold here
                scope_q(request.user, related.field, roles=self.scope.roles)
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


def scope_admin_site(site: admin.AdminSite = admin.site) -> None:
    """Replace each registered ModelAdmin by its scoped (or superuser-only) subclass."""
    for model, model_admin in list(site._registry.items()):
        cls = type(model_admin)
        if issubclass(cls, ScopedAdmin | SuperuserOnlyAdmin):
            continue
        scope = SCOPES.get(model._meta.label_lower)
        if scope is not None:
            new = type(cls.__name__, (ScopedAdmin, cls), {"scope": scope})
        else:
            new = type(cls.__name__, (SuperuserOnlyAdmin, cls), {})
        site._registry[model] = new(model, site)
