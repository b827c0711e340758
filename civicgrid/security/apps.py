from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SecurityConfig(AppConfig):
    name = "civicgrid.security"
    label = "security"
    verbose_name = _("Security")

    def ready(self) -> None:
        from django.contrib import admin

        from . import checks, signals  # noqa: F401  (registers checks and handlers)
        from .admin_scope import scope_admin_site
        from .forms import AdminLoginForm

        # The admin registered every ModelAdmin in its own ready(), which ran before this one.
        scope_admin_site()
        admin.site.login_form = AdminLoginForm
