import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ApiToken(models.Model):
    """A per-user API token; only its SHA-256 is stored, the token is shown once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    name = models.CharField(_("name"), max_length=100)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("prefix"), max_length=8, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked = models.BooleanField(_("revoked"), default=False)
    # Null only for rows issued before tokens expired; those are refused (see auth.py).
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.user} · {self.name} ({self.prefix}…)"

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @property
    def is_usable(self) -> bool:
        return not self.revoked and self.expires_at is not None and self.expires_at > timezone.now()

    @classmethod
    def issue(cls, *, user, name: str, days: int | None = None) -> tuple["ApiToken", str]:
        """A new token valid ``days`` (at most settings.API_TOKEN_DAYS, the default)."""
        limit = int(getattr(settings, "API_TOKEN_DAYS", 90))
        days = limit if days is None else days
        if not 1 <= days <= limit:
            raise ValueError(f"days: a token lives 1 to {limit} days")
        token = "cg_" + secrets.token_urlsafe(32)
        obj = cls.objects.create(
            user=user,
            name=name,
            digest=cls.hash(token),
            prefix=token[:8],
            expires_at=timezone.now() + dt.timedelta(days=days),
        )
        return obj, token

    def revoke(self) -> None:
        """Refuse this token from now on (kept, with its audit history, not deleted)."""
        if not self.revoked:
            self.revoked, self.revoked_at = True, timezone.now()
            self.save(update_fields=["revoked", "revoked_at"])
