"""`manage.py coverage_check`: overlaps and gaps between sibling grids / child areas.

Exit code 0 when every parent is clean, 1 when any overlap, gap or spill is found, 2 on bad input,
so that the check can gate an import script or a nightly job.
"""

from __future__ import annotations

import json
import time

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicgrid.core.management.base import TranslatedCommand
from civicgrid.territory.coverage import CoverageReport, check_all
from civicgrid.territory.models import Area


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Check that grids (and child areas) do not overlap and cover their parent: every overlap, "
        "gap and spill with its area in m² and a point inside it. Exit code 1 if any is found."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--area",
            metavar="CODE",
            help=gettext_lazy("Only this area and everything under it (12 digits)."),
        )
        parser.add_argument(
            "--min-area",
            type=float,
            default=1.0,
            metavar="M2",
            help=gettext_lazy("Ignore pieces smaller than this many m² (default 1)."),
        )
        parser.add_argument(
            "--min-width",
            type=float,
            default=0.0,
            metavar="M",
            help=gettext_lazy(
                "Ignore slivers narrower than this many metres everywhere (default 0: off)."
            ),
        )
        parser.add_argument(
            "--json", action="store_true", help=gettext_lazy("Print one JSON document.")
        )

    def handle(self, *args, **opts):
        min_area, min_width = opts["min_area"], opts["min_width"]
        if min_area < 0:
            raise CommandError(_("--min-area must be 0 or more."), returncode=2)
        if min_width < 0:
            raise CommandError(_("--min-width must be 0 or more."), returncode=2)
        root = None
        if opts["area"]:
            root = Area.objects.filter(code=opts["area"]).first()
            if root is None:
                raise CommandError(
                    _("No area with code %(code)s.") % {"code": opts["area"]}, returncode=2
                )
        started = time.perf_counter()
        reports = check_all(root, min_area_m2=min_area, min_width_m=min_width)
        seconds = time.perf_counter() - started
        totals = {
            "parents": len(reports),
            "overlaps": sum(len(r.overlaps) for r in reports),
            "gaps": sum(len(r.gaps) for r in reports),
            "outside": sum(len(r.outside) for r in reports),
        }
        problems = totals["overlaps"] + totals["gaps"] + totals["outside"]
        if opts["json"]:
            doc = {
                "area": opts["area"],
                "min_area_m2": min_area,
                "min_width_m": min_width,
                "seconds": round(seconds, 3),
                **totals,
                "ok": problems == 0,
                "reports": [r.as_dict() for r in reports if not r.ok or r.notes],
            }
            self.stdout.write(json.dumps(doc, ensure_ascii=False, indent=1))
        else:
            for report in reports:
                if not report.ok or (opts["verbosity"] >= 2 and report.notes):
                    self._print(report, opts["verbosity"])
            self.stdout.write(
                _(
                    "%(parents)d parents checked in %(seconds).2f s: %(overlaps)d overlaps, "
                    "%(gaps)d gaps, %(outside)d spills (tolerance %(min_area)g m²)."
                )
                % {**totals, "seconds": seconds, "min_area": min_area}
            )
        if problems:
            raise CommandError(_("%(n)d coverage problems found.") % {"n": problems}, returncode=1)

    def _print(self, r: CoverageReport, verbosity: int) -> None:
        ratio = r.covered_ratio
        head = f"{r.code} {r.name}"
        boundary = {
            "polygon": _("its own polygon"),
            "children": _("union of its children (no polygon of its own)"),
        }.get(r.boundary, _("none"))
        detail = _("%(n)d children, boundary: %(boundary)s") % {
            "n": r.children,
            "boundary": boundary,
        }
        if r.gaps_checked and ratio is not None:
            detail += _(", covered %(pct).3f %%") % {"pct": ratio * 100}
        self.stdout.write(self.style.MIGRATE_HEADING(f"{head}  [{detail}]"))
        for o in r.overlaps:
            self.stdout.write(
                self.style.ERROR(
                    "  "
                    + _("OVERLAP %(a)s × %(b)s  %(m2).1f m²  at lng %(lng).6f, lat %(lat).6f")
                    % {"a": o.a, "b": o.b, "m2": o.area_m2, "lng": o.lng, "lat": o.lat}
                )
            )
        for g in r.gaps:
            self.stdout.write(
                self.style.WARNING(
                    "  "
                    + _("GAP     %(m2).1f m²  at lng %(lng).6f, lat %(lat).6f")
                    % {"m2": g.area_m2, "lng": g.lng, "lat": g.lat}
                )
            )
        for o in r.outside:
            self.stdout.write(
                self.style.WARNING(
                    "  "
                    + _(
                        "OUTSIDE %(code)s  %(m2).1f m² beyond the parent at lng %(lng).6f, lat %(lat).6f"
                    )
                    % {"code": o.code, "m2": o.area_m2, "lng": o.lng, "lat": o.lat}
                )
            )
        if verbosity >= 1:
            for note in r.notes:
                self.stdout.write("  " + _("note: %(note)s") % {"note": note})
