"""Disputes (矛盾纠纷) and what resolving them needs: bodies, mediators, sessions, agreements,
回访 visits and 研判会商 meetings (docs/mediation.md).

A dispute is held by a center (矛调中心) at one of four levels; ``owner_code`` is that center's
area code and ``scope_code`` the code of the grid (or area) where the dispute arose. Its state
only moves through the workflow in ``civicgrid.mediation.workflow``.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from civicgrid.basedata.models import Person
from civicgrid.cases.models import Case
from civicgrid.core.models import ActionLog
from civicgrid.people.models import Center
from civicgrid.territory.models import Area, Grid


class DisputeState(models.TextChoices):
    REGISTERED = "registered", _("Registered")
    TRIAGED = "triaged", _("Triaged")
    MEDIATING = "mediating", _("Mediating")
    AGREED = "agreed", _("Agreed, fulfilling")
    FULFILLED = "fulfilled", _("Fulfilled")
    REFERRED = "referred", _("Not settled, referred")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    ARCHIVED = "archived", _("Archived")


# Before an outcome: the deadline clock runs and the SLA sweep supervises.
OPEN_STATES = (DisputeState.REGISTERED, DisputeState.TRIAGED, DisputeState.MEDIATING)
# Concluded (化解率's denominator): an outcome was reached, whatever came after.
CONCLUDED_STATES = (
    DisputeState.AGREED,
    DisputeState.FULFILLED,
    DisputeState.REFERRED,
    DisputeState.WITHDRAWN,
    DisputeState.ARCHIVED,
)


class DisputeSource(models.TextChoices):
    SCREENING = "screening", _("Grid worker screening (排查)")
    VISIT = "visit", _("Walk-in visit (来访)")
    LETTER = "letter", _("Letter (来信)")
    ONLINE = "online", _("Online (网上)")
    CASE = "case", _("Converted case")


class DisputeKind(models.TextChoices):
    NEIGHBOUR = "neighbour", _("Neighbour")
    FAMILY = "family", _("Marriage and family")
    LABOUR = "labour", _("Labour and wages")
    PROPERTY = "property", _("Property management")
    LAND = "land", _("Land and forest rights")
    MEDICAL = "medical", _("Medical")
    TRAFFIC = "traffic", _("Traffic accident")
    CONSUMER = "consumer", _("Consumer and contract")
    CAMPUS = "campus", _("Campus")
    OTHER = "other", _("Other")


class RiskLevel(models.IntegerChoices):
    LOW = 1, _("Low")
    MEDIUM = 2, _("Medium")
    HIGH = 3, _("High")


class LegalRoute(models.TextChoices):
    ARBITRATION = "arbitration", _("Arbitration (仲裁)")
    RECONSIDERATION = "reconsideration", _("Administrative reconsideration (行政复议)")
    ADJUDICATION = "adjudication", _("Administrative adjudication (行政裁决)")
    LITIGATION = "litigation", _("Litigation (诉讼)")


class BodyKind(models.TextChoices):
    PEOPLES = "peoples", _("People's mediation committee (人民调解委员会)")
    PROFESSIONAL = "professional", _("Trade / professional mediation committee")
    PETITION_ROOM = "petition_room", _("Petition mediation room (访调)")
    COURT_ROOM = "court_room", _("Court mediation room (诉调)")
    PROSECUTION_ROOM = "prosecution_room", _("Prosecution mediation room (检调)")
    POLICE_ROOM = "police_room", _("Police mediation room (公调)")


class MediatorKind(models.TextChoices):
    FULL_TIME = "full_time", _("Full-time mediator (专职调解员)")
    ELDER = "elder", _("Five elders (五老)")
    LAWYER = "lawyer", _("Lawyer")
    JUDGE = "judge", _("Judge")
    POLICE = "police", _("Police officer")
    VOLUNTEER = "volunteer", _("Volunteer")


class MediationBody(models.Model):
    """A mediation body at a center: a committee of a level, a trade committee or a room."""

    center = models.ForeignKey(
        Center, verbose_name=_("center"), on_delete=models.PROTECT, related_name="mediation_bodies"
    )
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=BodyKind.choices)
    speciality = models.CharField(
        _("speciality"), max_length=20, choices=DisputeKind.choices, blank=True
    )
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("mediation body")
        verbose_name_plural = _("mediation bodies")
        ordering = ["center__area__code", "kind", "name"]

    def __str__(self) -> str:
        return self.name


class Mediator(models.Model):
    """A member of the roster (点员台); ``user`` when the mediator signs in to see their disputes."""

    body = models.ForeignKey(
        MediationBody, verbose_name=_("body"), on_delete=models.PROTECT, related_name="mediators"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="mediator_roles",
    )
    name = models.CharField(_("name"), max_length=50)
    kind = models.CharField(_("kind"), max_length=20, choices=MediatorKind.choices)
    specialties = models.JSONField(_("specialties"), default=list, blank=True)
    available = models.BooleanField(_("available"), default=True)
    availability = models.CharField(_("availability"), max_length=100, blank=True)
    profile = models.CharField(_("profile"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("mediator")
        verbose_name_plural = _("mediators")
        ordering = ["body_id", "name"]

    def __str__(self) -> str:
        return self.name


class Dispute(models.Model):
    """矛盾纠纷: one dispute between parties, held by a 矛调中心."""

    number = models.CharField(_("number"), max_length=20, unique=True, editable=False)
    client_id = models.UUIDField(_("client id"), null=True, blank=True, unique=True)
    source = models.CharField(_("source"), max_length=12, choices=DisputeSource.choices)
    kind = models.CharField(_("kind"), max_length=20, choices=DisputeKind.choices)
    title = models.CharField(_("title"), max_length=200)
    facts = models.TextField(_("facts"))
    amount = models.DecimalField(
        _("amount at stake (yuan)"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    risk = models.PositiveSmallIntegerField(
        _("risk level"), choices=RiskLevel.choices, default=RiskLevel.LOW
    )
    violence_flag = models.BooleanField(_("may turn criminal (民转刑)"), default=False)
    violence_flagged_at = models.DateTimeField(_("民转刑 flagged at"), null=True, blank=True)
    grid = models.ForeignKey(
        Grid,
        verbose_name=_("grid"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    scope_code = models.CharField(_("scope code"), max_length=17, db_index=True, editable=False)
    address = models.CharField(_("address"), max_length=200, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    lng = models.FloatField(_("longitude"), null=True, blank=True)
    center = models.ForeignKey(
        Center, verbose_name=_("holding center"), on_delete=models.PROTECT, related_name="disputes"
    )
    owner_code = models.CharField(_("holding area code"), max_length=12, editable=False)
    level = models.PositiveSmallIntegerField(_("level"), choices=Area.Level.choices)
    first_level = models.PositiveSmallIntegerField(_("first level"), choices=Area.Level.choices)
    body = models.ForeignKey(
        MediationBody,
        verbose_name=_("mediation body"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="disputes",
    )
    mediator = models.ForeignKey(
        Mediator,
        verbose_name=_("mediator"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="disputes",
    )
    # The mediator's account, copied when the mediator is chosen, so "my disputes" is one column.
    mediator_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("mediator account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    chosen_by_party = models.BooleanField(_("mediator chosen by a party"), default=False)
    triage_reason = models.TextField(_("triage reason"), blank=True)
    case = models.OneToOneField(
        Case,
        verbose_name=_("case"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="dispute",
    )
    state = models.CharField(
        _("state"),
        max_length=12,
        choices=DisputeState.choices,
        default=DisputeState.REGISTERED,
        editable=False,
    )
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    due_at = models.DateTimeField(_("deadline"), null=True, blank=True)
    overdue = models.BooleanField(_("overdue"), default=False)
    supervision_count = models.PositiveSmallIntegerField(_("supervisions"), default=0)
    escalation_count = models.PositiveSmallIntegerField(_("escalations"), default=0)
    relapse_count = models.PositiveSmallIntegerField(_("relapses"), default=0)
    legal_route = models.CharField(
        _("legal route"), max_length=20, choices=LegalRoute.choices, blank=True
    )
    referral_note = models.TextField(_("referral"), blank=True)
    outcome_note = models.TextField(_("outcome"), blank=True)
    visitor_count = models.PositiveSmallIntegerField(_("visitors"), default=1)
    repeat_visit = models.BooleanField(_("repeat visit (重复来访)"), default=False)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("registered by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    registered_at = models.DateTimeField(_("registered at"), default=timezone.now, db_index=True)
    concluded_at = models.DateTimeField(_("concluded at"), null=True, blank=True)
    concluded_level = models.PositiveSmallIntegerField(
        _("concluded at level"), choices=Area.Level.choices, null=True, blank=True
    )
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        ordering = ["-registered_at", "-id"]
        indexes = [
            models.Index(fields=["owner_code", "state", "registered_at"], name="dispute_owner"),
            models.Index(fields=["scope_code", "registered_at"], name="dispute_scope"),
            models.Index(fields=["mediator_user", "state"], name="dispute_mediator"),
            models.Index(fields=["state", "due_at"], name="dispute_due"),
            models.Index(fields=["-registered_at", "-id"], name="dispute_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


class DisputeAction(ActionLog):
    """One row per action on a dispute, never updated nor deleted (the dispute's timeline)."""

    dispute = models.ForeignKey(
        Dispute, verbose_name=_("dispute"), on_delete=models.PROTECT, related_name="actions"
    )
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

    class Meta:
        verbose_name = _("dispute action")
        verbose_name_plural = _("dispute log")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["dispute", "created_at"], name="disputeaction_time")]

    def __str__(self) -> str:
        return f"{self.dispute_id} {self.action}"


