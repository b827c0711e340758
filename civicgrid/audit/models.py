"""The security audit trail (等保 2.0 安全审计): an append-only, hash-chained event log.

Every row carries ``hash = SM3(prev_hash || canonical content)``; ``AuditChain`` (one row) holds the
chain head that appends lock, and the anchor a retention purge leaves behind. The ORM refuses
updates and deletes of events; on PostgreSQL a trigger refuses them too (see the migration).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

GENESIS = "0" * 64


class Action(models.TextChoices):
    CREATE = "create", _("Created")
    UPDATE = "update", _("Changed")
    DELETE = "delete", _("Deleted")
    IMPORT = "import", _("Imported")
    EXPORT = "export", _("Exported")
    REVEAL = "reveal", _("Revealed personal data")
    LOGIN = "login", _("Signed in")
    LOGIN_FAILED = "login_failed", _("Failed sign-in")
    LOCKOUT = "lockout", _("Locked out")
    LOGOUT = "logout", _("Signed out")
    PURGE = "purge", _("Purged old audit rows")


class AppendOnlyError(Exception):
    """Raised on any attempt to change or remove an audit event through the ORM."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit events are append-only")

    def delete(self):
        raise AppendOnlyError("audit events are append-only")

    def bulk_update(self, *args, **kwargs):
        raise AppendOnlyError("audit events are append-only")

    def bulk_create(self, *args, **kwargs):
        raise AppendOnlyError("audit events are appended one by one through audit.record()")

    def update_or_create(self, *args, **kwargs):
        raise AppendOnlyError("audit events are append-only")


class AuditEvent(models.Model):
    """One privileged change or security event: who, when, from where, what, before/after."""

    seq = models.BigIntegerField(_("sequence"), unique=True, editable=False)
    created_at = models.DateTimeField(_("time"), editable=False)
    # No database constraint: an event outlives the account it names, and deleting a user
    # must not rewrite (SET NULL) rows of an append-only log.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_label = models.CharField(_("actor"), max_length=150, blank=True)
    ip = models.CharField(_("IP address"), max_length=45, blank=True)
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    object_type = models.CharField(_("object type"), max_length=60, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    details = models.JSONField(_("details"), null=True, blank=True)
    prev_hash = models.CharField(_("previous hash"), max_length=64, editable=False)
    hash = models.CharField(_("hash"), max_length=64, unique=True, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-seq"]
        indexes = [
            models.Index(fields=["created_at"], name="audit_time"),
            models.Index(fields=["actor", "created_at"], name="audit_actor"),
            models.Index(fields=["action", "created_at"], name="audit_action"),
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action}"

    def save(self, *args, **kwargs):
        if not self._state.adding or not getattr(self, "_appending", False):
            raise AppendOnlyError("audit events are appended only through audit.record()")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit events are append-only")


class AuditChain(models.Model):
    """The chain head (last sequence and hash) and the anchor left by the last purge."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS)
    anchor_seq = models.BigIntegerField(default=0)
    anchor_hash = models.CharField(max_length=64, default=GENESIS)

    class Meta:
        verbose_name = _("audit chain head")
        verbose_name_plural = _("audit chain head")

    def __str__(self) -> str:
        return f"audit chain @{self.last_seq}"
