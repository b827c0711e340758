"""Every write of the field app. Case changes go through the cases services (the engine).

Offline delivery: each action queued on a phone carries a client id. Reports are idempotent in
the case engine itself (``Case.client_id``); patrols and check-ins by their own UUIDs; the other
case actions and grid-task completion store a ``Receipt`` with the answer in the same
transaction, so a retried delivery gets the first answer back instead of acting twice.
"""

from __future__ import annotations

import datetime as dt
import uuid as uuid_mod
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.cases import services as case_services
from civicgrid.cases.engine import case_act, state_label
from civicgrid.cases.models import Case, GridTask, Source, State
from civicgrid.cases.registry import CASES
from civicgrid.core.errors import Conflict, DomainError, Forbidden, NotFound
from civicgrid.core.workflow import Action
from civicgrid.people.models import GridMember, Role, User
from civicgrid.people.scoping import has_role, in_scope
from civicgrid.territory import crs as crs_mod
from civicgrid.territory.models import Grid

from . import tracks
from .models import CheckIn, KeyPlace, KeyPlaceKind, Patrol, PatrolState, Receipt

CODE_LENGTHS = (15, 12, 9, 6, 4)


# --- helpers ---------------------------------------------------------------------------------


def parse_uuid(value: Any, field: str = "client_id") -> uuid_mod.UUID:
    if isinstance(value, uuid_mod.UUID):
        return value
    try:
        return uuid_mod.UUID(str(value or "").strip())
    except ValueError:
        raise DomainError(
            "invalid", _("%(field)s must be a UUID.") % {"field": field}, field=field
        ) from None


def client_time(value: Any, field: str, *, now: dt.datetime | None = None) -> dt.datetime:
    """A time reported by the phone (epoch ms or ISO 8601); not in the future beyond the skew."""
    now = now or timezone.now()
    if value in (None, ""):
        return now
    if isinstance(value, dt.datetime):
        when = value if timezone.is_aware(value) else timezone.make_aware(value)
    else:
        ms = tracks.parse_time(value)
        if ms is None:
            raise DomainError(
                "invalid",
                _("%(field)s must be a time (milliseconds since 1970 or ISO 8601 with a zone).")
                % {"field": field},
                field=field,
            )
        when = tracks.from_ms(ms)
    if when > now + tracks.FUTURE_SKEW:
        raise DomainError(
            "future_time",
            _("%(field)s is in the future; check the phone's clock.") % {"field": field},
            field=field,
        )
    return when


def _common_code(codes: list[str]) -> str:
    """The longest code-boundary prefix shared by ``codes`` (a grid, community, street…)."""
    if not codes:
        return ""
    for n in CODE_LENGTHS:
        heads = {c[:n] for c in codes}
        if len(heads) == 1:
            return heads.pop()
    return ""


def _case_answer(case: Case, action: str) -> dict:
    return {
        "action": action,
        "case_id": case.pk,
        "tracking_code": case.tracking_code,
        "state": case.state,
        "state_label": state_label(case.state, case.flow),
    }


def with_receipt(
    *, actor: User, client_id: str, kind: str, work: Callable[[], tuple[dict, int | None]]
) -> tuple[dict, bool]:
    """Run ``work`` once per (actor, client_id); a repeat returns the stored answer.

    Returns (answer, replayed). ``work`` returns (answer, object id) and may raise DomainError.
    """
    client_id = str(client_id or "").strip()
    if not client_id:
        raise DomainError("required", _("client_id is required."), field="client_id")
    parse_uuid(client_id)
    done = Receipt.objects.filter(user=actor, client_id=client_id).first()
    if done is not None:
        if done.kind != kind:
            raise Conflict(
                "client_id_conflict",
                _("client_id %(id)s was already used for another action.") % {"id": client_id},
                field="client_id",
            )
        return done.response, True
    try:
        with transaction.atomic():
            answer, object_id = work()
            Receipt.objects.create(
                user=actor, client_id=client_id, kind=kind, object_id=object_id, response=answer
            )
        return answer, False
    except (IntegrityError, DomainError):
        # A parallel delivery of the same action won the race: answer as it did.
        done = Receipt.objects.filter(user=actor, client_id=client_id, kind=kind).first()
        if done is not None:
            return done.response, True
        raise


# --- reports and case actions ------------------------------------------------------------------


