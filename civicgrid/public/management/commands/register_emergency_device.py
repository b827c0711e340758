"""Register a one-key call device and print its token (shown once; only its hash is kept)."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.utils.translation import gettext_lazy

from civicgrid.core.errors import DomainError
from civicgrid.core.management.base import TranslatedCommand
from civicgrid.public.services import emergency_device_register


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Register a one-key emergency call device (一键呼叫) at a home and print its token."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--holder",
            required=True,
            help=gettext_lazy("Name of the person the device belongs to."),
        )
        parser.add_argument("--address", required=True, help=gettext_lazy("Address of the home."))
        parser.add_argument(
            "--lat", type=float, required=True, help=gettext_lazy("Latitude of the home.")
        )
        parser.add_argument(
            "--lng", type=float, required=True, help=gettext_lazy("Longitude of the home.")
        )
        parser.add_argument(
            "--crs",
            default="wgs84",
            choices=["wgs84", "gcj02", "bd09"],
            help=gettext_lazy("Coordinate system of --lat/--lng (default %(default)s)."),
        )
        parser.add_argument("--phone", default="", help=gettext_lazy("Phone of the holder."))
        parser.add_argument(
            "--contact-name", default="", help=gettext_lazy("Emergency contact's name.")
        )
        parser.add_argument(
            "--contact-phone", default="", help=gettext_lazy("Emergency contact's phone.")
        )
        parser.add_argument(
            "--label", default="", help=gettext_lazy("Short label shown to operators.")
        )

    def handle(self, *args, **o):
        try:
            device, token = emergency_device_register(
                holder_name=o["holder"],
                address=o["address"],
                lat=o["lat"],
                lng=o["lng"],
                crs=o["crs"],
                phone=o["phone"],
                contact_name=o["contact_name"],
                contact_phone=o["contact_phone"],
                label=o["label"],
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        grid = device.grid.code if device.grid else "-"
        self.stdout.write(f"device {device.pk} in grid {grid}")
        self.stdout.write(f"token (shown once): {token}")
