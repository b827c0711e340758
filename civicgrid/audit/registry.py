"""Which models are audited, and how each is written into before/after images."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import models

from .services import jsonable


def mask_phone(value: str) -> str:
    """138****1234: enough to tell numbers apart in an audit review, not enough to call."""
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def secret_marker(value) -> str:
    """Shows that a secret changed without its value: a short digest of the stored (already
    hashed) credential."""
    if not value:
        return ""
    return "sha256:" + hashlib.sha256(str(value).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Spec:
    """``ignore``: bookkeeping fields whose change alone is not an event; ``secret``: recorded as
    changed but never by value; ``masked``: personal data recorded masked; ``create_action``:
    the action a new row stands for (an export, a reveal)."""

    ignore: frozenset[str] = field(default_factory=frozenset)
    secret: frozenset[str] = field(default_factory=frozenset)
    masked: frozenset[str] = field(default_factory=frozenset)
    create_action: str = "create"
    only_create: bool = False


BOUNDED_IGNORE = frozenset({"updated_at"})

SPECS: dict[str, Spec] = {
    # territory edits (imports are bulk writes: territory.io.apply records one event per import)
    "territory.area": Spec(ignore=BOUNDED_IGNORE),
    "territory.grid": Spec(ignore=BOUNDED_IGNORE),
    "territory.microgrid": Spec(ignore=BOUNDED_IGNORE),
    "field.keyplace": Spec(),
    # users and role assignments
    "people.user": Spec(
        ignore=frozenset({"last_login"}),
        secret=frozenset({"password"}),
        masked=frozenset({"phone"}),
    ),
    "people.roleassignment": Spec(),
    "people.gridmember": Spec(),
    "people.gridadviser": Spec(masked=frozenset({"phone"})),
    "people.trainingsession": Spec(),
    "people.trainingattendance": Spec(),
    "people.commendation": Spec(),
    "people.center": Spec(),
    "people.department": Spec(),
    "auth.group": Spec(),
    # configuration: categories (with their SLA limits), admission list, holiday calendar
    "cases.category": Spec(),
    "cases.admissionitem": Spec(),
    "cases.holiday": Spec(),
    "public.emergencydevice": Spec(
        secret=frozenset({"token_hash"}), masked=frozenset({"phone", "contact_phone"})
    ),
    # credentials, exports and reveals of personal data
    "api.apitoken": Spec(ignore=frozenset({"last_used_at"}), secret=frozenset({"digest"})),
    "analytics.export": Spec(create_action="export", only_create=True),
    "console.phonereveal": Spec(create_action="reveal", only_create=True),
    "basedata.reveallog": Spec(create_action="reveal", only_create=True),
}


def spec_for(model: type[models.Model]) -> Spec | None:
    return SPECS.get(model._meta.label_lower)


def image(obj: models.Model, spec: Spec) -> dict:
    """Every concrete field's value, JSON-ready, secrets hidden and personal data masked."""
    out = {}
    for f in obj._meta.concrete_fields:
        if f.name in spec.ignore:
            continue
        value = getattr(obj, f.attname)
        if isinstance(f, models.DecimalField | models.DateField | models.IntegerField):
            try:  # an unsaved instance may still hold the int or str it was given
                value = f.to_python(value)
            except ValidationError:
                pass
        if f.name in spec.secret:
            value = secret_marker(value)
        elif f.name in spec.masked:
            value = mask_phone(str(value or ""))
        out[f.attname] = jsonable(value)
    return out


def diff(before: dict, after: dict) -> tuple[dict, dict]:
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}
