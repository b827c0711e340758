"""Abstract bases shared by the workflows' tables (no tables of core's own)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ImmutableQuerySet(models.QuerySet):
    """An append-only table: no bulk updates or deletes through the ORM."""

    def update(self, **kwargs):
        raise PermissionError("The action log is append-only.")

    def delete(self):
        raise PermissionError("The action log is append-only.")


class ActionLog(models.Model):
    """One row per action on a workflow row, never updated nor deleted (its audit trail).

    A workflow's log model subclasses this and adds the foreign key to its row, the actor (with
    its own ``related_name``) and ``from_state``/``to_state`` sized to its states; the engine
    (:class:`civicgrid.core.workflow.Workflow`) writes the rows.
    """

    action = models.CharField(_("action"), max_length=20)
    role = models.CharField(_("role"), max_length=20, blank=True)
    note = models.TextField(_("note"), blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = ImmutableQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["created_at", "id"]

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("The action log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("The action log is append-only.")
