"""Matters (cases): categories, admission list, cases, the immutable action log, SLA calendar.

Models are thin: fields, constraints and small properties. Every state change goes through
the workflow engine (``civicgrid.core.workflow``; cases: ``engine.case_act``, grid tasks:
``gridtasks.GRID_TASKS``); nothing else assigns ``Case.state`` or ``GridTask.state``. Over 500
lines because the app's tables stay in one module, as Django expects.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from civicgrid.core.models import ActionLog
from civicgrid.people.models import Center, Department
from civicgrid.territory.models import Area, Grid, MicroGrid

# Crockford-like alphabet without 0/O/1/I/L: readable over the phone, 12 chars = 60 bits.
TRACKING_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
TRACKING_LEN = 12


def new_tracking_code() -> str:
    return "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(TRACKING_LEN))


class HandlingLevel(models.IntegerChoices):
    """The center level that owns a category's cases; values are Area levels."""

    COUNTY = 2, _("County/district")
    TOWNSHIP = 3, _("Township/street")
    VILLAGE = 4, _("Village/community")


class Priority(models.IntegerChoices):
    LOW = 1, _("Low")
    NORMAL = 2, _("Normal")
    HIGH = 3, _("High")
    URGENT = 4, _("Urgent")


class SlaUnit(models.TextChoices):
    NATURAL = "natural", _("Natural hours")
    WORKING = "working", _("Working hours")


