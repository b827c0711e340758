from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class BasedataConfig(AppConfig):
    name = "civicgrid.basedata"
    label = "basedata"
    verbose_name = _("Base data")

    def ready(self) -> None:
        from django.core.signals import setting_changed

        from . import crypto

        setting_changed.connect(crypto.reset_keyring, dispatch_uid="basedata_pii_keys")
        # A flush (e.g. after a transactional test) empties the tables the data migration
        # filled; Django sends post_migrate after every flush, so the built-in data comes back.
        post_migrate.connect(_builtin_data, sender=self, dispatch_uid="basedata_builtin_data")
        # The field app's key places become base-data places and risk points (keyplaces.py).
        from django.db.models.signals import post_save

        from . import keyplaces

        post_save.connect(
            keyplaces.on_keyplace_saved,
            sender="field.KeyPlace",
            dispatch_uid="basedata_adopt_keyplace",
        )


def _builtin_data(sender, using="default", **kwargs) -> None:
    from django.db import DatabaseError

    from .tagkinds import ensure_builtin_data

    try:
        ensure_builtin_data()
    except DatabaseError:  # migrating backwards, tables not there yet
        pass