class PartyRole(models.TextChoices):
    APPLICANT = "applicant", _("Applicant (申请人)")
    RESPONDENT = "respondent", _("Respondent (被申请人)")
    THIRD = "third", _("Third party")


class Party(models.Model):
    """A party to a dispute: a base-data person when the ID number is known, else a name."""

    dispute = models.ForeignKey(
        Dispute, verbose_name=_("dispute"), on_delete=models.CASCADE, related_name="parties"
    )
    role = models.CharField(_("role"), max_length=12, choices=PartyRole.choices)
    person = models.ForeignKey(
        Person,
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="dispute_parties",
    )
    name = models.CharField(_("name"), max_length=50)
    # Masked copies for lists and registers; the full numbers stay encrypted on the person.
    id_number_mask = models.CharField(_("ID number"), max_length=24, blank=True)
    phone_mask = models.CharField(_("phone"), max_length=20, blank=True)
    organisation = models.CharField(_("organisation"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("party")
        verbose_name_plural = _("parties")
        ordering = ["dispute_id", "role", "id"]

    def __str__(self) -> str:
        return self.name


class Session(models.Model):
    """One mediation session (调解会): when, where, who took part, what was said, agreed or not."""

    dispute = models.ForeignKey(
        Dispute, verbose_name=_("dispute"), on_delete=models.CASCADE, related_name="sessions"
    )
    held_at = models.DateTimeField(_("held at"))
    place = models.CharField(_("place"), max_length=100)
    participants = models.TextField(_("participants"))
    mediators = models.ManyToManyField(Mediator, verbose_name=_("mediators"), blank=True)
    summary = models.TextField(_("what was said"))
    agreed = models.BooleanField(_("agreed"), default=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("mediation session")
        verbose_name_plural = _("mediation sessions")
        ordering = ["dispute_id", "held_at", "id"]

    def __str__(self) -> str:
        return f"{self.dispute_id} {self.held_at:%Y-%m-%d}"


class Agreement(models.Model):
    """协议书: the terms the parties signed, the amount and the date by which it is fulfilled."""

    # A relapse reopens the dispute and a new mediation may end in a new agreement: the latest
    # one is the dispute's agreement.
    dispute = models.ForeignKey(
        Dispute, verbose_name=_("dispute"), on_delete=models.CASCADE, related_name="agreements"
    )
    number = models.CharField(_("number"), max_length=24, unique=True)
    terms = models.TextField(_("terms"))
    amount = models.DecimalField(
        _("amount (yuan)"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    signed_at = models.DateTimeField(_("signed at"))
    fulfil_by = models.DateField(_("to be fulfilled by"))
    fulfilled_at = models.DateTimeField(_("fulfilled at"), null=True, blank=True)
    fulfilment_note = models.TextField(_("fulfilment"), blank=True)

    class Meta:
        verbose_name = _("agreement")
        verbose_name_plural = _("agreements")
        ordering = ["dispute_id", "signed_at", "id"]

    def __str__(self) -> str:
        return self.number


class FollowUp(models.Model):
    """回访: a planned or ad-hoc follow-up visit and its answers."""

    dispute = models.ForeignKey(
        Dispute, verbose_name=_("dispute"), on_delete=models.CASCADE, related_name="followups"
    )
    due_date = models.DateField(_("due"))
    done_at = models.DateTimeField(_("visited at"), null=True, blank=True)
    visitor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("visitor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    fulfilled = models.BooleanField(_("agreement fulfilled"), null=True)
    satisfied = models.BooleanField(_("parties satisfied"), null=True)
    relapse = models.BooleanField(_("relapse"), default=False)
    note = models.TextField(_("note"), blank=True)
    client_id = models.UUIDField(_("client id"), null=True, blank=True, unique=True)

    class Meta:
        verbose_name = _("follow-up visit")
        verbose_name_plural = _("follow-up visits")
        ordering = ["dispute_id", "due_date", "id"]
        indexes = [models.Index(fields=["done_at", "due_date"], name="followup_due")]

    def __str__(self) -> str:
        return f"{self.dispute_id} {self.due_date}"


class Meeting(models.Model):
    """研判会商: a periodic analysis meeting of a center; it fills the 分析研判记录簿."""

    center = models.ForeignKey(
        Center, verbose_name=_("center"), on_delete=models.PROTECT, related_name="meetings"
    )
    owner_code = models.CharField(_("area code"), max_length=12, editable=False, db_index=True)
    held_at = models.DateTimeField(_("held at"))
    place = models.CharField(_("place"), max_length=100, blank=True)
    host = models.CharField(_("host"), max_length=50)
    attendees = models.TextField(_("attendees"))
    topic = models.CharField(_("topic"), max_length=200)
    disputes = models.ManyToManyField(
        Dispute, verbose_name=_("disputes discussed"), blank=True, related_name="meetings"
    )
    cases = models.ManyToManyField(
        Case, verbose_name=_("cases discussed"), blank=True, related_name="meetings"
    )
    situation = models.TextField(_("situation analysed"), blank=True)
    opinions = models.TextField(_("opinions"))
    decisions = models.TextField(_("decisions"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("analysis meeting")
        verbose_name_plural = _("analysis meetings")
        ordering = ["-held_at", "-id"]

    def __str__(self) -> str:
        return self.topic


class MeetingTask(models.Model):
    """A follow-up task decided at a meeting: what, who owns it, by when, done or not."""

    meeting = models.ForeignKey(
        Meeting, verbose_name=_("meeting"), on_delete=models.CASCADE, related_name="tasks"
    )
    task = models.CharField(_("task"), max_length=200)
    owner = models.CharField(_("owner"), max_length=100)
    due_date = models.DateField(_("due"))
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)

    class Meta:
        verbose_name = _("meeting follow-up task")
        verbose_name_plural = _("meeting follow-up tasks")
        ordering = ["meeting_id", "due_date", "id"]

    def __str__(self) -> str:
        return self.task


def new_number(prefix: str = "TJ") -> str:
    """A dispute or agreement number: prefix, date and a random suffix (unique by constraint)."""
    return f"{prefix}{timezone.localdate():%Y%m%d}{uuid.uuid4().hex[:6].upper()}"
