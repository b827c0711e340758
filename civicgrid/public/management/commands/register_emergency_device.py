"""Register a one-key call device and print its token (shown once; only its hash is kept)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from civicgrid.core.errors import DomainError
from civicgrid.public.services import emergency_device_register


class Command(BaseCommand):
    help = "Register a one-key emergency call device (一键呼叫) at a home and print its token."

    def add_arguments(self, parser):
        parser.add_argument("--holder", required=True, help="holder's name")
        parser.add_argument("--address", required=True)
        parser.add_argument("--lat", type=float, required=True)
        parser.add_argument("--lng", type=float, required=True)
        parser.add_argument("--crs", default="wgs84", choices=["wgs84", "gcj02", "bd09"])
        parser.add_argument("--phone", default="")
        parser.add_argument("--contact-name", default="")
        parser.add_argument("--contact-phone", default="")
        parser.add_argument("--label", default="")

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
