from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "civicgrid.cases"
    label = "cases"
    verbose_name = _("Cases")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from . import calendar
        from .models import Holiday

        # An admin's calendar edit applies at once in this process (others within a minute).
        def clear(**kwargs):
            calendar.clear_cache()

        post_save.connect(clear, sender=Holiday, weak=False, dispatch_uid="cases_holiday_saved")
        post_delete.connect(clear, sender=Holiday, weak=False, dispatch_uid="cases_holiday_deleted")