class Category(models.Model):
    """事件分类: two levels, ``01`` (class) and ``0103`` (item)."""

    code = models.CharField(_("code"), max_length=4, unique=True)
    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent class"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    handling_level = models.PositiveSmallIntegerField(
        _("handling level"), choices=HandlingLevel.choices, default=HandlingLevel.VILLAGE
    )
    default_department = models.ForeignKey(
        Department,
        verbose_name=_("default department"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.NORMAL
    )
    response_limit = models.DecimalField(
        _("response limit (hours)"),
        max_digits=7,
        decimal_places=2,
        default=2,
        help_text=_("From report to acceptance."),
    )
    handling_limit = models.DecimalField(
        _("handling limit (hours)"),
        max_digits=7,
        decimal_places=2,
        default=14,
        help_text=_("From acceptance to closing."),
    )
    sla_unit = models.CharField(
        _("limit unit"), max_length=8, choices=SlaUnit.choices, default=SlaUnit.WORKING
    )
    self_closable = models.BooleanField(_("grid worker may self-close"), default=False)
    photo_required = models.BooleanField(_("photo required"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    is_private = models.BooleanField(
        _("private"),
        default=False,
        help_text=_(
            "Never shown on the public square map or in Open311's public search "
            "(disputes, special groups, sensitive public-security items). "
            "A private class makes all its items private."
        ),
    )

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def is_class(self) -> bool:
        return len(self.code) == 2


class AdmissionState(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    ADMITTED = "admitted", _("Admitted")
    REFUSED = "refused", _("Refused")
    RETIRED = "retired", pgettext_lazy("admission", "Retired")


class AdmissionItem(models.Model):
    """事项准入清单: the only matters a department may push down to grid workers.

    Its life cycle (proposed → admitted / refused; admitted → retired) runs on the workflow
    engine (``cases.admission.ADMISSION``); rows inserted outside it (admin, fixtures) are
    admitted, and the audit trail records the insert.
    """

    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        on_delete=models.CASCADE,
        related_name="admission_items",
    )
    code = models.CharField(_("item code"), max_length=30)
    name = models.CharField(_("name"), max_length=200)
    item_class = models.CharField(_("class"), max_length=50, blank=True)
    legal_basis = models.TextField(_("legal basis"), blank=True)
    why_grid = models.TextField(_("why the grid"), blank=True)
    workload = models.CharField(_("expected workload"), max_length=200, blank=True)
    state = models.CharField(
        _("state"),
        max_length=10,
        choices=AdmissionState.choices,
        default=AdmissionState.ADMITTED,
        editable=False,
        db_index=True,
    )
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("proposed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("admission item")
        verbose_name_plural = _("admission list")
        ordering = ["department__code", "code"]
        constraints = [
            models.UniqueConstraint(fields=["department", "code"], name="uniq_admission_item")
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def is_active(self) -> bool:
        """On the current list: the firewall lets it through."""
        return self.state == AdmissionState.ADMITTED


class Flow(models.TextChoices):
    CASE = "case", _("Case")
    SERVICE = "service", _("Service order (六联单)")


class Source(models.TextChoices):
    GRID_WORKER = "grid_worker", _("Grid worker app")
    CITIZEN = "citizen", _("Citizen portal")
    HOTLINE = "hotline", _("Hotline 12345")
    DEPARTMENT = "department", _("Department")
    PATROL = "patrol", _("Patrol")
    ONE_KEY = "one_key", _("One-key call device")
    API = "api", _("API / Open311")


class State(models.TextChoices):
    REPORTED = "reported", _("Reported")
    FILED = "filed", _("Filed")
    ASSIGNED = "assigned", _("Assigned")
    IN_PROGRESS = "in_progress", _("In progress")
    HANDLED = "handled", _("Handled")
    CLOSED = "closed", _("Closed")
    REJECTED = "rejected", _("Rejected")
    MERGED = "merged", _("Merged")
    SUSPENDED = "suspended", _("Suspended")


OPEN_STATES = (
    State.REPORTED,
    State.FILED,
    State.ASSIGNED,
    State.IN_PROGRESS,
    State.HANDLED,
    State.SUSPENDED,
)
TERMINAL_STATES = (State.CLOSED, State.REJECTED, State.MERGED)


class SlaState(models.TextChoices):
    NORMAL = "normal", _("On time")
    WARNING = "warning", _("Warning")
    OVERDUE = "overdue", _("Overdue")


def open_q() -> models.Q:
    """Open: not yet closed, rejected or merged (suspended included; its clock is stopped)."""
    return models.Q(state__in=OPEN_STATES)


def overdue_q(now: dt.datetime) -> models.Q:
    """Overdue at ``now``: open with a running clock whose deadline is at or before ``now``.

    The running deadline (``sla_due_at``) is the response deadline while reported and the final
    handling deadline afterwards; a stopped clock (suspended) is null, so never overdue. The
    deadline instant itself counts as overdue, as for the sweep that flags it.
    """
    return open_q() & models.Q(sla_due_at__lte=now)


def due_soon_q(now: dt.datetime) -> models.Q:
    """Due soon at ``now``: open, past the warning point, deadline still ahead."""
    return open_q() & models.Q(sla_warn_at__lte=now, sla_due_at__gt=now)


class CaseQuerySet(models.QuerySet):
    """The one definition of open / overdue / due soon, for the API, console, sweep and
    indicators (``open_q``/``overdue_q``/``due_soon_q`` for aggregates and related lookups)."""

    def open(self) -> CaseQuerySet:
        return self.filter(open_q())

    def overdue(self, now: dt.datetime) -> CaseQuerySet:
        return self.filter(overdue_q(now))

    def due_soon(self, now: dt.datetime) -> CaseQuerySet:
        return self.filter(due_soon_q(now))


class Case(models.Model):
    """A reported matter and its file. State and counters change only through the engine."""

    tracking_code = models.CharField(
        _("tracking code"), max_length=16, default=new_tracking_code, editable=False
    )
    flow = models.CharField(_("flow"), max_length=8, choices=Flow.choices, default=Flow.CASE)
    # FK indexes that a composite index below already leads with are switched off.
    category = models.ForeignKey(
        Category,
        verbose_name=_("category"),
        on_delete=models.PROTECT,
        related_name="cases",
        db_index=False,
    )
    description = models.TextField(_("description"))
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    lng = models.FloatField(_("longitude"), null=True, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    grid = models.ForeignKey(
        Grid,
        verbose_name=_("grid"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
    )
    micro_grid = models.ForeignKey(
        MicroGrid,
        verbose_name=_("micro-grid"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    area = models.ForeignKey(
        Area, verbose_name=_("community"), on_delete=models.PROTECT, related_name="cases"
    )
    # The grid code when the case lies in a grid, else the area code: every scoping prefix of
    # an ancestor matches it, so scope_q(user, "scope_code") is the one visibility filter.
    scope_code = models.CharField(_("scope code"), max_length=17, editable=False)
    source = models.CharField(_("source"), max_length=12, choices=Source.choices)
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.NORMAL
    )
    owner = models.ForeignKey(
        Center,
        verbose_name=_("owner center"),
        on_delete=models.PROTECT,
        related_name="cases",
        db_index=False,
    )
    # The owner center's area code, so "cases owned within my subtree" is a prefix match.
    owner_code = models.CharField(_("owner area code"), max_length=12, editable=False)
    department = models.ForeignKey(
        Department,
        verbose_name=_("assigned department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
        db_index=False,
    )
    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned worker"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_cases",
        db_index=False,
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reporter"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reported_cases",
    )
    reporter_name = models.CharField(_("reporter name"), max_length=50, blank=True)
    reporter_phone = models.CharField(_("reporter phone"), max_length=20, blank=True)
    client_id = models.CharField(
        _("client id"),
        max_length=64,
        null=True,
        blank=True,
        editable=False,
        help_text=_("Generated by the reporting device; a repeated report returns the first case."),
    )
    state = models.CharField(
        _("state"), max_length=12, choices=State.choices, default=State.REPORTED, editable=False
    )
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    response_due = models.DateTimeField(_("response due"), null=True, blank=True, editable=False)
    handling_due = models.DateTimeField(_("handling due"), null=True, blank=True, editable=False)
    final_due = models.DateTimeField(
        _("final deadline"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("Handling deadline including approved extensions."),
    )
    # The running clock (response_due while reported, final_due while being handled, none while
    # suspended or finished) and its 80 % point, so the SLA sweep is two index range scans.
    sla_due_at = models.DateTimeField(_("clock due"), null=True, blank=True, editable=False)
    sla_warn_at = models.DateTimeField(_("clock warning"), null=True, blank=True, editable=False)
    sla_state = models.CharField(
        _("SLA"), max_length=8, choices=SlaState.choices, default=SlaState.NORMAL, editable=False
    )

    rework_count = models.PositiveSmallIntegerField(_("reworks"), default=0, editable=False)
    extension_count = models.PositiveSmallIntegerField(_("extensions"), default=0, editable=False)
    supervision_count = models.PositiveSmallIntegerField(
        _("supervisions"), default=0, editable=False
    )
    return_count = models.PositiveSmallIntegerField(_("returns"), default=0, editable=False)
    dispatch_count = models.PositiveSmallIntegerField(_("dispatches"), default=0, editable=False)
    escalation_count = models.PositiveSmallIntegerField(_("escalations"), default=0, editable=False)
    reopen_count = models.PositiveSmallIntegerField(_("reopens"), default=0, editable=False)
    self_closed = models.BooleanField(_("self-closed"), default=False, editable=False)

    reported_at = models.DateTimeField(_("reported at"), default=timezone.now, editable=False)
    filed_at = models.DateTimeField(_("filed at"), null=True, blank=True, editable=False)
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True, editable=False)
    signed_at = models.DateTimeField(_("signed at"), null=True, blank=True, editable=False)
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True, editable=False)
    suspended_at = models.DateTimeField(_("suspended at"), null=True, blank=True, editable=False)
    suspended_review_date = models.DateField(
        _("suspension review date"), null=True, blank=True, editable=False
    )
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now, editable=False)

    result = models.TextField(_("result"), blank=True, editable=False)
    satisfaction = models.PositiveSmallIntegerField(
        _("satisfaction"), null=True, blank=True, editable=False
    )
    rating_text = models.TextField(_("rating comment"), blank=True, editable=False)
    rated_at = models.DateTimeField(_("rated at"), null=True, blank=True, editable=False)
    # 主办/协办 and 吹哨报到: the co-departments of the current dispatch and every department
    # ever called to the case by a whistle (ids), so the access layer answers without a query.
    # Nullable without a default so that SQLite adds the columns in place (a table rebuild would
    # drop the partial list indexes of migration 0002); None reads as "none".
    co_department_ids = models.JSONField(
        _("co-departments"), null=True, blank=True, default=None, editable=False
    )
    called_department_ids = models.JSONField(
        _("departments called by whistle"), null=True, blank=True, default=None, editable=False
    )
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="duplicates",
        editable=False,
    )

    objects = CaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-reported_at", "-id"]
        constraints = [
            # Constraints rather than unique=True: PostgreSQL then gets no redundant LIKE index.
            models.UniqueConstraint(fields=["tracking_code"], name="case_tracking_code_uniq"),
            models.UniqueConstraint(fields=["client_id"], name="case_client_id_uniq"),
            models.CheckConstraint(
                condition=Q(satisfaction__isnull=True)
                | Q(satisfaction__gte=1, satisfaction__lte=5),
                name="case_satisfaction_1_5",
            ),
            models.CheckConstraint(
                condition=Q(state__in=[s.value for s in State]), name="case_state_valid"
            ),
        ]
        indexes = [
            # Lists ordered newest first with keyset (cursor) pagination on (reported_at, id).
            models.Index(fields=["-reported_at", "-id"], name="case_recent"),
            models.Index(fields=["state", "-reported_at", "-id"], name="case_state_recent"),
            # The operator's default queue: my center's open cases.
            models.Index(fields=["owner", "state", "-reported_at"], name="case_owner_queue"),
            models.Index(
                fields=["owner_code", "state"],
                name="case_owner_code",
                opclasses=["varchar_pattern_ops", "varchar_pattern_ops"],
            ),
            models.Index(
                fields=["scope_code", "state"],
                name="case_scope_state",
                opclasses=["varchar_pattern_ops", "varchar_pattern_ops"],
            ),
            models.Index(fields=["department", "state"], name="case_department_state"),
            models.Index(fields=["worker", "state"], name="case_worker_state"),
            # Duplicate suggestions: same category, recent, then a lat/lng box.
            models.Index(fields=["category", "reported_at"], name="case_category_recent"),
            # SLA sweep and the "overdue" filter.
            models.Index(fields=["sla_state", "sla_due_at"], name="case_sla_due"),
            models.Index(fields=["sla_warn_at"], name="case_sla_warn"),
            models.Index(fields=["closed_at"], name="case_closed_at"),
            models.Index(fields=["filed_at"], name="case_filed_at"),
        ]

    def __str__(self) -> str:
        return f"{self.tracking_code} {self.category.name if self.category_id else ''}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def reporter_display(self) -> str:
        if self.reporter_id:
            return str(self.reporter)
        return self.reporter_name or self.reporter_phone


class CaseAction(ActionLog):
    """One row per action on a case, never updated nor deleted (the audit trail)."""

    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="actions"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="case_actions",
    )
    from_state = models.CharField(_("from state"), max_length=12, blank=True)
    to_state = models.CharField(_("to state"), max_length=12, blank=True)

    class Meta:
        verbose_name = _("case action")
        verbose_name_plural = _("action log")
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["case", "created_at"], name="caseaction_case_time"),
            models.Index(fields=["action", "created_at"], name="caseaction_action_time"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.action} {self.created_at:%Y-%m-%d %H:%M}"


class GridTaskState(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class DepartmentTask(models.Model):
    """下派任务 as composed by a department: one admitted item, instructions and a deadline for
    several grids; each grid gets its own ``GridTask`` (the per-grid progress)."""

    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        related_name="department_tasks",
    )
    item = models.ForeignKey(
        AdmissionItem,
        verbose_name=_("admission item"),
        on_delete=models.PROTECT,
        related_name="department_tasks",
    )
    title = models.CharField(_("title"), max_length=200)
    instructions = models.TextField(_("instructions"), blank=True)
    deadline = models.DateTimeField(_("deadline"))
    client_id = models.CharField(_("client id"), max_length=64, unique=True, null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("department task")
        verbose_name_plural = _("department tasks")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["department", "created_at"], name="depttask_department")]

    def __str__(self) -> str:
        return self.title


class GridTask(models.Model):
    """下派任务: an admitted item pushed by a department to a grid's worker."""

    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="tasks"
    )
    item = models.ForeignKey(
        AdmissionItem,
        verbose_name=_("admission item"),
        on_delete=models.PROTECT,
        related_name="tasks",
    )
    grid = models.ForeignKey(
        Grid, verbose_name=_("grid"), on_delete=models.PROTECT, related_name="tasks"
    )
    scope_code = models.CharField(_("scope code"), max_length=17, db_index=True, editable=False)
    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("grid worker"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="grid_tasks",
    )
    order = models.ForeignKey(
        DepartmentTask,
        verbose_name=_("department task"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="grid_tasks",
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    deadline = models.DateTimeField(_("deadline"))
    reminded_at = models.DateTimeField(_("reminded at"), null=True, blank=True, editable=False)
    state = models.CharField(
        _("state"),
        max_length=10,
        choices=GridTaskState.choices,
        default=GridTaskState.OPEN,
        editable=False,
    )
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    result = models.TextField(_("result"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("grid task")
        verbose_name_plural = _("grid tasks")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["worker", "state", "deadline"], name="gridtask_worker"),
            models.Index(fields=["department", "state"], name="gridtask_department"),
        ]

    def __str__(self) -> str:
        return self.title


class GridTaskAction(ActionLog):
    """One row per action on a grid task, never updated nor deleted (the task's audit trail)."""

    task = models.ForeignKey(
        GridTask, verbose_name=_("grid task"), on_delete=models.PROTECT, related_name="actions"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="grid_task_actions",
    )
    from_state = models.CharField(_("from state"), max_length=10, blank=True)
    to_state = models.CharField(_("to state"), max_length=10, blank=True)

    class Meta:
        verbose_name = _("grid task action")
        verbose_name_plural = _("grid task log")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["task", "created_at"], name="gridtaskaction_task_time")]

    def __str__(self) -> str:
        return f"{self.task_id} {self.action} {self.created_at:%Y-%m-%d %H:%M}"


class AdmissionItemAction(ActionLog):
    """One row per step of an admission item's life cycle, never updated nor deleted."""

    item = models.ForeignKey(
        AdmissionItem,
        verbose_name=_("admission item"),
        on_delete=models.CASCADE,
        related_name="actions",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    from_state = models.CharField(_("from state"), max_length=10, blank=True)
    to_state = models.CharField(_("to state"), max_length=10, blank=True)

    class Meta:
        verbose_name = _("admission item action")
        verbose_name_plural = _("admission log")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.item_id} {self.action}"


class AttachmentKind(models.TextChoices):
    IMAGE = "image", _("Image")
    AUDIO = "audio", _("Audio")


def attachment_path(instance, filename: str) -> str:
    return f"cases/{instance.sha256[:2]}/{instance.sha256}{_suffix(filename)}"


def thumbnail_path(instance, filename: str) -> str:
    return f"cases/thumbs/{instance.sha256[:2]}/{instance.sha256}.jpg"


def _suffix(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:].lower()[:6] if dot >= 0 else ""


class Attachment(models.Model):
    """A photo or audio clip of a case (or of a grid task's evidence). EXIF is stripped."""

    case = models.ForeignKey(
        Case,
        verbose_name=_("case"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="attachments",
    )
    action = models.ForeignKey(
        CaseAction,
        verbose_name=_("action"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="attachments",
    )
    task = models.ForeignKey(
        GridTask,
        verbose_name=_("grid task"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="attachments",
    )
    order = models.ForeignKey(
        DepartmentTask,
        verbose_name=_("department task"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="attachments",
    )
    kind = models.CharField(_("kind"), max_length=8, choices=AttachmentKind.choices)
    file = models.FileField(_("file"), upload_to=attachment_path, max_length=200)
    thumbnail = models.FileField(
        _("thumbnail"), upload_to=thumbnail_path, max_length=200, blank=True
    )
    content_type = models.CharField(_("content type"), max_length=50)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    width = models.PositiveIntegerField(_("width"), null=True, blank=True)
    height = models.PositiveIntegerField(_("height"), null=True, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.sha256[:8]}"


class RequestState(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    DENIED = "denied", _("Denied")


class ExtensionRequest(models.Model):
    """延期申请: a handler asks for a later final deadline; an operator decides."""

    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="extension_requests"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    previous_due = models.DateTimeField(_("previous deadline"), null=True, blank=True)
    requested_due = models.DateTimeField(_("requested deadline"))
    reason = models.TextField(_("reason"))
    state = models.CharField(
        _("state"), max_length=10, choices=RequestState.choices, default=RequestState.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("extension request")
        verbose_name_plural = _("extension requests")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case"],
                condition=Q(state="pending"),
                name="uniq_pending_extension",
            )
        ]

    def __str__(self) -> str:
        return f"{self.case_id} → {self.requested_due:%Y-%m-%d}"


class SuspensionRequest(models.Model):
    """挂账/缓办申请: a handler asks to stop the clock until a review date; an operator decides."""

    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="suspension_requests"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    reason = models.TextField(_("reason"))
    review_date = models.DateField(_("review date"))
    state = models.CharField(
        _("state"), max_length=10, choices=RequestState.choices, default=RequestState.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("suspension request")
        verbose_name_plural = _("suspension requests")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case"],
                condition=Q(state="pending"),
                name="uniq_pending_suspension",
            )
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.review_date}"


class SupervisionKind(models.TextChoices):
    MANUAL = "manual", _("Manual")
    OVERDUE = "overdue", _("Automatic (overdue)")
    WHISTLE = "whistle", _("Automatic (late report-in)")


class Supervision(models.Model):
    """督办: a push on an open case; answered when the assigned handler next acts on it."""

    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="supervisions"
    )
    kind = models.CharField(
        _("kind"), max_length=8, choices=SupervisionKind.choices, default=SupervisionKind.MANUAL
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department supervised"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="supervisions",
    )
    whistle_call = models.ForeignKey(
        "WhistleCall",
        verbose_name=_("whistle call"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="supervisions",
    )
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("supervision")
        verbose_name_plural = _("supervisions")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["department", "answered_at"], name="supervision_department"),
        ]
        constraints = [
            # One automatic supervision per whistle call's 报到 deadline, whatever the workers do.
            models.UniqueConstraint(
                fields=["whistle_call"],
                condition=Q(whistle_call__isnull=False),
                name="supervision_one_per_call",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.get_kind_display()}"


class Holiday(models.Model):
    """One calendar day that differs from the Mon–Fri rule: a holiday or a make-up workday (调休)."""

    date = models.DateField(_("date"), unique=True)
    is_workday = models.BooleanField(
        _("workday"), default=False, help_text=_("Checked for a make-up workday on a weekend.")
    )
    name = models.CharField(_("name"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("holiday or make-up workday")
        verbose_name_plural = _("holiday calendar")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


# --- 主办/协办: the parts of a co-handled case ------------------------------------------------


class _LogRow(ActionLog):
    """An append-only workflow log row with an actor who leaves no reverse accessor."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    from_state = models.CharField(_("from state"), max_length=12, blank=True)
    to_state = models.CharField(_("to state"), max_length=12, blank=True)

    class Meta(ActionLog.Meta):
        abstract = True


class PartState(models.TextChoices):
    ASSIGNED = "assigned", _("Awaiting sign-for")
    IN_PROGRESS = "in_progress", _("In progress")
    SUBMITTED = "submitted", _("Submitted")
    RETURNED = "returned", _("Returned")
    CANCELLED = "cancelled", _("Withdrawn")


OPEN_PART_STATES = (PartState.ASSIGNED, PartState.IN_PROGRESS, PartState.RETURNED)


class CasePart(models.Model):
    """协办: one co-department's part of a case dispatched to a lead department (主办)."""

    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="parts"
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("co-department"),
        on_delete=models.PROTECT,
        related_name="case_parts",
    )
    scope_code = models.CharField(_("scope code"), max_length=17, editable=False)
    state = models.CharField(
        _("state"),
        max_length=12,
        choices=PartState.choices,
        default=PartState.ASSIGNED,
        editable=False,
    )
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    due_at = models.DateTimeField(_("due"), null=True, blank=True, editable=False)
    signed_at = models.DateTimeField(_("signed at"), null=True, blank=True, editable=False)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True, editable=False)
    result = models.TextField(_("result"), blank=True, editable=False)
    rework_count = models.PositiveSmallIntegerField(_("reworks"), default=0, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("co-handling part")
        verbose_name_plural = _("co-handling parts")
        ordering = ["case", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "department"], name="casepart_one_per_dept"),
        ]
        indexes = [
            models.Index(fields=["department", "state"], name="casepart_department_state"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.department_id} {self.state}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_PART_STATES


class CasePartAction(_LogRow):
    """One row per action on a co-handling part, never updated nor deleted."""

    part = models.ForeignKey(
        CasePart, verbose_name=_("part"), on_delete=models.PROTECT, related_name="actions"
    )

    class Meta(_LogRow.Meta):
        verbose_name = _("co-handling part action")
        verbose_name_plural = _("co-handling part log")
        indexes = [models.Index(fields=["part", "created_at"], name="casepartaction_part_time")]

    def __str__(self) -> str:
        return f"{self.part_id} {self.action}"


# --- 吹哨报到: whistles and the departments' report-ins -----------------------------------------


class Whistle(models.Model):
    """吹哨: a township/community center or grid chief calls named departments to a case."""

    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="whistles"
    )
    center = models.ForeignKey(
        Center,
        verbose_name=_("center"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="whistles",
    )
    scope_code = models.CharField(_("scope code"), max_length=17, editable=False)
    blown_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("blown by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    role = models.CharField(_("role"), max_length=20, blank=True)
    reason = models.TextField(_("reason"))
    report_due = models.DateTimeField(_("report-in due"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("whistle")
        verbose_name_plural = _("whistles")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.created_at:%Y-%m-%d %H:%M}"


class CallState(models.TextChoices):
    CALLED = "called", _("Awaiting report-in")
    REPORTED = "reported", _("Reported in")
    DONE = "done", _("Acted")
    CANCELLED = "cancelled", _("Withdrawn")


OPEN_CALL_STATES = (CallState.CALLED, CallState.REPORTED)


class WhistleCall(models.Model):
    """报到: one named department's duty on a whistle — report in before the due, then act."""

    whistle = models.ForeignKey(
        Whistle, verbose_name=_("whistle"), on_delete=models.PROTECT, related_name="calls"
    )
    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="whistle_calls"
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        related_name="whistle_calls",
    )
    scope_code = models.CharField(_("scope code"), max_length=17, editable=False)
    state = models.CharField(
        _("state"),
        max_length=12,
        choices=CallState.choices,
        default=CallState.CALLED,
        editable=False,
    )
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    report_due = models.DateTimeField(_("report-in due"), editable=False)
    reported_at = models.DateTimeField(_("reported in at"), null=True, blank=True, editable=False)
    late = models.BooleanField(_("reported in late"), default=False, editable=False)
    done_at = models.DateTimeField(_("acted at"), null=True, blank=True, editable=False)
    supervised_at = models.DateTimeField(_("supervised at"), null=True, blank=True, editable=False)
    result = models.TextField(_("result"), blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("whistle call")
        verbose_name_plural = _("whistle calls")
        ordering = ["report_due", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["whistle", "department"], name="whistlecall_one_per_dept"
            ),
        ]
        indexes = [
            models.Index(fields=["state", "report_due"], name="whistlecall_due"),
            models.Index(fields=["department", "state"], name="whistlecall_department"),
        ]

    def __str__(self) -> str:
        return f"{self.whistle_id} {self.department_id} {self.state}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_CALL_STATES


class WhistleCallAction(_LogRow):
    """One row per action on a whistle call, never updated nor deleted."""

    call = models.ForeignKey(
        WhistleCall,
        verbose_name=_("whistle call"),
        on_delete=models.PROTECT,
        related_name="actions",
    )

    class Meta(_LogRow.Meta):
        verbose_name = _("whistle call action")
        verbose_name_plural = _("whistle call log")
        indexes = [models.Index(fields=["call", "created_at"], name="whistlecallaction_call_time")]

    def __str__(self) -> str:
        return f"{self.call_id} {self.action}"
