"""党建引领 and 包联: party organisations on the grids, party members and volunteers taken from
base data with the households they serve, cadre liaison assignments and their monthly visits.

Every row carries a ``scope_code`` (a grid code, or a community code for a community assignment)
so the one scoping function of ``people/access.py`` filters it like cases (docs/party.md).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from civicgrid.basedata.models import Household, Person
from civicgrid.territory.models import Area, Grid


class OrgKind(models.TextChoices):
    BRANCH = "branch", _("Grid party branch (网格党支部)")
    GROUP = "group", _("Party group (党小组)")


class PartyOrganisation(models.Model):
    """A 网格党支部 or 党小组 sitting on one grid."""

    grid = models.ForeignKey(
        Grid, verbose_name=_("grid"), on_delete=models.PROTECT, related_name="party_organisations"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=OrgKind.choices)
    name = models.CharField(_("name"), max_length=100)
    secretary = models.ForeignKey(
        Person,
        verbose_name=_("secretary / group leader"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    scope_code = models.CharField(_("scope code"), max_length=17, db_index=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("party organisation")
        verbose_name_plural = _("party organisations")
        ordering = ["scope_code", "kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["grid", "name"], name="uniq_party_org_name"),
        ]

    def __str__(self) -> str:
        return self.name


class MemberKind(models.TextChoices):
    MEMBER = "member", _("Party member")
    VOLUNTEER = "volunteer", _("Volunteer")


class PartyMember(models.Model):
    """A party member or volunteer: a base-data person, maybe with an account for 党员履单."""

    person = models.OneToOneField(
        Person, verbose_name=_("person"), on_delete=models.PROTECT, related_name="party_member"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=MemberKind.choices)
    organisation = models.ForeignKey(
        PartyOrganisation,
        verbose_name=_("party organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="party_member",
    )
    central_household = models.ForeignKey(
        Household,
        verbose_name=_("central household (党员中心户)"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    scope_code = models.CharField(_("scope code"), max_length=17, db_index=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("party member / volunteer")
        verbose_name_plural = _("party members and volunteers")
        ordering = ["scope_code", "id"]

    def __str__(self) -> str:
        return self.person.name


class ContactHousehold(models.Model):
    """党员联系户: a household a party member serves."""

    member = models.ForeignKey(
        PartyMember, verbose_name=_("member"), on_delete=models.CASCADE, related_name="contacts"
    )
    household = models.ForeignKey(
        Household, verbose_name=_("household"), on_delete=models.CASCADE, related_name="+"
    )
    scope_code = models.CharField(_("scope code"), max_length=17, db_index=True, editable=False)
    since = models.DateField(_("since"))

    class Meta:
        verbose_name = _("contact household (党员联系户)")
        verbose_name_plural = _("contact households (党员联系户)")
        constraints = [
            models.UniqueConstraint(fields=["member", "household"], name="uniq_contact_household")
        ]

    def __str__(self) -> str:
        return f"{self.member_id} → {self.household_id}"


class LiaisonAssignment(models.Model):
    """包联: a leader or cadre assigned to a grid or to a community (each of its grids)."""

    cadre = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("cadre"),
        on_delete=models.CASCADE,
        related_name="liaison_assignments",
    )
    grid = models.ForeignKey(
        Grid, verbose_name=_("grid"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    community = models.ForeignKey(
        Area, verbose_name=_("community"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    scope_code = models.CharField(_("scope code"), max_length=17, db_index=True, editable=False)
    since = models.DateField(_("since"))
    ended_on = models.DateField(_("ended on"), null=True, blank=True)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("liaison assignment (包联)")
        verbose_name_plural = _("liaison assignments (包联)")
        ordering = ["scope_code", "cadre_id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(grid__isnull=False, community__isnull=True)
                | models.Q(grid__isnull=True, community__isnull=False),
                name="liaison_grid_xor_community",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cadre} · {self.grid or self.community}"


class LiaisonVisit(models.Model):
    """One 包联 visit to one grid: time, place, people met, what was raised (cases)."""

    assignment = models.ForeignKey(
        LiaisonAssignment,
        verbose_name=_("assignment"),
        on_delete=models.PROTECT,
        related_name="visits",
    )
    cadre = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("cadre"), on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    grid = models.ForeignKey(
        Grid, verbose_name=_("grid"), on_delete=models.PROTECT, related_name="+"
    )
    visited_at = models.DateTimeField(_("visited at"))
    place = models.CharField(_("place"), max_length=200)
    people_met = models.TextField(_("people met"), max_length=1000)
    note = models.TextField(_("note"), max_length=4000, blank=True)
    cases = models.ManyToManyField(
        "cases.Case", verbose_name=_("problems raised"), blank=True, related_name="+"
    )
    client_id = models.UUIDField(_("client id"), default=uuid.uuid4, unique=True)
    scope_code = models.CharField(_("scope code"), max_length=17, db_index=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("liaison visit")
        verbose_name_plural = _("liaison visits")
        ordering = ["-visited_at"]
        indexes = [models.Index(fields=["grid", "visited_at"])]

    def __str__(self) -> str:
        return f"{self.grid_id} {self.visited_at:%Y-%m-%d %H:%M}"


class LiaisonReminder(models.Model):
    """A month-end reminder sent for one assignment and grid (sent once per month)."""

    assignment = models.ForeignKey(
        LiaisonAssignment, on_delete=models.CASCADE, related_name="reminders"
    )
    grid = models.ForeignKey(Grid, on_delete=models.CASCADE, related_name="+")
    month = models.DateField(_("month"))
    sent_at = models.DateTimeField(_("sent at"), auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["assignment", "grid", "month"], name="uniq_liaison_reminder"
            )
        ]

    def __str__(self) -> str:
        return f"{self.assignment_id} {self.grid_id} {self.month:%Y-%m}"
