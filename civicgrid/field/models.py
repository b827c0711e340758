"""Field work: key places, patrols with their GPS track, check-ins, offline-delivery receipts.

Track points are the one high-volume table (15,000 workers × a point every 30 s ≈ 14–43 M rows
a day): one narrow row per point, unique on (patrol, recorded_at), which is both the
idempotency key of uploads and the replay index. docs/field.md has the retention and
PostgreSQL partitioning plan.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from civicgrid.territory.models import Grid


class KeyPlaceKind(models.TextChoices):
    KEY_PLACE = "key_place", _("Key place")
    RISK_POINT = "risk_point", _("Risk point")
    CARE_HOME = "care_home", _("Home of a person under care")
    FACILITY = "facility", _("Public facility")


class KeyPlace(models.Model):
    """A point of interest that grid workers check in at (重点场所, 风险点, 关爱对象住所…)."""

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(
        _("kind"), max_length=12, choices=KeyPlaceKind.choices, default=KeyPlaceKind.KEY_PLACE
    )
    grid = models.ForeignKey(
        Grid, verbose_name=_("grid"), on_delete=models.CASCADE, related_name="key_places"
    )
    scope_code = models.CharField(_("scope code"), max_length=17, editable=False)
    lat = models.FloatField(_("latitude"))
    lng = models.FloatField(_("longitude"))
    address = models.CharField(_("address"), max_length=200, blank=True)
    radius_m = models.PositiveSmallIntegerField(
        _("check-in radius (m)"),
        default=100,
        help_text=_("A check-in farther than this from the place is flagged as outside."),
    )
    note = models.TextField(_("note"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("key place")
        verbose_name_plural = _("key places")
        ordering = ["scope_code", "name"]
        indexes = [
            models.Index(
                fields=["scope_code"], name="keyplace_scope", opclasses=["varchar_pattern_ops"]
            )
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.scope_code = self.grid.code
        super().save(*args, **kwargs)


class PatrolState(models.TextChoices):
    ACTIVE = "active", _("On patrol")
    ENDED = "ended", _("Ended")


class Patrol(models.Model):
    """One patrol (巡查) of a grid worker, with running totals kept up to date on each upload."""

    uuid = models.UUIDField(_("client id"), unique=True)
    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("grid worker"),
        on_delete=models.PROTECT,
        related_name="patrols",
        db_index=False,
    )
    # The worker's grid code, or the common prefix of their grids: operators and leaders whose
    # scope prefix matches may replay it.
    scope_code = models.CharField(_("scope code"), max_length=17, editable=False)
    state = models.CharField(
        _("state"), max_length=8, choices=PatrolState.choices, default=PatrolState.ACTIVE
    )
    started_at = models.DateTimeField(_("started at"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    point_count = models.PositiveIntegerField(_("points"), default=0)
    rejected_count = models.PositiveIntegerField(_("rejected points"), default=0)
    distance_m = models.FloatField(_("distance (m)"), default=0)
    tracked_s = models.PositiveIntegerField(
        _("tracked time (s)"),
        default=0,
        help_text=_("Time covered by the track, without gaps longer than ten minutes."),
    )
    own_grid_s = models.PositiveIntegerField(_("time in own grids (s)"), default=0)
    # {grid code or "": [seconds, metres]}; "" is outside every grid.
    grid_stats = models.JSONField(_("time and distance per grid"), default=dict, blank=True)
    first_point_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_point_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_lat = models.FloatField(null=True, blank=True, editable=False)
    last_lng = models.FloatField(null=True, blank=True, editable=False)
    last_grid = models.CharField(max_length=15, blank=True, editable=False)
    # The track simplified for the one-screen overview (civicgrid.field.overview): an encoded
    # polyline, extended on every in-order upload, rebuilt with the totals otherwise.
    overview = models.TextField(_("simplified track"), blank=True, default="", editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("patrol")
        verbose_name_plural = _("patrols")
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["worker", "-started_at"], name="patrol_worker_recent"),
            models.Index(
                fields=["scope_code", "started_at"],
                name="patrol_scope_time",
                opclasses=["varchar_pattern_ops", "timestamptz_ops"],
            ),
        ]
        constraints = [
            # At most one patrol per worker is running.
            models.UniqueConstraint(
                fields=["worker"], condition=Q(state="active"), name="patrol_one_active"
            )
        ]

    def __str__(self) -> str:
        return f"{self.worker} {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def distance_km(self) -> float:
        return round(self.distance_m / 1000, 2)

    @property
    def duration_s(self) -> int:
        end = self.ended_at or self.last_point_at or timezone.now()
        return max(0, int((end - self.started_at).total_seconds()))


class TrackPoint(models.Model):
    """One GPS fix of a patrol (WGS-84). Narrow on purpose: billions of rows over a year."""

    id = models.BigAutoField(primary_key=True)
    patrol = models.ForeignKey(
        Patrol,
        verbose_name=_("patrol"),
        on_delete=models.CASCADE,
        related_name="points",
        db_index=False,  # the unique (patrol, recorded_at) index serves every lookup
    )
    recorded_at = models.DateTimeField(_("recorded at"))
    lat = models.FloatField(_("latitude"))
    lng = models.FloatField(_("longitude"))
    accuracy = models.PositiveSmallIntegerField(_("accuracy (m)"), null=True, blank=True)

    class Meta:
        verbose_name = _("track point")
        verbose_name_plural = _("track points")
        constraints = [
            models.UniqueConstraint(fields=["patrol", "recorded_at"], name="trackpoint_patrol_time")
        ]

    def __str__(self) -> str:
        return f"{self.patrol_id} {self.recorded_at:%H:%M:%S}"


class CheckIn(models.Model):
    """打卡: a worker's presence at a key place, with the geodesic distance from it."""

    client_id = models.UUIDField(_("client id"), unique=True)
    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("grid worker"),
        on_delete=models.PROTECT,
        related_name="checkins",
        db_index=False,
    )
    place = models.ForeignKey(
        KeyPlace, verbose_name=_("place"), on_delete=models.PROTECT, related_name="checkins"
    )
    patrol = models.ForeignKey(
        Patrol,
        verbose_name=_("patrol"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="checkins",
    )
    scope_code = models.CharField(_("scope code"), max_length=17, editable=False)
    checked_at = models.DateTimeField(_("checked in at"))
    lat = models.FloatField(_("latitude"))
    lng = models.FloatField(_("longitude"))
    accuracy = models.PositiveSmallIntegerField(_("accuracy (m)"), null=True, blank=True)
    distance_m = models.FloatField(_("distance from the place (m)"))
    within = models.BooleanField(_("within the radius"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("received at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("check-in")
        verbose_name_plural = _("check-ins")
        ordering = ["-checked_at", "-id"]
        indexes = [
            models.Index(fields=["worker", "-checked_at"], name="checkin_worker_recent"),
            models.Index(
                fields=["scope_code", "checked_at"],
                name="checkin_scope_time",
                opclasses=["varchar_pattern_ops", "timestamptz_ops"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.worker} @ {self.place} {self.checked_at:%Y-%m-%d %H:%M}"


class Receipt(models.Model):
    """The answer to one offline-queued action, so a retried delivery replays it, not redoes it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="+"
    )
    client_id = models.CharField(_("client id"), max_length=64)
    kind = models.CharField(_("kind"), max_length=20)
    object_id = models.BigIntegerField(_("object id"), null=True, blank=True)
    response = models.JSONField(_("response"), default=dict)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("delivery receipt")
        verbose_name_plural = _("delivery receipts")
        constraints = [
            models.UniqueConstraint(fields=["user", "client_id"], name="receipt_user_client")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.client_id}"


class LatestPatrol(models.Model):
    """Each worker's most recently started patrol: the patrol screen's "last position" index.

    Written when a patrol is created (``post_save``, an upsert that keeps the later start), so
    ingest writes nothing extra: the position itself is the patrol's ``last_*`` columns, which
    every upload already updates. One row per worker; the screen reads an area's workers with one
    indexed query joined to their patrols.
    """

    worker = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("grid worker"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="+",
    )
    patrol = models.ForeignKey(
        Patrol, verbose_name=_("patrol"), on_delete=models.CASCADE, related_name="+"
    )
    started_at = models.DateTimeField(_("started at"))

    class Meta:
        verbose_name = _("latest patrol")
        verbose_name_plural = _("latest patrols")

    def __str__(self) -> str:
        return f"{self.worker_id} → {self.patrol_id}"
