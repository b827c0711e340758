"""The public face: one-key emergency call devices (一键呼叫) of elderly people living alone."""

from __future__ import annotations

import hashlib

from django.db import models
from django.utils.translation import gettext_lazy as _

from civicgrid.territory.models import Grid


class EmergencyDevice(models.Model):
    """A registered call button at a home. Only the SHA-256 of its token is stored."""

    token_hash = models.CharField(_("token hash"), max_length=64, unique=True, editable=False)
    label = models.CharField(
        _("device label"), max_length=50, blank=True, help_text=_("Serial number or asset tag.")
    )
    holder_name = models.CharField(_("holder name"), max_length=50)
    phone = models.CharField(_("holder phone"), max_length=20, blank=True)
    contact_name = models.CharField(_("emergency contact"), max_length=50, blank=True)
    contact_phone = models.CharField(_("emergency contact phone"), max_length=20, blank=True)
    address = models.CharField(_("registered address"), max_length=200)
    lat = models.FloatField(_("latitude"))
    lng = models.FloatField(_("longitude"))
    grid = models.ForeignKey(
        Grid,
        verbose_name=_("grid"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="emergency_devices",
    )
    is_active = models.BooleanField(_("active"), default=True)
    # The case the last press opened; presses within the window while it is open join it.
    last_case = models.ForeignKey(
        "cases.Case",
        verbose_name=_("last case"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    last_pressed_at = models.DateTimeField(
        _("last pressed at"), null=True, blank=True, editable=False
    )
    press_count = models.PositiveIntegerField(_("presses"), default=0, editable=False)
    created_at = models.DateTimeField(_("registered at"), auto_now_add=True)

    class Meta:
        verbose_name = _("one-key call device")
        verbose_name_plural = _("one-key call devices")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.holder_name} · {self.address}"

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256((token or "").encode()).hexdigest()