def field_report(
    *,
    actor: User,
    category: Any,
    description: str,
    lat: Any,
    lng: Any,
    crs: str = "wgs84",
    address: str = "",
    client_id: str,
    attachments: list | None = None,
    self_close: bool = False,
    result: str = "",
    result_attachments: list | None = None,
) -> tuple[Case, bool, dict | None]:
    """A grid worker's report (idempotent by ``client_id``), optionally self-closed at once.

    The report is committed first; a refused self-close (category not self-closable, not the
    worker's grid, no evidence photo) leaves the report standing and is returned as the third
    value, so a retry neither duplicates the case nor loses it. Returns (case, created, error).
    """
    if not client_id:
        raise DomainError("required", _("client_id is required."), field="client_id")
    known = Case.objects.filter(client_id=client_id).exists()
    case = case_services.case_report(
        actor=actor,
        category=category,
        description=description,
        lat=lat,
        lng=lng,
        crs=crs,
        source=Source.GRID_WORKER,
        address=address,
        client_id=client_id,
        attachments=attachments or [],
    )
    error = None
    if self_close and case.state == State.REPORTED:
        try:
            case_services.case_self_close(
                case=case, actor=actor, result=result, attachments=result_attachments or []
            )
        except DomainError as exc:
            error = {"code": exc.code, "message": exc.message, "field": exc.field}
    return case, not known, error


def field_actions() -> tuple[str, ...]:
    """The case actions the phone app may run: those the action table marks ``field_app``."""
    return tuple(a.name for a in CASES.actions.values() if a.field_app)


def _phone_inputs(
    action: Action, text: str, attachments: list, departments: list | None = None
) -> dict[str, Any]:
    """The phone sends one text and its photos (and, for a whistle, the departments called):
    the action's text input, files input and list-valued select."""
    inputs: dict[str, Any] = {}
    for i in action.inputs:
        if i.kind in ("text", "textarea") and not inputs.get("_text"):
            inputs[i.name] = text
            inputs["_text"] = True
        elif i.kind == "files":
            inputs[i.name] = attachments
        elif i.kind == "select" and i.value_type == list[str] and i.required:
            inputs[i.name] = list(departments or [])
    inputs.pop("_text", None)
    return inputs


def field_case_act(
    *,
    actor: User,
    case: Case,
    action: str,
    client_id: str,
    text: str = "",
    attachments: list | None = None,
    departments: list | None = None,
) -> tuple[dict, bool]:
    """Run one case action from the phone (once per client id). Returns (answer, replayed).

    ``text`` is the action's text input (the verification note, the rework reason or the
    result); ``attachments`` its photos.
    """
    allowed = field_actions()
    if action not in allowed:
        raise DomainError(
            "unknown_action",
            _("Unknown action “%(action)s”.") % {"action": action},
            field="action",
            details={"actions": list(allowed)},
        )
    inputs = _phone_inputs(CASES.actions[action], text, list(attachments or []), departments)

    def work() -> tuple[dict, int]:
        fresh = Case.objects.select_related("category").get(pk=case.pk)
        case_act(case=fresh, action=action, actor=actor, **inputs)
        return _case_answer(fresh, action), fresh.pk

    return with_receipt(actor=actor, client_id=client_id, kind=f"case_{action}", work=work)


def field_task_complete(
    *, actor: User, task: GridTask, client_id: str, result: str, attachments: list | None = None
) -> tuple[dict, bool]:
    """Complete a grid task (下派任务) with evidence, once per client id."""

    def work() -> tuple[dict, int]:
        done = case_services.grid_task_complete(
            task=task, actor=actor, result=result, attachments=attachments or []
        )
        return {"task_id": done.pk, "state": done.state, "title": done.title}, done.pk

    return with_receipt(actor=actor, client_id=client_id, kind="task_complete", work=work)


# --- patrols ---------------------------------------------------------------------------------


