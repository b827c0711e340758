"""Analytics tables: background exports, early-warning flags and the working-hours table.

The indicators themselves are not stored: they are computed from ``cases`` on every request
(see ``indicators.py``), so there is no second copy of the truth to drift.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ExportKind(models.TextChoices):
    CASES = "cases", _("Cases")
    INDICATORS = "indicators", _("Indicators")
    ASSESSMENT = "assessment", _("Grid-worker assessment")


class ExportFormat(models.TextChoices):
    XLSX = "xlsx", _("Excel (.xlsx)")
    CSV = "csv", _("CSV")


class ExportState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


def export_path(instance, filename: str) -> str:
    """A random name: the file leaves only through the owner's download view, and its stored
    name tells nothing (user, id or period) that would let anyone guess another's."""
    dot = filename.rfind(".")
    suffix = filename[dot:].lower()[:6] if dot >= 0 else ""
    return f"exports/{secrets.token_urlsafe(24)}{suffix}"


class Export(models.Model):
    """One export requested by a user, written by the task worker; only that user downloads it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.CASCADE,
        related_name="exports",
    )
    kind = models.CharField(_("kind"), max_length=12, choices=ExportKind.choices)
    fmt = models.CharField(_("format"), max_length=4, choices=ExportFormat.choices)
    params = models.JSONField(_("filters"), default=dict, blank=True)
    state = models.CharField(
        _("state"), max_length=8, choices=ExportState.choices, default=ExportState.QUEUED
    )
    total = models.PositiveIntegerField(_("rows to write"), default=0)
    done = models.PositiveIntegerField(_("rows written"), default=0)
    file = models.FileField(_("file"), upload_to=export_path, max_length=200, blank=True)
    filename = models.CharField(_("file name"), max_length=120, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="export_user_recent")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.get_fmt_display()} #{self.pk}"

    @property
    def percent(self) -> int:
        if self.state == ExportState.DONE:
            return 100
        if not self.total:
            return 0
        return min(99, int(self.done * 100 / self.total))

    @property
    def is_finished(self) -> bool:
        return self.state in (ExportState.DONE, ExportState.FAILED)


class EarlyWarning(models.Model):
    """A category × area whose count on one day was far above its own recent baseline.

    One row per (day, category, area): the row is the "notified once per day per pair" lock.
    """

    day = models.DateField(_("day"))
    category = models.ForeignKey(
        "cases.Category",
        verbose_name=_("category"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    area = models.ForeignKey(
        "territory.Area", verbose_name=_("area"), on_delete=models.CASCADE, related_name="+"
    )
    area_code = models.CharField(_("area code"), max_length=12, editable=False)
    count = models.PositiveIntegerField(_("count that day"))
    baseline = models.FloatField(_("baseline (mean per day)"))
    p_value = models.FloatField(_("p-value"))
    created_at = models.DateTimeField(_("flagged at"), default=timezone.now)
    notified = models.PositiveIntegerField(_("people notified"), default=0)

    class Meta:
        verbose_name = _("early warning")
        verbose_name_plural = _("early warnings")
        ordering = ["-day", "p_value"]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "category", "area"], name="early_warning_once_per_day"
            )
        ]
        indexes = [models.Index(fields=["day", "area_code"], name="early_warning_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.area_code} {self.category_id}: {self.count}"


class WorkDay(models.Model):
    """One UTC day of the working-hours calendar, so that durations aggregate in the database.

    ``day`` is the number of days since 1970-01-01 UTC (⌊epoch / 86400⌋, an integer key both
    back ends join on cheaply); ``hours_before`` the working hours accumulated from the table's
    first day up to that UTC midnight; ``s1…s4``/``e1…e4`` the office periods falling on that UTC
    day, in seconds after its midnight (unused pairs are 0–0). Then, with sec = t − 86400·day,

        W(t) = hours_before + Σ clamp(sec − sᵢ, 0, eᵢ − sᵢ) / 3600

    and the working hours between a and b are W(b) − W(a). Built from
    ``civicgrid.cases.calendar`` (holidays, make-up workdays, office periods, time zone) by
    ``workcalendar.ensure``; a derived table, never edited by hand.
    """

    day = models.IntegerField(_("UTC day number"), primary_key=True)
    hours_before = models.FloatField(_("working hours before"))
    s1 = models.IntegerField(default=0)
    e1 = models.IntegerField(default=0)
    s2 = models.IntegerField(default=0)
    e2 = models.IntegerField(default=0)
    s3 = models.IntegerField(default=0)
    e3 = models.IntegerField(default=0)
    s4 = models.IntegerField(default=0)
    e4 = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("working-hours day")
        verbose_name_plural = _("working-hours days")
        ordering = ["day"]

    def __str__(self) -> str:
        return str(self.day)

    def pieces(self) -> list[tuple[int, int]]:
        pairs = [(self.s1, self.e1), (self.s2, self.e2), (self.s3, self.e3), (self.s4, self.e4)]
        return [(s, e) for s, e in pairs if e > s]


class WorkCalendarState(models.Model):
    """A single row (id=1): what the ``WorkDay`` table was built from and the days it covers."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    fingerprint = models.CharField(max_length=64, blank=True)
    first_day = models.DateField(null=True, blank=True)
    last_day = models.DateField(null=True, blank=True)
    built_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("working-hours table")
        verbose_name_plural = _("working-hours table")

    def __str__(self) -> str:
        return f"{self.first_day}–{self.last_day}"
