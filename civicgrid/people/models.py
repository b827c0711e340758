from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from civicgrid.territory.models import Area, Grid, MicroGrid


class Role(models.TextChoices):
    CITIZEN = "citizen", _("Citizen")
    GRID_WORKER = "grid_worker", _("Grid worker")
    GRID_CHIEF = "grid_chief", _("Grid chief")
    OPERATOR = "operator", _("Operator")
    HANDLER = "handler", _("Handler")
    LEADER = "leader", _("Leader")
    ADMIN = "admin", _("Administrator")
    PARTY_MEMBER = "party_member", _("Party member / volunteer")


class Education(models.TextChoices):
    """Highest education, ordered: the selection rules compare ranks (``EDUCATION_RANK``)."""

    PRIMARY = "primary", _("Primary school")
    JUNIOR = "junior", _("Junior secondary")
    SENIOR = "senior", _("Senior secondary / vocational")
    COLLEGE = "college", _("College (大专)")
    BACHELOR = "bachelor", _("Bachelor")
    MASTER = "master", _("Master or above")


EDUCATION_RANK = {v: i for i, v in enumerate(Education.values)}


class User(AbstractUser):
    full_name = models.CharField(_("full name"), max_length=50, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    education = models.CharField(
        _("education"), max_length=10, choices=Education.choices, blank=True
    )
    residence_grid = models.ForeignKey(
        Grid,
        verbose_name=_("lives in grid"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="residents_on_staff",
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.full_name or self.username

    @property
    def display_name(self) -> str:
        return self.full_name or self.username


class Center(models.Model):
    """A 综治中心 / 网格化服务管理中心: one per area that has operators."""

    area = models.OneToOneField(
        Area, verbose_name=_("area"), on_delete=models.PROTECT, related_name="center"
    )
    name = models.CharField(_("name"), max_length=100)
    phone = models.CharField(_("duty phone"), max_length=30, blank=True)

    class Meta:
        verbose_name = _("center")
        verbose_name_plural = _("centers")
        ordering = ["area__code"]

    def __str__(self) -> str:
        return self.name

    @property
    def level(self) -> int:
        return self.area.level


class Department(models.Model):
    """A 职能部门 (e.g. 城管局) with an area scope."""

    code = models.CharField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)
    area = models.ForeignKey(
        Area, verbose_name=_("area scope"), on_delete=models.PROTECT, related_name="departments"
    )
    phone = models.CharField(_("duty phone"), max_length=30, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["area__code", "code"]

    def __str__(self) -> str:
        return self.name


class RoleAssignment(models.Model):
    """A role held by a user, bound to an area subtree (the scope)."""

    user = models.ForeignKey(
        User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="assignments"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    area = models.ForeignKey(
        Area, verbose_name=_("area scope"), on_delete=models.PROTECT, related_name="assignments"
    )
    center = models.ForeignKey(
        Center,
        verbose_name=_("center"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assignments",
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assignments",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        # Two partial constraints instead of nulls_distinct=False, which SQLite cannot enforce.
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "area"],
                condition=models.Q(department__isnull=True),
                name="uniq_role_assignment",
            ),
            models.UniqueConstraint(
                fields=["user", "role", "area", "department"],
                condition=models.Q(department__isnull=False),
                name="uniq_role_assignment_dept",
            ),
        ]
        indexes = [models.Index(fields=["user", "role"])]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.area.name}"


class WorkerType(models.TextChoices):
    FULL_TIME = "full_time", _("Full-time grid worker")
    PART_TIME = "part_time", _("Part-time grid worker")
    ASSISTANT = "assistant", _("Assistant")
    MICRO = "micro", _("Micro-grid worker")
    POLICE = "police", _("Police officer")
    AUX_POLICE = "aux_police", _("Auxiliary police")
    INFORMANT = "informant", _("Informant")
    VOLUNTEER = "volunteer", _("Volunteer")


class GridMember(models.Model):
    """A member of a grid's team ("1+2+N": 1 police officer, 2 auxiliary police, N workers)."""

    grid = models.ForeignKey(
        Grid, verbose_name=_("grid"), on_delete=models.CASCADE, related_name="members"
    )
    user = models.ForeignKey(
        User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="grid_memberships"
    )
    worker_type = models.CharField(_("worker type"), max_length=12, choices=WorkerType.choices)
    is_leader = models.BooleanField(_("team leader"), default=False)
    since = models.DateField(_("since"), null=True, blank=True)
    # 工作电话: shown in full on the public grid board; ``user.phone`` (personal) never is.
    work_phone = models.CharField(_("work phone"), max_length=20, blank=True)
    micro_grid = models.ForeignKey(
        MicroGrid,
        verbose_name=_("micro-grid"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
    )

    class Meta:
        verbose_name = _("grid team member")
        verbose_name_plural = _("grid team members")
        constraints = [models.UniqueConstraint(fields=["grid", "user"], name="uniq_grid_member")]
        ordering = ["grid__code", "worker_type"]

    def __str__(self) -> str:
        return f"{self.grid.code} · {self.user} · {self.get_worker_type_display()}"


class AdviserKind(models.TextChoices):
    JUDGE = "judge", _("Judge")
    PROSECUTOR = "prosecutor", _("Prosecutor")
    POLICE = "police", _("Police officer")
    LAWYER = "lawyer", _("Lawyer")
    MEDIATOR = "mediator", _("Mediator")


class GridAdviser(models.Model):
    """五员进网: a judge, prosecutor, police officer, lawyer or mediator linked to grids."""

    grid = models.ForeignKey(
        Grid, verbose_name=_("grid"), on_delete=models.CASCADE, related_name="advisers"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=AdviserKind.choices)
    name = models.CharField(_("name"), max_length=50)
    organisation = models.CharField(_("organisation"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("grid adviser")
        verbose_name_plural = _("grid advisers")
        ordering = ["grid__code", "kind"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.name}"


class TrainingSession(models.Model):
    """A training session (培训) held for the grid workers of an area."""

    area = models.ForeignKey(
        Area, verbose_name=_("area"), on_delete=models.PROTECT, related_name="trainings"
    )
    title = models.CharField(_("title"), max_length=200)
    topic = models.TextField(_("topic"), blank=True)
    held_at = models.DateTimeField(_("held at"))
    place = models.CharField(_("place"), max_length=200, blank=True)
    hours = models.DecimalField(_("hours"), max_digits=4, decimal_places=1, default=2)
    created_by = models.ForeignKey(
        User, verbose_name=_("created by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("training session")
        verbose_name_plural = _("training sessions")
        ordering = ["-held_at", "-id"]

    def __str__(self) -> str:
        return self.title


class TrainingAttendance(models.Model):
    """Who was invited to a session and whether they attended."""

    session = models.ForeignKey(
        TrainingSession,
        verbose_name=_("training session"),
        on_delete=models.CASCADE,
        related_name="attendance",
    )
    user = models.ForeignKey(
        User, verbose_name=_("worker"), on_delete=models.CASCADE, related_name="trainings"
    )
    attended = models.BooleanField(_("attended"), default=False)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("training attendance")
        verbose_name_plural = _("training attendance")
        constraints = [
            models.UniqueConstraint(fields=["session", "user"], name="uniq_training_attendance")
        ]

    def __str__(self) -> str:
        return f"{self.session} · {self.user}"


class CommendationKind(models.TextChoices):
    POST_STAR = "post_star", _("Post star (岗位之星)")
    EXCELLENT = "excellent", _("Excellent grid worker (优秀网格员)")


class Commendation(models.Model):
    """A commendation awarded for the quality of the work, with its reason (never a count)."""

    user = models.ForeignKey(
        User, verbose_name=_("worker"), on_delete=models.CASCADE, related_name="commendations"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=CommendationKind.choices)
    period = models.CharField(_("period"), max_length=20)
    reason = models.TextField(_("reason"))
    area = models.ForeignKey(
        Area,
        verbose_name=_("awarded by area"),
        on_delete=models.PROTECT,
        related_name="commendations",
    )
    awarded_on = models.DateField(_("awarded on"))
    awarded_by = models.ForeignKey(
        User, verbose_name=_("awarded by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("commendation")
        verbose_name_plural = _("commendations")
        ordering = ["-awarded_on", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.user}"