def patrol_start(*, actor: User, uuid: Any, started_at: Any = None) -> tuple[Patrol, bool]:
    """Start a patrol (idempotent by its UUID). A patrol still running is ended first.

    Only members of a grid team patrol; the patrol is scoped to their grid(s).
    """
    key = parse_uuid(uuid, "uuid")
    existing = Patrol.objects.filter(uuid=key).first()
    if existing is not None:
        if existing.worker_id != actor.pk:
            raise Conflict(
                "client_id_conflict",
                _("uuid %(id)s was already used for another patrol.") % {"id": key},
                field="uuid",
            )
        return existing, False
    codes = sorted(GridMember.objects.filter(user=actor).values_list("grid__code", flat=True))
    if not codes:
        raise Forbidden(
            _("You are not on any grid team, so there is nothing to patrol."),
            code="no_grid",
            field="worker",
        )
    when = client_time(started_at, "started_at")
    try:
        with transaction.atomic():
            for running in Patrol.objects.select_for_update().filter(
                worker=actor, state=PatrolState.ACTIVE
            ):
                _end(running, running.last_point_at or max(running.started_at, when))
            patrol = Patrol.objects.create(
                uuid=key,
                worker=actor,
                scope_code=_common_code(codes),
                started_at=when,
            )
    except IntegrityError:
        existing = Patrol.objects.filter(uuid=key, worker=actor).first()
        if existing is None:
            raise
        return existing, False
    return patrol, True


def _end(patrol: Patrol, when: dt.datetime) -> None:
    patrol.state = PatrolState.ENDED
    patrol.ended_at = max(when, patrol.started_at)
    patrol.updated_at = timezone.now()
    patrol.save(update_fields=["state", "ended_at", "updated_at"])


def patrol_stop(*, actor: User, patrol: Patrol, ended_at: Any = None) -> Patrol:
    """End a patrol; stopping an ended patrol again changes nothing (a retried delivery)."""
    if patrol.worker_id != actor.pk:
        raise NotFound(_("patrol"))
    when = client_time(ended_at, "ended_at")
    with transaction.atomic():
        patrol = Patrol.objects.select_for_update().get(pk=patrol.pk)
        if patrol.state == PatrolState.ACTIVE:
            _end(patrol, when)
    return patrol


def trackpoints_ingest(
    *,
    actor: User,
    patrol: Patrol | str | int,
    points: list,
    crs: str = "wgs84",
    batch_id: Any = None,
) -> tracks.IngestResult:
    """Accept a batch of GPS points of the actor's own patrol, given as a Patrol, its id or
    its UUID (see ``tracks``). Anyone else's patrol answers 404.

    ``batch_id`` (a UUID made on the phone, optional): a repeated delivery gets the first
    answer back (``replayed``) without checking or counting its points again — the points are
    idempotent by (patrol, time) anyway, the batch id also keeps ``rejected_count`` and the
    answer exact. A batch id already used for another patrol or another kind is a conflict.
    """
    if batch_id not in (None, ""):
        key = str(parse_uuid(batch_id, "batch_id"))
        done = Receipt.objects.filter(user=actor, client_id=key).first()
        if done is not None:
            return _batch_replay(actor, patrol, done)
        try:
            return _ingest(actor, patrol, points, crs, receipt=(actor.pk, key))
        except IntegrityError:
            # A parallel delivery of the same batch committed first: answer as it did.
            done = Receipt.objects.filter(user=actor, client_id=key).first()
            if done is None:
                raise
            return _batch_replay(actor, patrol, done)
    return _ingest(actor, patrol, points, crs)


def _batch_replay(actor: User, patrol: Patrol | str | int, done: Receipt) -> tracks.IngestResult:
    found = Patrol.objects.filter(_patrol_lookup(patrol), worker_id=actor.pk).first()
    if found is None:
        raise NotFound(_("patrol"))
    if done.kind != tracks.BATCH_RECEIPT or done.object_id != found.pk:
        raise Conflict(
            "client_id_conflict",
            _("batch_id %(id)s was already used for another upload.") % {"id": done.client_id},
            field="batch_id",
        )
    r = done.response
    return tracks.IngestResult(
        accepted=r["accepted"],
        duplicates=r["duplicates"],
        rejected=[tracks.Rejected.from_dict(x) for x in r["rejected"]],
        patrol=found,
        replayed=True,
    )


def _patrol_lookup(patrol: Patrol | str | int) -> Q:
    if isinstance(patrol, Patrol):
        return Q(pk=patrol.pk)
    if str(patrol).isdigit():
        return Q(pk=int(patrol))
    try:
        return Q(uuid=uuid_mod.UUID(str(patrol)))
    except ValueError:
        raise NotFound(_("patrol")) from None


def _ingest(actor, patrol, points, crs, receipt=None) -> tracks.IngestResult:
    if isinstance(patrol, Patrol):
        lookup = {"pk": patrol.pk}
    elif str(patrol).isdigit():
        lookup = {"pk": int(patrol)}
    else:
        try:
            lookup = {"uuid": uuid_mod.UUID(str(patrol))}
        except ValueError:
            raise NotFound(_("patrol")) from None
    return tracks.ingest(
        lookup={**lookup, "worker_id": actor.pk}, points=points, crs=crs, receipt=receipt
    )


