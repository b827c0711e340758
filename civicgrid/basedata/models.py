"""Base data (GB/T 31000 "9+X"): houses, households, persons, tags, visits, organisations,
places, risk points and things. Every record lies in a grid and carries that grid's code in
``scope_code`` so the one scoping function filters it like cases.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from civicgrid.people.models import Department
from civicgrid.territory.models import Grid

from . import crypto


class Located(models.Model):
    """A record with an address, a WGS-84 point and the grid Locate put it in."""

    address = models.CharField(_("address"), max_length=200, blank=True)
    lat = models.FloatField(_("latitude"))
    lng = models.FloatField(_("longitude"))
    grid = models.ForeignKey(
        Grid, verbose_name=_("grid"), on_delete=models.PROTECT, related_name="+"
    )
    scope_code = models.CharField(_("scope code"), max_length=17, db_index=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    confirmed_at = models.DateTimeField(_("last confirmed"), null=True, blank=True)

    class Meta:
        abstract = True


class RegionCode(models.Model):
    """A 6-digit administrative division code (GB/T 2260) accepted as a 户籍地."""

    code = models.CharField(_("code"), max_length=6, primary_key=True)
    name = models.CharField(_("name"), max_length=60)

    class Meta:
        verbose_name = _("region code")
        verbose_name_plural = _("region codes")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class House(Located):
    class Use(models.TextChoices):
        OWN = "own", _("Owner-occupied")
        RENTED = "rented", _("Rented")
        VACANT = "vacant", _("Vacant")
        BUSINESS = "business", _("Business")
        OTHER = "other", _("Other")

    building = models.CharField(_("building"), max_length=40)
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    room = models.CharField(_("room"), max_length=20)
    use = models.CharField(_("use"), max_length=10, choices=Use.choices, default=Use.OWN)
    area_m2 = models.DecimalField(
        _("floor area (m²)"), max_digits=8, decimal_places=1, null=True, blank=True
    )
    landlord = models.ForeignKey(
        "Person",
        verbose_name=_("landlord"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="houses_let",
    )
    tenants = models.ManyToManyField(
        "Person", verbose_name=_("tenants"), blank=True, related_name="tenancies"
    )

    class Meta:
        verbose_name = _("house")
        verbose_name_plural = _("houses")
        constraints = [
            models.UniqueConstraint(
                fields=["grid", "address", "building", "unit", "room"], name="uniq_house_room"
            ),
        ]
        indexes = [models.Index(fields=["scope_code", "id"])]

    def __str__(self) -> str:
        return self.label(self.address, self.building, self.unit, self.room)

    @staticmethod
    def label(address: str, building: str, unit: str, room: str) -> str:
        """``和平路1号1栋2单元301室``: how a house is named on pages, exports and persons."""
        parts = [address, f"{building}栋", f"{unit}单元" if unit else "", f"{room}室"]
        return "".join(p for p in parts if p)


class Person(Located):
    class IdType(models.TextChoices):
        RESIDENT = "resident", _("Resident ID card")
        PASSPORT = "passport", _("Passport")
        HK_MACAO = "hk_macao", _("Mainland travel permit (Hong Kong/Macao)")
        TAIWAN = "taiwan", _("Mainland travel permit (Taiwan)")
        FOREIGN_PR = "foreign_pr", _("Foreign permanent resident ID")

    class Gender(models.TextChoices):
        MALE = "M", _("Male")
        FEMALE = "F", _("Female")

    class Category(models.TextChoices):
        REGISTERED = "registered", _("Registered resident")
        FLOATING = "floating", _("Floating population")
        OVERSEAS = "overseas", _("Overseas person")
        SEPARATED = "separated", _("Registered elsewhere in the city")

    class Political(models.TextChoices):
        MASSES = "masses", _("Masses")
        CPC = "cpc", _("CPC member")
        PROBATIONARY = "probationary", _("Probationary CPC member")
        LEAGUE = "league", _("Communist Youth League member")
        OTHER_PARTY = "other_party", _("Member of another party")

    name = models.CharField(_("name"), max_length=50)  # prefix search: the index in Meta
    # Located's field without its two indexes: Meta has (scope_code, id) for a grid's roster in
    # id order and one pattern index for area prefixes.
    scope_code = models.CharField(_("scope code"), max_length=17, editable=False)
    id_type = models.CharField(
        _("ID type"), max_length=12, choices=IdType.choices, default=IdType.RESIDENT
    )
    id_number_enc = models.TextField(_("ID number (encrypted)"), editable=False)
    # Unique and looked up by equality only: the constraint and index of Meta, not
    # ``unique=True``/``db_index=True``, which on PostgreSQL add a second, pattern-matching
    # (``varchar_pattern_ops``) index that a blind index never uses and every insert pays for.
    id_number_bidx = models.CharField(_("ID number blind index"), max_length=32, editable=False)
    id_number_mask = models.CharField(_("ID number"), max_length=24, editable=False)
    phone_enc = models.TextField(_("phone (encrypted)"), blank=True, editable=False)
    phone_bidx = models.CharField(_("phone blind index"), max_length=32, blank=True, editable=False)
    phone_mask = models.CharField(_("phone"), max_length=20, blank=True, editable=False)
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    hukou_region = models.CharField(
        _("registered residence (region code)"), max_length=6, blank=True
    )
    house = models.ForeignKey(
        House,
        verbose_name=_("current house"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="residents",
    )
    category = models.CharField(
        _("category"), max_length=12, choices=Category.choices, default=Category.REGISTERED
    )
    political_status = models.CharField(
        _("political status"), max_length=14, choices=Political.choices, default=Political.MASSES
    )
    employer = models.ForeignKey(
        "Organisation",
        verbose_name=_("employer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="staff",
    )

    ID_CONTEXT = "person.id_number"
    PHONE_CONTEXT = "person.phone"

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("persons")
        # Every index is paid for by every insert (an import of 100,000 persons, 12 M rows in
        # a city): only those a query uses. Names are searched by prefix (LIKE 'x%'), which
        # on PostgreSQL needs the pattern operator class (it also serves equality).
        indexes = [
            models.Index(fields=["phone_bidx"], name="basedata_person_phone_bidx"),
            models.Index(
                fields=["name"],
                name="basedata_person_name_prefix",
                opclasses=["varchar_pattern_ops"],
            ),
            models.Index(fields=["scope_code", "id"], name="basedata_person_scope_id"),
            models.Index(
                fields=["scope_code"],
                name="basedata_person_scope_prefix",
                opclasses=["varchar_pattern_ops"],
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["id_number_bidx"], name="basedata_person_id_bidx_uniq")
        ]
        permissions = [("reveal_personal_data", "Can reveal unmasked ID numbers and phones")]

    def __str__(self) -> str:
        return f"{self.name} {self.id_number_mask}"

    def reveal_id_number(self) -> str:
        """The plaintext ID number: only through ``person_reveal``, which logs it."""
        return crypto.decrypt(self.id_number_enc, context=self.ID_CONTEXT)

    def reveal_phone(self) -> str:
        return crypto.decrypt(self.phone_enc, context=self.PHONE_CONTEXT) if self.phone_enc else ""


class Household(models.Model):
    house = models.ForeignKey(
        House, verbose_name=_("house"), on_delete=models.PROTECT, related_name="households"
    )
    head = models.ForeignKey(
        Person,
        verbose_name=_("head of household"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    scope_code = models.CharField(_("scope code"), max_length=17, db_index=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")

    def __str__(self) -> str:
        return f"{self.house} {self.head.name if self.head_id else ''}".strip()


class HouseholdMember(models.Model):
    class Relation(models.TextChoices):
        HEAD = "head", _("Head")
        SPOUSE = "spouse", _("Spouse")
        CHILD = "child", _("Child")
        PARENT = "parent", _("Parent")
        GRANDCHILD = "grandchild", _("Grandchild")
        SIBLING = "sibling", _("Sibling")
        OTHER = "other", _("Other")

    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="members")
    person = models.OneToOneField(Person, on_delete=models.CASCADE, related_name="membership")
    relation = models.CharField(_("relation"), max_length=12, choices=Relation.choices)

    class Meta:
        verbose_name = _("household member")
        verbose_name_plural = _("household members")

    def __str__(self) -> str:
        return f"{self.person_id} ({self.relation})"


class TagKind(models.Model):
    """A person tag kind (留守儿童, 社区矫正, 严重精神障碍 …, or an admin's X tag) with its fields.

    ``fields`` is a list of ``{"name", "label", "type": text|int|date|choice, "required",
    "choices", "min", "max"}``. A sensitive kind is visible only to the roles that serve it: the
    grid's workers and chief, the center's operators and the departments listed here.
    """

    class Group(models.TextChoices):
        CARE = "care", _("Care and assistance")
        SPECIAL = "special", _("Special population")
        YOUTH = "youth", _("Key youth")
        LOCAL = "local", _("Local (X) tag")

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=40)
    group = models.CharField(_("group"), max_length=10, choices=Group.choices, default=Group.LOCAL)
    sensitive = models.BooleanField(_("sensitive"), default=False)
    fields = models.JSONField(_("fields"), default=list, blank=True)
    visit_days = models.PositiveSmallIntegerField(_("default visit interval (days)"), default=90)
    departments = models.ManyToManyField(
        Department, verbose_name=_("serving departments"), blank=True, related_name="tag_kinds"
    )
    builtin = models.BooleanField(_("built in"), default=False, editable=False)
    order = models.PositiveSmallIntegerField(_("order"), default=100)

    class Meta:
        verbose_name = _("tag kind")
        verbose_name_plural = _("tag kinds")
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return self.name


class VisitRule(models.Model):
    """A rule overriding a tag kind's visit interval; the first matching rule (by order) wins.

    Matches when ``field`` (an int field of the tag) is ≥ ``min_value``, and/or when today is
    within ``within_days`` of the date in ``date_field`` (e.g. the first year after release).
    """

    kind = models.ForeignKey(TagKind, on_delete=models.CASCADE, related_name="rules")
    order = models.PositiveSmallIntegerField(_("order"), default=10)
    field = models.CharField(_("field"), max_length=30, blank=True)
    min_value = models.IntegerField(_("minimum value"), null=True, blank=True)
    date_field = models.CharField(_("date field"), max_length=30, blank=True)
    within_days = models.PositiveIntegerField(_("within days of the date"), null=True, blank=True)
    interval_days = models.PositiveSmallIntegerField(_("visit interval (days)"))

    class Meta:
        verbose_name = _("visit rule")
        verbose_name_plural = _("visit rules")
        ordering = ["kind", "order"]

    def __str__(self) -> str:
        return f"{self.kind_id}: {self.interval_days} d"


class PersonTag(models.Model):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="tags")
    kind = models.ForeignKey(
        TagKind, verbose_name=_("tag"), on_delete=models.PROTECT, related_name="tags"
    )
    data = models.JSONField(_("fields"), default=dict, blank=True)
    since = models.DateField(_("since"), null=True, blank=True)
    until = models.DateField(_("until"), null=True, blank=True)
    scope_code = models.CharField(_("scope code"), max_length=17, editable=False)
    sensitive = models.BooleanField(default=False, editable=False)  # copied from the kind
    last_visit_at = models.DateTimeField(_("last visit"), null=True, blank=True)
    next_visit_due = models.DateField(_("next visit due"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("person tag")
        verbose_name_plural = _("person tags")
        constraints = [models.UniqueConstraint(fields=["person", "kind"], name="uniq_person_tag")]
        indexes = [
            models.Index(fields=["kind", "scope_code"]),
            models.Index(fields=["scope_code", "next_visit_due"]),
        ]

    def __str__(self) -> str:
        return f"{self.person.name} · {self.kind.name}"


class Visit(models.Model):
    """A 走访记录: one visit by a worker to a person (for a tag) or a house."""

    client_id = models.UUIDField(_("client id"), unique=True, default=uuid.uuid4)
    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("worker"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    person = models.ForeignKey(
        Person,
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="visits",
    )
    tag = models.ForeignKey(
        PersonTag,
        verbose_name=_("tag"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="visits",
    )
    house = models.ForeignKey(
        House,
        verbose_name=_("house"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="visits",
    )
    at = models.DateTimeField(_("time"))
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    lng = models.FloatField(_("longitude"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    findings = models.TextField(_("findings"), blank=True)
    photo = models.ImageField(_("photo"), upload_to="basedata/visits/%Y/%m/", blank=True)
    was_overdue = models.BooleanField(_("overdue"), default=False)
    scope_code = models.CharField(_("scope code"), max_length=17, db_index=True, editable=False)
    case = models.ForeignKey(
        "cases.Case",
        verbose_name=_("case raised"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"visit {self.pk} {self.at:%Y-%m-%d}"


class Organisation(Located):
    class Kind(models.TextChoices):
        ENTERPRISE = "enterprise", _("Non-public enterprise")
        INDIVIDUAL = "individual", _("Individual business")
        SOCIAL = "social", _("Social organisation")
        OTHER = "other", _("Other")

    name = models.CharField(_("name"), max_length=100)
    uscc = models.CharField(_("unified social credit code"), max_length=18, unique=True)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.ENTERPRISE)
    legal_rep = models.ForeignKey(
        Person,
        verbose_name=_("legal representative"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    staff_count = models.PositiveIntegerField(_("staff"), default=0)
    has_party_org = models.BooleanField(_("party organisation"), default=False)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        indexes = [models.Index(fields=["scope_code", "id"])]

    def __str__(self) -> str:
        return self.name


class Place(Located):
    """A key place (地): school, hospital, market, 九小场所 …"""

    class Kind(models.TextChoices):
        SCHOOL = "school", _("School")
        HOSPITAL = "hospital", _("Hospital")
        MARKET = "market", _("Market")
        SMALL = "small", _("Small venue (九小场所)")
        RELIGIOUS = "religious", _("Religious venue")
        OTHER = "other", _("Other")

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    responsible = models.ForeignKey(
        Person,
        verbose_name=_("responsible person"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    check_in_days = models.PositiveSmallIntegerField(_("check-in every (days)"), default=30)
    key_place = models.OneToOneField(
        "field.KeyPlace",
        verbose_name=_("check-in point"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="basedata_place",
    )

    class Meta:
        verbose_name = _("place")
        verbose_name_plural = _("places")

    def __str__(self) -> str:
        return self.name


class RiskPoint(Located):
    """A hazard (风险点/隐患点) with its level, responsible person and check-in frequency."""

    class Kind(models.TextChoices):
        GEOLOGICAL = "geological", _("Geological hazard")
        UNSAFE_BUILDING = "unsafe_building", _("Unsafe building")
        CHEMICALS = "chemicals", _("Hazardous chemicals")
        FIRE = "fire", _("Fire hazard")
        FLOOD = "flood", _("Flood")
        OTHER = "other", _("Other")

    class Level(models.IntegerChoices):
        LOW = 1, _("Low")
        MEDIUM = 2, _("Medium")
        HIGH = 3, _("High")
        MAJOR = 4, _("Major")

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices, default=Level.LOW)
    responsible = models.ForeignKey(
        Person,
        verbose_name=_("responsible person"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    check_in_days = models.PositiveSmallIntegerField(_("check-in every (days)"), default=7)
    key_place = models.OneToOneField(
        "field.KeyPlace",
        verbose_name=_("check-in point"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="basedata_riskpoint",
    )

    class Meta:
        verbose_name = _("risk point")
        verbose_name_plural = _("risk points")

    def __str__(self) -> str:
        return self.name


class Thing(Located):
    """A city component (城市部件): manhole, streetlight, hydrant, camera, bin …"""

    class Kind(models.TextChoices):
        MANHOLE = "manhole", _("Manhole cover")
        STREETLIGHT = "streetlight", _("Streetlight")
        HYDRANT = "hydrant", _("Fire hydrant")
        CAMERA = "camera", _("Camera")
        BIN = "bin", _("Waste bin")
        OTHER = "other", _("Other")

    class State(models.TextChoices):
        OK = "ok", _("In order")
        DAMAGED = "damaged", _("Damaged")
        MISSING = "missing", _("Missing")
        RETIRED = "retired", _("Retired")

    code = models.CharField(_("code"), max_length=30, unique=True)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    owner_department = models.ForeignKey(
        Department,
        verbose_name=_("owner department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.OK)

    class Meta:
        verbose_name = _("thing")
        verbose_name_plural = _("things")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.code}"


class ChangeLog(models.Model):
    """Who changed what on a base-data record, and when (immutable). PII values appear masked."""

    entity = models.CharField(_("entity"), max_length=20)
    object_id = models.BigIntegerField(_("record"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    action = models.CharField(_("action"), max_length=20)
    changes = models.JSONField(_("changes"), default=dict)
    at = models.DateTimeField(_("time"), auto_now_add=True)
    scope_code = models.CharField(max_length=17, editable=False)

    class Meta:
        verbose_name = _("change")
        verbose_name_plural = _("changes")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["entity", "object_id", "-at"])]

    def __str__(self) -> str:
        return f"{self.entity} {self.object_id} {self.action}"


class RevealLog(models.Model):
    """One unmasked view of a person's ID number or phone: who, when, which record, why, where."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.PROTECT, related_name="+"
    )
    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.CASCADE, related_name="reveals"
    )
    fields = models.CharField(_("fields"), max_length=40)
    reason = models.CharField(_("reason"), max_length=200)
    ip = models.GenericIPAddressField(_("address"), null=True, blank=True)
    at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        verbose_name = _("personal data reveal")
        verbose_name_plural = _("personal data reveals")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"reveal {self.person_id} by {self.user_id}"


