"""Compile every django.po under the project to django.mo with polib (no GNU gettext needed)."""

from pathlib import Path

import polib
from django.conf import settings
from django.utils.translation import gettext_lazy

from civicgrid.core.management.base import TranslatedCommand


class Command(TranslatedCommand):
    help = gettext_lazy("Compile the project's .po translation catalogues to .mo files.")

    def handle(self, *args, **options):
        root = Path(settings.BASE_DIR) / "civicgrid"
        count = 0
        for po_path in sorted(root.rglob("LC_MESSAGES/django.po")):
            mo_path = po_path.with_suffix(".mo")
            if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
                continue
            polib.pofile(str(po_path)).save_as_mofile(str(mo_path))
            count += 1
        if options["verbosity"] > 1:
            self.stdout.write(f"compiled {count} catalogue(s)")
