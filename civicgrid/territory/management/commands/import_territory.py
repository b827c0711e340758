"""`manage.py import_territory FILE`: areas, grids and micro-grids from GeoJSON or a zipped Shapefile.

Always checks the whole file first; writes only when there is no error (all or nothing).
Exit code 0 on success (or a clean dry run), 1 when the file has errors, 2 on bad options.
"""

from __future__ import annotations

import json
import sys
import time

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicgrid.core.errors import DomainError
from civicgrid.core.management.base import TranslatedCommand
from civicgrid.territory.io import CRS_CHOICES, import_territory


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Import areas (12-digit codes), grids (15) and micro-grids (17) from a GeoJSON "
        "FeatureCollection or a zipped Shapefile with properties code, name, kind, households, "
        "population. Nothing is written if any feature has an error."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help=gettext_lazy("A .geojson/.json file or a .zip Shapefile."))
        parser.add_argument(
            "--dry-run", action="store_true", help=gettext_lazy("Check and report only.")
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help=gettext_lazy("Accept overlaps between siblings (administrators only)."),
        )
        parser.add_argument(
            "--repair",
            action="store_true",
            help=gettext_lazy("Repair invalid polygons (make_valid) instead of refusing them."),
        )
        parser.add_argument(
            "--user",
            metavar="USERNAME",
            help=gettext_lazy(
                "Act as this user (their scope and role apply). Without it the command acts "
                "as the system, with full rights."
            ),
        )
        parser.add_argument(
            "--crs",
            choices=CRS_CHOICES,
            default="wgs84",
            help=gettext_lazy("Coordinate system of the file (default wgs84)."),
        )
        parser.add_argument(
            "--format", choices=("geojson", "shp"), help=gettext_lazy("Override detection.")
        )
        parser.add_argument(
            "--no-update",
            action="store_true",
            help=gettext_lazy("Refuse codes that already exist instead of updating them."),
        )
        parser.add_argument(
            "--json", action="store_true", help=gettext_lazy("Print the plan as JSON.")
        )

    def handle(self, *args, **opts):
        actor = None
        if opts["user"]:
            actor = get_user_model().objects.filter(username=opts["user"]).first()
            if actor is None:
                raise CommandError(_("No user named %(u)s.") % {"u": opts["user"]}, returncode=2)
        started = time.perf_counter()
        try:
            with open(opts["file"], "rb") as fh:
                data = fh.read()
            plan = import_territory(
                data,
                filename=opts["file"],
                fmt=opts["format"],
                actor=actor,
                dry_run=opts["dry_run"],
                force=opts["force"],
                repair=opts["repair"],
                crs=opts["crs"],
                update_existing=not opts["no_update"],
            )
        except OSError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}", returncode=2) from exc
        elapsed = time.perf_counter() - started

        if opts["json"]:
            self.stdout.write(json.dumps(plan.as_dict(), ensure_ascii=False, indent=2))
        else:
            self._report(plan, opts, elapsed)
        if plan.errors:
            sys.stdout.flush()
            raise CommandError(
                _("%(n)d error(s); nothing was imported.") % {"n": len(plan.errors)},
                returncode=1,
            )

    def _report(self, plan, opts, elapsed: float) -> None:
        s = plan.summary()
        self.stdout.write(
            _(
                "%(features)d features: %(create)d to create, %(update)d to update, "
                "%(unchanged)d unchanged, %(errors)d error(s) (%(sec).1f s)."
            )
            % {**s, "sec": elapsed}
        )
        for row in plan.updates:
            changes = ", ".join(f"{k}: {a} → {b}" for k, (a, b) in row.changes.items())
            self.stdout.write(f"  ~ #{row.number} {row.code} {row.name}: {changes}")
        for row in plan.rows:
            if row.repaired:
                self.stdout.write(
                    "  "
                    + _("repaired #%(n)d %(code)s: %(reason)s")
                    % {"n": row.number, "code": row.code, "reason": row.repaired}
                )
        for o in plan.forced_overlaps:
            self.stdout.write(
                "  "
                + _("forced overlap %(a)s × %(b)s: %(m2).1f m² at (%(lng)s, %(lat)s)")
                % {"a": o["a"], "b": o["b"], "m2": o["area_m2"], "lng": o["lng"], "lat": o["lat"]}
            )
        for e in plan.errors:
            self.stderr.write(
                "  "
                + _("feature %(n)s %(code)s: %(error)s — %(message)s")
                % {"n": e.number, "code": e.code or "?", "error": e.error, "message": e.message}
            )
        if plan.applied:
            self.stdout.write(self.style.SUCCESS(_("Imported.")))
        elif opts["dry_run"] and not plan.errors:
            self.stdout.write(_("Dry run: nothing written."))
