from __future__ import annotations

from functools import cached_property

import shapely
from django.db import models
from django.utils.translation import gettext_lazy as _

from . import codes


class Bounded(models.Model):
    """A boundary polygon stored as WKB (works on SQLite and PostgreSQL) plus its bounding box."""

    boundary = models.BinaryField(_("boundary (WKB)"), null=True, blank=True, editable=False)
    min_lng = models.FloatField(null=True, blank=True, editable=False)
    min_lat = models.FloatField(null=True, blank=True, editable=False)
    max_lng = models.FloatField(null=True, blank=True, editable=False)
    max_lat = models.FloatField(null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True

    @cached_property
    def geometry(self):
        """The boundary as a shapely geometry (lng/lat, WGS-84), or None."""
        return shapely.from_wkb(bytes(self.boundary)) if self.boundary else None

    def set_geometry(self, geom) -> None:
        if geom is None or geom.is_empty:
            self.boundary = None
            self.min_lng = self.min_lat = self.max_lng = self.max_lat = None
        else:
            self.boundary = shapely.to_wkb(geom)
            self.min_lng, self.min_lat, self.max_lng, self.max_lat = geom.bounds
        self.__dict__.pop("geometry", None)


class Area(Bounded):
    class Level(models.IntegerChoices):
        CITY = codes.CITY, _("City")
        COUNTY = codes.COUNTY, _("District/County")
        TOWNSHIP = codes.TOWNSHIP, _("Township/Street")
        VILLAGE = codes.VILLAGE, _("Village/Community")

    code = models.CharField(_("code"), max_length=12, unique=True)
    name = models.CharField(_("name"), max_length=100)
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )

    class Meta:
        verbose_name = _("area")
        verbose_name_plural = _("areas")
        ordering = ["code"]
        indexes = [models.Index(fields=["level", "code"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def prefix(self) -> str:
        """Every descendant area, grid and micro-grid code starts with this prefix."""
        return self.code[: codes.PREFIX_LEN[self.level]]


class Grid(Bounded):
    class Kind(models.TextChoices):
        URBAN = "urban", _("Urban grid")
        RURAL = "rural", _("Rural grid")
        DEDICATED = "dedicated", _("Dedicated grid")

    code = models.CharField(_("code"), max_length=15, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.URBAN)
    dedicated_type = models.CharField(
        _("dedicated type"),
        max_length=30,
        blank=True,
        help_text=_(
            "For dedicated grids: school, hospital, park, enterprise, market, building complex."
        ),
    )
    area = models.ForeignKey(
        Area, verbose_name=_("community"), on_delete=models.PROTECT, related_name="grids"
    )
    households = models.PositiveIntegerField(_("households"), default=0)
    population = models.PositiveIntegerField(_("population"), default=0)
    duty = models.TextField(_("duties"), blank=True)

    class Meta:
        verbose_name = _("grid")
        verbose_name_plural = _("grids")
        ordering = ["code"]
        indexes = [
            models.Index(fields=["min_lng", "max_lng", "min_lat", "max_lat"], name="grid_bbox")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class MicroGrid(Bounded):
    code = models.CharField(_("code"), max_length=17, unique=True)
    name = models.CharField(_("name"), max_length=100)
    grid = models.ForeignKey(
        Grid, verbose_name=_("grid"), on_delete=models.CASCADE, related_name="micro_grids"
    )
    households = models.PositiveIntegerField(_("households"), default=0)

    class Meta:
        verbose_name = _("micro-grid")
        verbose_name_plural = _("micro-grids")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class TerritoryVersion(models.Model):
    """One row whose value is bumped in the same transaction as any grid geometry change.

    Every process compares it with the version its in-memory spatial index was built from,
    so an index is never used stale across processes.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    value = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("territory version")
        verbose_name_plural = _("territory version")

    def __str__(self) -> str:
        return str(self.value)