class CaseLink(models.Model):
    """A case names a base-data record it is about (a person, house, place, organisation …).

    Scoped both ways: the case page lists the links whose record the viewer may see, and a
    record page lists the linked cases the viewer may see. ``scope_code`` is the record's.
    """

    class Entity(models.TextChoices):
        PERSON = "person", pgettext_lazy("basedata record", "Person")
        HOUSE = "house", pgettext_lazy("basedata record", "House")
        PLACE = "place", pgettext_lazy("basedata record", "Place")
        RISKPOINT = "riskpoint", pgettext_lazy("basedata record", "Risk point")
        ORGANISATION = "organisation", pgettext_lazy("basedata record", "Organisation")
        THING = "thing", pgettext_lazy("basedata record", "Thing")

    case = models.ForeignKey(
        "cases.Case",
        verbose_name=_("case"),
        on_delete=models.CASCADE,
        related_name="basedata_links",
    )
    entity = models.CharField(_("record kind"), max_length=14, choices=Entity.choices)
    object_id = models.BigIntegerField(_("record"))
    scope_code = models.CharField(_("scope code"), max_length=17, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("linked by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("case link")
        verbose_name_plural = _("case links")
        constraints = [
            models.UniqueConstraint(
                fields=["case", "entity", "object_id"], name="uniq_basedata_case_link"
            )
        ]
        indexes = [models.Index(fields=["entity", "object_id"])]

    def __str__(self) -> str:
        return f"case {self.case_id} → {self.entity} {self.object_id}"


class Collection(models.Model):
    """One submission of the field app's collection form (house, household, persons, tags).

    Kept once per ``client_id`` so that a retry from the phone's outbox answers with the first
    result instead of writing anything again.
    """

    client_id = models.UUIDField(_("client id"), unique=True)
    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("worker"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    house = models.ForeignKey(
        House, verbose_name=_("house"), on_delete=models.CASCADE, related_name="collections"
    )
    result = models.JSONField(_("stored answer"), default=dict)
    scope_code = models.CharField(_("scope code"), max_length=17, editable=False)
    at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        verbose_name = _("collection")
        verbose_name_plural = _("collections")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"collection {self.client_id}"


class VisitNotice(models.Model):
    """An overdue-visit notice sent for one tag and one due date (at most once)."""

    tag = models.ForeignKey(PersonTag, on_delete=models.CASCADE, related_name="notices")
    due = models.DateField(_("due"))
    recipients = models.PositiveSmallIntegerField(_("recipients"), default=0)
    at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        verbose_name = _("overdue visit notice")
        verbose_name_plural = _("overdue visit notices")
        constraints = [models.UniqueConstraint(fields=["tag", "due"], name="uniq_visit_notice")]

    def __str__(self) -> str:
        return f"notice {self.tag_id} {self.due}"


class ImportEntity(models.TextChoices):
    PERSON = "person", _("Persons")
    HOUSE = "house", _("Houses")
    ORGANISATION = "organisation", _("Organisations")
    PLACE = "place", _("Places")
    RISKPOINT = "riskpoint", _("Risk points")
    THING = "thing", _("Things")


class ImportState(models.TextChoices):
    QUEUED = "queued", pgettext_lazy("import", "Queued")
    RUNNING = "running", pgettext_lazy("import", "Running")
    DONE = "done", pgettext_lazy("import", "Done")
    FAILED = "failed", pgettext_lazy("import", "Failed")


def import_upload_path(instance, filename: str) -> str:
    """A random name under ``imports/``: the upload holds plain ID numbers and phones, is never
    served, and its stored name tells nothing about who uploaded it."""
    import secrets

    return f"imports/{secrets.token_urlsafe(24)}.xlsx"


class ImportJob(models.Model):
    """A large Excel import (or check) run by the task worker; its creator follows its progress.

    The uploaded file is kept in the default (protected) storage only until the job finishes.
    ``report`` holds what the inline import shows: rows, created, updated, committed, ok,
    errors (row, column, reason) and error_count. ``scope`` is the code prefixes the creator
    could write to when the job was queued (null: unrestricted).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.CASCADE,
        related_name="import_jobs",
    )
    entity = models.CharField(_("record kind"), max_length=12, choices=ImportEntity.choices)
    filename = models.CharField(_("file name"), max_length=200, blank=True)
    file = models.FileField(_("file"), upload_to=import_upload_path, max_length=200, blank=True)
    commit = models.BooleanField(_("import (not a check)"), default=False)
    state = models.CharField(
        _("state"), max_length=8, choices=ImportState.choices, default=ImportState.QUEUED
    )
    total = models.PositiveIntegerField(_("rows in the file"), default=0)
    done = models.PositiveIntegerField(_("rows done"), default=0)
    report = models.JSONField(_("report"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    scope = models.JSONField(_("scope"), null=True, blank=True)
    lang = models.CharField(_("language of the report"), max_length=12, blank=True)
    # Bumped by each claim: only the run holding the latest claim may finish the job.
    attempt = models.PositiveSmallIntegerField(_("attempt"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="import_job_user_recent")]

    def __str__(self) -> str:
        return f"{self.get_entity_display()} {self.filename} #{self.pk}"

    @property
    def is_finished(self) -> bool:
        return self.state in (ImportState.DONE, ImportState.FAILED)
