"""The field app's key places as base-data places and risk points, with their check-ins.

A field ``KeyPlace`` (the point workers check in at) is adopted as a base-data record: a risk
point for the kind ``risk_point``, a place for the others, linked one to one
(``Place.key_place`` / ``RiskPoint.key_place``). New key places are adopted when they are saved
(a signal), existing ones by ``adopt_all`` (the ``basedata_keyplaces`` command and the demo).
The other way, ``checkins_enable`` gives a base-data place or risk point a key place through the
field app's service, so workers can check in at it. The record's page lists its check-ins and
flags a check-in overdue after ``check_in_days``. The field tables are read, never changed here.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.core.errors import DomainError
from civicgrid.field.models import CheckIn, KeyPlace, KeyPlaceKind
from civicgrid.field.services import keyplace_create

from . import services
from .models import ChangeLog, Place, RiskPoint


def _model_for(kp: KeyPlace):
    return RiskPoint if kp.kind == KeyPlaceKind.RISK_POINT else Place


def _record(kp: KeyPlace):
    model = _model_for(kp)
    common = dict(
        name=kp.name[:100],
        address=kp.address,
        lat=kp.lat,
        lng=kp.lng,
        grid_id=kp.grid_id,
        scope_code=kp.grid.code if kp.grid_id else kp.scope_code,
        key_place=kp,
        confirmed_at=timezone.now(),
    )
    if model is RiskPoint:
        return RiskPoint(kind=RiskPoint.Kind.OTHER, level=RiskPoint.Level.LOW, **common)
    return Place(kind=Place.Kind.OTHER, **common)


def record_of(kp: KeyPlace):
    """The base-data record adopted from ``kp``, or None."""
    return (
        Place.objects.filter(key_place=kp).first() or RiskPoint.objects.filter(key_place=kp).first()
    )


def adopt(kp: KeyPlace) -> tuple[Place | RiskPoint, bool]:
    """The base-data record of a key place, created on first call (idempotent)."""
    found = record_of(kp)
    if found is not None:
        return found, False
    obj = _record(kp)
    try:
        with transaction.atomic():
            obj.save()
            ChangeLog.objects.create(
                entity=obj._meta.model_name,
                object_id=obj.pk,
                actor=None,
                action="adopt",
                changes={"key_place": kp.pk, "name": obj.name},
                scope_code=obj.scope_code,
            )
    except IntegrityError:  # adopted concurrently
        return record_of(kp), False
    return obj, True


def adopt_all(batch: int = 1000) -> dict[str, int]:
    """Adopt every key place not yet adopted (bulk; idempotent). Returns counts by entity."""
    counts = {"place": 0, "riskpoint": 0}
    qs = (
        KeyPlace.objects.filter(basedata_place__isnull=True, basedata_riskpoint__isnull=True)
        .select_related("grid")
        .order_by("pk")
    )
    while True:
        rows = list(qs[:batch])
        if not rows:
            return counts
        with transaction.atomic():
            for model in (Place, RiskPoint):
                objs = [_record(kp) for kp in rows if _model_for(kp) is model]
                if not objs:
                    continue
                made = model.objects.bulk_create(objs, batch_size=batch)
                ids = [o.pk for o in made if o.pk]
                if len(ids) != len(made):  # backends without RETURNING ids
                    ids = list(
                        model.objects.filter(key_place__in=[o.key_place_id for o in objs])
                        .order_by("pk")
                        .values_list("pk", flat=True)
                    )
                ChangeLog.objects.bulk_create(
                    [
                        ChangeLog(
                            entity=model._meta.model_name,
                            object_id=pk,
                            action="adopt",
                            changes={},
                            scope_code=o.scope_code,
                        )
                        for pk, o in zip(ids, objs, strict=False)
                    ]
                )
                counts[model._meta.model_name] += len(objs)


def checkins_enable(*, record, actor, radius_m: int = 100) -> KeyPlace:
    """Give a place or risk point a check-in point (a field key place) in its grid."""
    if record.key_place_id:
        return record.key_place
    services._check_write(actor, record.scope_code)
    kind = KeyPlaceKind.RISK_POINT if isinstance(record, RiskPoint) else KeyPlaceKind.KEY_PLACE
    with transaction.atomic():
        locked = type(record).objects.select_for_update().get(pk=record.pk)
        if locked.key_place_id:
            return locked.key_place
        kp = keyplace_create(
            actor=actor,
            grid=record.grid,
            name=record.name,
            lat=record.lat,
            lng=record.lng,
            kind=kind,
            address=record.address,
            radius_m=radius_m,
            note=_("Base-data record %(pk)s") % {"pk": record.pk},
        )
        type(record).objects.filter(pk=record.pk).update(key_place=kp)
        record.key_place = kp
        services._log(
            record._meta.model_name, record, actor, "checkins_enable", {"key_place": kp.pk}
        )
    return kp


def checkins_for(record, limit: int = 20) -> dict:
    """The record's recent check-ins and whether one is overdue (``check_in_days``)."""
    if not record.key_place_id:
        return {"enabled": False, "rows": [], "last": None, "overdue": False}
    rows = list(
        CheckIn.objects.filter(place_id=record.key_place_id)
        .select_related("worker")
        .order_by("-checked_at")[:limit]
    )
    last = rows[0].checked_at if rows else None
    due = (last or record.created_at) + dt.timedelta(days=record.check_in_days)
    return {
        "enabled": True,
        "rows": rows,
        "last": last,
        "due": due,
        "overdue": due < timezone.now(),
    }


def on_keyplace_saved(sender, instance: KeyPlace, created: bool, raw: bool = False, **kwargs):
    """Adopt a new key place once its transaction commits (a fixture load is left alone)."""
    if created and not raw:
        transaction.on_commit(lambda: _adopt_quietly(instance.pk))


def _adopt_quietly(pk: int) -> None:
    kp = KeyPlace.objects.select_related("grid").filter(pk=pk).first()
    if kp is not None:
        try:
            adopt(kp)
        except DomainError:
            pass
