from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "civicgrid.core"
    label = "core"
    verbose_name = _("Common")

    def ready(self):
        from django.core.signals import setting_changed

        from . import checks, conf  # noqa: F401  (registers the system checks)

        setting_changed.connect(conf.clear_cache, dispatch_uid="civicgrid.core.conf")
