"""Admin pages: upload a territory file, see the dry-run plan, confirm to apply; download exports.

The upload is kept in the default file storage (MEDIA_ROOT/territory_imports/<random>.<ext>)
between the dry run and the confirmation, and the session holds its random name, so only the
uploader can apply it and a large file never travels through the session. The file is deleted
on apply or cancel; uploads left behind are swept after a day.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicgrid.core.errors import DomainError
from civicgrid.people.scoping import in_scope

from ..models import Area
from ..services import is_territory_admin, require_editor
from . import CRS_CHOICES, export_territory, import_territory

UPLOAD_DIR = "territory_imports"
SESSION_KEY = "territory_import"
MAX_UPLOAD = 100 * 1024 * 1024
STALE_AFTER = timedelta(days=1)
ROWS_SHOWN = 500  # longer plans are summarised; the CLI prints everything

CRS_LABELS = {
    "wgs84": gettext_lazy("WGS-84 (GPS, most GIS files)"),
    "gcj02": gettext_lazy("GCJ-02 (Amap / Tencent / WeChat maps)"),
    "bd09": gettext_lazy("BD-09 (Baidu maps)"),
}


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy(
            "GeoJSON FeatureCollection (.geojson/.json) or zipped Shapefile (.zip with .shp, "
            ".shx, .dbf, .prj). Properties: code, name, kind, households, population."
        ),
    )
    crs = forms.ChoiceField(
        label=gettext_lazy("Coordinate system"),
        choices=[(c, CRS_LABELS[c]) for c in CRS_CHOICES],
        initial="wgs84",
    )
    repair = forms.BooleanField(
        label=gettext_lazy("Repair invalid polygons automatically"), required=False
    )
    update_existing = forms.BooleanField(
        label=gettext_lazy("Update existing codes (otherwise they are errors)"),
        required=False,
        initial=True,
    )
    force = forms.BooleanField(
        label=gettext_lazy("Accept overlaps between siblings (administrators only)"),
        required=False,
    )

    def clean_file(self):
        f = self.cleaned_data["file"]
        if f.size > MAX_UPLOAD:
            raise forms.ValidationError(
                _("The file is larger than %(mb)d MB.") % {"mb": MAX_UPLOAD >> 20}
            )
        name = f.name.lower()
        if not name.endswith((".zip", ".geojson", ".json")):
            raise forms.ValidationError(_("Upload a .geojson, .json or .zip file."))
        return f


def _sweep_stale() -> None:
    try:
        _dirs, files = default_storage.listdir(UPLOAD_DIR)
    except (FileNotFoundError, NotImplementedError, OSError):
        return
    limit = timezone.now() - STALE_AFTER
    for name in files:
        path_ = f"{UPLOAD_DIR}/{name}"
        try:
            if default_storage.get_modified_time(path_) < limit:
                default_storage.delete(path_)
        except (FileNotFoundError, NotImplementedError, OSError):
            continue


def _discard(request) -> None:
    pending = request.session.pop(SESSION_KEY, None)
    if pending:
        default_storage.delete(pending["path"])


class ImportAdminMixin:
    """Adds <changelist>/import/ and <changelist>/export/ and a button on the changelist."""

    change_list_template = "territory/admin/import_changelist.html"

    def get_urls(self):
        info = self.model._meta.app_label, self.model._meta.model_name
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.territory_import_view),
                name=f"{info[0]}_{info[1]}_import",
            ),
            path(
                "export/",
                self.admin_site.admin_view(self.territory_export_view),
                name=f"{info[0]}_{info[1]}_export",
            ),
            *super().get_urls(),
        ]

    def _context(self, request, **extra):
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Import areas and grids"),
            "is_admin": is_territory_admin(request.user),
            "rows_shown": ROWS_SHOWN,
            **extra,
        }

    def territory_import_view(self, request):
        try:
            require_editor(request.user)
        except DomainError as exc:
            raise PermissionDenied(exc.message) from exc
        action = request.POST.get("action") if request.method == "POST" else None
        if action == "cancel":
            _discard(request)
            messages.info(request, _("Import cancelled; nothing was written."))
            return HttpResponseRedirect(request.path)
        if action == "apply":
            return self._apply(request)
        form = UploadForm(request.POST or None, request.FILES or None)
        if action == "upload" and form.is_valid():
            return self._upload(request, form)
        return TemplateResponse(
            request, "territory/admin/import.html", self._context(request, form=form)
        )

    def _options(self, request, cleaned) -> dict:
        return {
            "crs": cleaned["crs"],
            "repair": bool(cleaned["repair"]),
            "update_existing": bool(cleaned["update_existing"]),
            "force": bool(cleaned["force"]),
        }

    def _upload(self, request, form):
        _discard(request)
        _sweep_stale()
        upload = form.cleaned_data["file"]
        ext = ".zip" if upload.name.lower().endswith(".zip") else ".geojson"
        data = upload.read()
        stored = default_storage.save(
            f"{UPLOAD_DIR}/{secrets.token_urlsafe(16)}{ext}", ContentFile(data)
        )
        options = self._options(request, form.cleaned_data)
        request.session[SESSION_KEY] = {"path": stored, "name": upload.name, "options": options}
        return self._render_plan(request, data, upload.name, options, dry_run=True)

    def _apply(self, request):
        pending = request.session.get(SESSION_KEY)
        if not pending or not default_storage.exists(pending["path"]):
            messages.error(request, _("The uploaded file has expired; upload it again."))
            return HttpResponseRedirect(request.path)
        with default_storage.open(pending["path"], "rb") as fh:
            data = fh.read()
        response = self._render_plan(
            request, data, pending["name"], pending["options"], dry_run=False
        )
        plan = response.context_data.get("plan") if hasattr(response, "context_data") else None
        if plan is not None and plan.applied:
            _discard(request)
            s = plan.summary()
            messages.success(
                request,
                _(
                    "Imported %(name)s: %(create)d created, %(update)d updated, %(unchanged)d "
                    "unchanged."
                )
                % {"name": pending["name"], **s},
            )
            return HttpResponseRedirect(
                reverse(
                    f"admin:{self.model._meta.app_label}_{self.model._meta.model_name}_changelist"
                )
            )
        return response

    def _render_plan(self, request, data: bytes, name: str, options: dict, *, dry_run: bool):
        try:
            plan = import_territory(
                data, filename=name, actor=request.user, dry_run=dry_run, **options
            )
        except DomainError as exc:
            _discard(request)
            form = UploadForm(initial=options)
            return TemplateResponse(
                request,
                "territory/admin/import.html",
                self._context(request, form=form, file_error=exc, filename=name),
                status=400,
            )
        if plan.errors:
            _discard(request)
        return TemplateResponse(
            request,
            "territory/admin/import.html",
            self._context(
                request,
                plan=plan,
                summary=plan.summary(),
                filename=name,
                options=options,
                creates=plan.creates[:ROWS_SHOWN],
                updates=plan.updates[:ROWS_SHOWN],
                errors=plan.errors[:ROWS_SHOWN],
                form=UploadForm(initial=options),
            ),
        )

    def territory_export_view(self, request):
        """GET ?area=CODE&format=geojson|shp&crs=wgs84|gcj02|bd09: a download in the user's scope."""
        fmt = request.GET.get("format", "geojson")
        crs = request.GET.get("crs", "wgs84")
        if fmt not in ("geojson", "shp") or crs not in CRS_CHOICES:
            raise Http404
        root = None
        code = request.GET.get("area", "").strip()
        if code:
            root = Area.objects.filter(code=code).first()
            if root is None or not in_scope(request.user, root.code):
                raise Http404
        if not self.has_view_permission(request):
            raise PermissionDenied
        # Without an area the export is everything the user may see.
        data = export_territory(fmt=fmt, root=root, actor=request.user, crs=crs)
        stem = f"territory-{root.code if root else 'all'}"
        if fmt == "shp":
            response = HttpResponse(data, content_type="application/zip")
            filename = f"{stem}.zip"
        else:
            response = HttpResponse(data, content_type="application/geo+json")
            filename = f"{stem}.geojson"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
