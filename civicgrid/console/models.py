"""Console audit rows. Cases, people and territory own their data; the console only records
who looked at what it shows masked."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PhoneReveal(models.Model):
    """One unmasked view of a reporter's phone number (who, which case, when, from where)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.PROTECT, related_name="+"
    )
    case = models.ForeignKey(
        "cases.Case", verbose_name=_("case"), on_delete=models.PROTECT, related_name="+"
    )
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    created_at = models.DateTimeField(_("revealed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("phone number reveal")
        verbose_name_plural = _("phone number reveals")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["case", "created_at"], name="phonereveal_case")]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.case_id} {self.created_at:%Y-%m-%d %H:%M}"
