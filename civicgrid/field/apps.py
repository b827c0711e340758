from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FieldConfig(AppConfig):
    name = "civicgrid.field"
    label = "field"
    verbose_name = _("Field")

    def ready(self) -> None:
        from . import latest

        latest.connect()
