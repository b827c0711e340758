"""`manage.py export_territory FILE`: areas, grids and micro-grids as GeoJSON or a zipped Shapefile."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicgrid.core.management.base import TranslatedCommand
from civicgrid.territory.io import CRS_CHOICES, export_territory
from civicgrid.territory.models import Area


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Export areas, grids and micro-grids (optionally one area's subtree) with properties "
        "code, name, kind, households, population; the file imports back unchanged."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help=gettext_lazy("Output file; '-' writes GeoJSON to stdout."))
        parser.add_argument(
            "--area", metavar="CODE", help=gettext_lazy("Only this area and its subtree.")
        )
        parser.add_argument(
            "--format",
            choices=("geojson", "shp"),
            help=gettext_lazy("Default: from the file name (.zip → shp), else geojson."),
        )
        parser.add_argument(
            "--user", metavar="USERNAME", help=gettext_lazy("Only what this user may see.")
        )
        parser.add_argument(
            "--no-micro", action="store_true", help=gettext_lazy("Leave out micro-grids.")
        )
        parser.add_argument(
            "--crs",
            choices=CRS_CHOICES,
            default="wgs84",
            help=gettext_lazy("Coordinate system of the file (default wgs84)."),
        )

    def handle(self, *args, **opts):
        path = opts["file"]
        fmt = opts["format"] or ("shp" if path.lower().endswith(".zip") else "geojson")
        if path == "-" and fmt != "geojson":
            raise CommandError(_("Only GeoJSON can be written to stdout."), returncode=2)
        root = None
        if opts["area"]:
            root = Area.objects.filter(code=opts["area"]).first()
            if root is None:
                raise CommandError(_("No area %(code)s.") % {"code": opts["area"]}, returncode=2)
        actor = None
        if opts["user"]:
            actor = get_user_model().objects.filter(username=opts["user"]).first()
            if actor is None:
                raise CommandError(_("No user named %(u)s.") % {"u": opts["user"]}, returncode=2)
        data = export_territory(
            fmt=fmt, root=root, actor=actor, include_micro=not opts["no_micro"], crs=opts["crs"]
        )
        if path == "-":
            self.stdout.write(data.decode("utf-8"), ending="")
            return
        with open(path, "wb") as fh:
            fh.write(data)
        self.stderr.write(
            _("Wrote %(path)s (%(kb)d KB).") % {"path": path, "kb": len(data) // 1024}
        )