# --- key places and check-ins ----------------------------------------------------------------


def _place_editor(actor: User, grid: Grid) -> bool:
    if actor.is_superuser:
        return True
    if GridMember.objects.filter(user=actor, grid=grid).exists():
        return True
    return in_scope(actor, grid.code, roles=(Role.GRID_CHIEF, Role.ADMIN))


def keyplace_create(
    *,
    actor: User,
    grid: Grid,
    name: str,
    lat: Any,
    lng: Any,
    crs: str = "wgs84",
    kind: str = KeyPlaceKind.KEY_PLACE,
    address: str = "",
    radius_m: int = 100,
    note: str = "",
) -> KeyPlace:
    """Register a key place or risk point in a grid (its team, grid chiefs, admins)."""
    if not _place_editor(actor, grid):
        raise NotFound(_("grid"))
    name = (name or "").strip()
    if not name:
        raise DomainError("required", _("name is required."), field="name")
    if kind not in KeyPlaceKind.values:
        raise DomainError(
            "invalid",
            _("kind must be one of %(v)s.") % {"v": ", ".join(KeyPlaceKind.values)},
            field="kind",
        )
    try:
        radius = int(radius_m)
    except (TypeError, ValueError):
        radius = -1
    if not 10 <= radius <= 2000:
        raise DomainError(
            "invalid", _("radius_m must be between 10 and 2000 metres."), field="radius_m"
        )
    wlat, wlng = crs_mod.to_wgs84(lat, lng, crs)
    return KeyPlace.objects.create(
        name=name[:100],
        kind=kind,
        grid=grid,
        lat=wlat,
        lng=wlng,
        address=(address or "").strip()[:200],
        radius_m=radius,
        note=note or "",
    )


def checkin_create(
    *,
    actor: User,
    place: KeyPlace,
    client_id: Any,
    lat: Any,
    lng: Any,
    crs: str = "wgs84",
    accuracy: Any = None,
    checked_at: Any = None,
    note: str = "",
) -> tuple[CheckIn, bool]:
    """Check in at a key place of one's own grids; the geodesic distance is recorded.

    A check-in farther than the place's radius is kept but flagged (``within`` false): the
    phone may have been offline, so it cannot be asked to try again later. Idempotent by
    ``client_id``. Returns (check-in, created).
    """
    key = parse_uuid(client_id)
    existing = CheckIn.objects.filter(client_id=key).select_related("place").first()
    if existing is not None:
        if existing.worker_id != actor.pk:
            raise Conflict(
                "client_id_conflict",
                _("client_id %(id)s was already used for another check-in.") % {"id": key},
                field="client_id",
            )
        return existing, False
    if not place.is_active or not GridMember.objects.filter(user=actor, grid_id=place.grid_id):
        raise NotFound(_("place"))
    wlat, wlng = crs_mod.to_wgs84(lat, lng, crs)
    acc = None
    if accuracy not in (None, ""):
        try:
            acc = min(max(int(round(float(accuracy))), 0), 32767)
        except (TypeError, ValueError):
            raise DomainError(
                "invalid", _("accuracy must be a number of metres."), field="accuracy"
            ) from None
    when = client_time(checked_at, "checked_at")
    distance = tracks.geodesic_m(wlat, wlng, place.lat, place.lng)
    patrol = (
        Patrol.objects.filter(worker=actor, started_at__lte=when + tracks.FUTURE_SKEW)
        .exclude(ended_at__lt=when - tracks.FUTURE_SKEW)
        .order_by("-started_at")
        .first()
    )
    try:
        with transaction.atomic():
            row = CheckIn.objects.create(
                client_id=key,
                worker=actor,
                place=place,
                patrol=patrol,
                scope_code=place.scope_code,
                checked_at=when,
                lat=wlat,
                lng=wlng,
                accuracy=acc,
                distance_m=round(distance, 1),
                within=distance <= place.radius_m,
                note=(note or "").strip()[:200],
            )
    except IntegrityError:
        existing = CheckIn.objects.filter(client_id=key, worker=actor).first()
        if existing is None:
            raise
        return existing, False
    return row, True


def is_field_worker(user) -> bool:
    return bool(
        user is not None
        and user.is_authenticated
        and (has_role(user, Role.GRID_WORKER) or GridMember.objects.filter(user=user).exists())
    )
