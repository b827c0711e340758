"""Adopt the field app's key places as base-data places and risk points (idempotent)."""

from django.utils.translation import gettext_lazy

from civicgrid.basedata.keyplaces import adopt_all
from civicgrid.core.management.base import TranslatedCommand


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Register every field key place not yet in base data as a place or risk point."
    )

    def handle(self, *args, **opts):
        counts = adopt_all()
        self.stdout.write(
            f"basedata_keyplaces: {counts['place']} places, {counts['riskpoint']} risk points"
        )
