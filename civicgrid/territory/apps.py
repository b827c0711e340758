from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TerritoryConfig(AppConfig):
    name = "civicgrid.territory"
    label = "territory"
    verbose_name = _("Territory")

    def ready(self) -> None:
        # Connect the Locate index's signal receivers (request/task start, grid saves) in every
        # process from the start, not only after the first locate.
        from . import spatial  # noqa: F401
