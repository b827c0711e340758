"""Manage the monthly partitions of the track point table (PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import CommandError
from django.utils.translation import gettext_lazy

from civicgrid.core.errors import DomainError
from civicgrid.core.management.base import TranslatedCommand
from civicgrid.field import partitions


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Convert field_trackpoint to monthly range partitions, create the coming months, and "
        "drop (optionally archive) months older than the retention. Run monthly from cron."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--convert", action="store_true", help=gettext_lazy("Partition the plain table.")
        )
        parser.add_argument(
            "--ahead",
            type=int,
            default=2,
            help=gettext_lazy("Months to create ahead (default %(default)s)."),
        )
        parser.add_argument(
            "--keep-months",
            type=int,
            default=None,
            help=gettext_lazy("Drop partitions older than this many months."),
        )
        parser.add_argument(
            "--archive-dir",
            type=Path,
            default=None,
            help=gettext_lazy("Write each dropped month as CSV.gz into this directory."),
        )
        parser.add_argument(
            "--list", action="store_true", help=gettext_lazy("List the partitions.")
        )

    def handle(self, *args, **opts):
        try:
            if opts["convert"]:
                made = partitions.convert(months_ahead=opts["ahead"])
            elif partitions.is_partitioned():
                made = partitions.ensure(months_ahead=opts["ahead"])
            else:
                raise CommandError("field_trackpoint is not partitioned: run with --convert.")
            for name in made:
                self.stdout.write(f"created {name}")
            if opts["keep_months"] is not None:
                for name in partitions.expire(
                    keep_months=opts["keep_months"], archive_dir=opts["archive_dir"]
                ):
                    self.stdout.write(f"dropped {name}")
            if opts["list"]:
                for p in partitions.partitions():
                    self.stdout.write(f"{p.name}  {p.start} – {p.end}")
        except DomainError as exc:
            raise CommandError(exc.message) from None
