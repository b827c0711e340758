from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    """Known notification kinds; other apps may send further kinds (shown by their raw value)."""

    CASE_REPORTED = "case_reported", _("New case reported")
    CASE_DISPATCHED = "case_dispatched", _("Case dispatched")
    CASE_RETURNED = "case_returned", _("Case returned")
    CASE_HANDLED = "case_handled", _("Case awaiting verification")
    CASE_REWORK = "case_rework", _("Case sent back for rework")
    CASE_CLOSED = "case_closed", _("Case closed")
    CASE_REJECTED = "case_rejected", _("Report not accepted")
    CASE_MERGED = "case_merged", _("Report merged")
    CASE_ESCALATED = "case_escalated", _("Case escalated")
    CASE_REOPENED = "case_reopened", _("Case reopened")
    CASE_SUPERVISED = "case_supervised", _("Case supervised")
    CASE_WARNING = "case_warning", _("Case deadline approaching")
    CASE_OVERDUE = "case_overdue", _("Case overdue")
    EXTENSION_REQUESTED = "extension_requested", _("Extension requested")
    EXTEND_APPROVE = "extend_approve", _("Extension approved")
    EXTEND_DENY = "extend_deny", _("Extension denied")
    SUSPENSION_REQUESTED = "suspension_requested", _("Suspension requested")
    SUSPEND_APPROVE = "suspend_approve", _("Suspension approved")
    SUSPEND_DENY = "suspend_deny", _("Suspension denied")
    CASE_COMMENTED = "case_commented", _("New comment on a case")
    CASE_RATED = "case_rated", _("Case rated")
    GRID_TASK = "grid_task", _("Grid task assigned")
    # Disputes (civicgrid.mediation)
    DISPUTE_VIOLENCE = "dispute_violence", _("Dispute flagged 民转刑")
    DISPUTE_ASSIGNED = "dispute_assigned", _("Dispute assigned to you")
    DISPUTE_ESCALATED = "dispute_escalated", _("Dispute escalated")
    DISPUTE_OVERDUE = "dispute_overdue", _("Dispute overdue")
    DISPUTE_SUPERVISED = "dispute_supervised", _("Dispute supervised")
    DISPUTE_RELAPSE = "dispute_relapse", _("Dispute relapsed")
    PART_ASSIGNED = "part_assigned", _("Co-handling part assigned")
    PART_SUBMITTED = "part_submitted", _("Co-handling part submitted")
    PART_RETURNED = "part_returned", _("Co-handling part returned")
    PART_REWORK = "part_rework", _("Co-handling part sent back")
    PART_CANCELLED = "part_cancelled", _("Co-handling part withdrawn")
    WHISTLE_CALLED = "whistle_called", _("Called by a whistle (吹哨)")
    WHISTLE_REPORTED = "whistle_reported", _("Department reported in (报到)")
    WHISTLE_ACTED = "whistle_acted", _("Department acted on a whistle")
    WHISTLE_CANCELLED = "whistle_cancelled", _("Whistle call withdrawn")
    WHISTLE_SUPERVISED = "whistle_supervised", _("Report-in supervised")
    LIAISON_VISIT_DUE = "liaison_visit_due", _("Liaison visit due this month")
    SYSTEM = "system", _("System notice")


class Notification(models.Model):
    """One inbox row for one staff user.

    The case's tracking code is copied onto the row so the inbox renders without a join.
    """

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    kind = models.CharField(_("kind"), max_length=40, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"), blank=True)
    case = models.ForeignKey(
        "cases.Case",
        verbose_name=_("case"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="notifications",
    )
    tracking_code = models.CharField(_("tracking code"), max_length=32, blank=True)
    url = models.CharField(_("link"), max_length=300, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["recipient", "-id"], name="notif_inbox_idx"),
            # The unread badge is polled by every open page: keep its count on a small index.
            models.Index(
                fields=["recipient", "id"],
                condition=Q(read_at__isnull=True),
                name="notif_unread_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.recipient} · {self.title}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class OutboundMessage(models.Model):
    """One SMS (or other push) handed to the pluggable sender, kept for operators to audit."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    channel = models.CharField(_("channel"), max_length=20, default="sms")
    to = models.CharField(_("to"), max_length=30)
    body = models.TextField(_("body"))
    kind = models.CharField(_("kind"), max_length=40, blank=True)
    case = models.ForeignKey(
        "cases.Case",
        verbose_name=_("case"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="outbound_messages",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    sender = models.CharField(_("sender"), max_length=200, blank=True)
    error = models.TextField(_("error"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbound message")
        verbose_name_plural = _("outbound messages")
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "created_at"], name="outbound_status_idx")]

    def __str__(self) -> str:
        return f"{self.channel} → {self.to} ({self.get_status_display()})"
