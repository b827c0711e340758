"""Writes of the analytics app: requesting exports."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from civicgrid.core.errors import DomainError

from .exports import _period_and_filters
from .models import Export, ExportFormat, ExportKind

PARAM_KEYS = ("period", "date", "start", "end", "area", "category", "source", "department")
EXTRA_KEYS = {ExportKind.INDICATORS: ("by",), ExportKind.ASSESSMENT: ("sort",)}


def export_request(*, kind: str, fmt: str, params: dict, actor) -> Export:
    """Queue an export of ``kind`` in ``fmt`` with the dashboard's filters, run as ``actor``.

    The filters are validated now (a bad or out-of-scope filter is refused before anything is
    queued) and applied again by the worker with the actor's scope at that time.
    """
    if kind not in ExportKind.values:
        raise DomainError(
            "invalid",
            _("kind must be one of %(v)s.") % {"v": ", ".join(ExportKind.values)},
            field="kind",
        )
    if fmt not in ExportFormat.values:
        raise DomainError(
            "invalid",
            _("fmt must be one of %(v)s.") % {"v": ", ".join(ExportFormat.values)},
            field="fmt",
        )
    keys = PARAM_KEYS + EXTRA_KEYS.get(kind, ())
    clean = {k: str(v) for k, v in (params or {}).items() if k in keys and v not in (None, "")}
    period, _filters = _period_and_filters(actor, clean)
    clean["lang"] = translation.get_language() or ""
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    with transaction.atomic():
        export = Export.objects.create(
            user=actor,
            kind=kind,
            fmt=fmt,
            params=clean,
            filename=f"{kind}-{period.label}-{stamp}.{fmt}".replace("~", "_"),
        )
        transaction.on_commit(lambda: _enqueue(export.pk))
    return export


def _enqueue(export_id: int) -> None:
    from .tasks import export_run_task

    export_run_task.enqueue(export_id)
