from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BasedataConfig(AppConfig):
    name = "civicgrid.basedata"
    label = "basedata"
    verbose_name = _("Base data")

    def ready(self) -> None:
        from django.core.signals import setting_changed

        from . import crypto

        setting_changed.connect(crypto.reset_keyring, dispatch_uid="basedata_pii_keys")
