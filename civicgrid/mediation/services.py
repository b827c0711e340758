"""Every write of the mediation app: register a dispute (any source), run its actions, record
研判会商 meetings, keep the roster. Each dispute change goes through ``DISPUTES`` (the engine)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.basedata import crypto
from civicgrid.basedata import services as basedata
from civicgrid.cases.handlers import as_date, as_datetime
from civicgrid.core.errors import DomainError, Forbidden, NotFound
from civicgrid.core.workflow import Step
from civicgrid.people.access import Principal
from civicgrid.people.models import Center, Role
from civicgrid.territory.models import Area, Grid

from .models import (
    Dispute,
    DisputeAction,
    DisputeKind,
    DisputeSource,
    Meeting,
    MeetingTask,
    Party,
    PartyRole,
    RiskLevel,
    new_number,
)
from .workflow import (
    CENTER,
    DISPUTES,
    GRID_WORKER,
    flag_violence_effect,
    parse_amount,
    triage_due,
)

CENTER_SOURCES = (DisputeSource.VISIT, DisputeSource.LETTER, DisputeSource.ONLINE)
# A petition counts as a repeat (重复来访) when a party already brought a dispute this recently.
REPEAT_WINDOW = dt.timedelta(days=365)


def _err(code: str, field: str, message: str) -> DomainError:
    return DomainError(code, f"{field}: {message}", field=field)


def _forbidden(code: str, field: str, message: str) -> Forbidden:
    return Forbidden(f"{field}: {message}", code=code, field=field)


def _text(value: Any, field: str, max_len: int, *, required: bool = True) -> str:
    v = "" if value is None else str(value).strip()
    if required and not v:
        raise _err("required", field, _("this field is required"))
    if len(v) > max_len:
        raise _err("too_long", field, _("at most %(n)s characters") % {"n": max_len})
    return v


def _choice(value: Any, choices, field: str) -> str:
    v = str(value or "").strip()
    if v not in [c for c, _l in choices]:
        raise _err("invalid", field, _("one of %(v)s") % {"v": ", ".join(c for c, _l in choices)})
    return v


def lowest_center(code: str) -> Center | None:
    """The center of the lowest area containing ``code`` (小事不出村: the village first)."""
    from civicgrid.people.access import codes_over

    return (
        Center.objects.filter(area__code__in=codes_over(code))
        .select_related("area")
        .order_by("-area__level")
        .first()
    )


def _grid(value: Any) -> Grid | None:
    if value in (None, ""):
        return None
    if isinstance(value, Grid):
        return value
    q = Grid.objects.filter(code=str(value))
    grid = q.first() or (
        Grid.objects.filter(pk=int(value)).first() if str(value).isdigit() else None
    )
    if grid is None:
        raise _err("invalid", "grid", _("no such grid"))
    return grid


def _center(value: Any) -> Center:
    if isinstance(value, Center):
        return value
    c = Center.objects.filter(pk=value).select_related("area").first() if value else None
    if c is None:
        raise _err("invalid", "center", _("no such center"))
    return c


def _point_of(grid: Grid | None, lat, lng) -> tuple[float | None, float | None]:
    if lat not in (None, "") and lng not in (None, ""):
        try:
            return float(lat), float(lng)
        except (TypeError, ValueError):
            raise _err("invalid", "lat", _("a point (lat, lng)")) from None
    if grid is not None and grid.min_lat is not None:
        return (grid.min_lat + grid.max_lat) / 2, (grid.min_lng + grid.max_lng) / 2
    return None, None


def _party(actor, dispute: Dispute, i: int, data: dict[str, Any]) -> Party:
    """A party row; a given ID number links (or registers) the base-data person."""
    f = f"parties.{i}"
    if not isinstance(data, dict):
        raise _err("invalid", f, _("a party is an object"))
    role = _choice(data.get("role") or PartyRole.APPLICANT, PartyRole.choices, f"{f}.role")
    name = _text(data.get("name"), f"{f}.name", 50)
    id_number = str(data.get("id_number") or "").strip()
    phone = str(data.get("phone") or "").strip()
    organisation = _text(data.get("organisation"), f"{f}.organisation", 100, required=False)
    person = None
    if id_number:
        person = basedata.person_find(id_number)
        if person is None:
            if dispute.lat is None:
                raise _err(
                    "required",
                    f"{f}.id_number",
                    _("a new person needs the dispute's grid or point to be registered"),
                )
            try:
                with transaction.atomic():
                    person = basedata.person_create(
                        actor=actor,
                        data={
                            "name": name,
                            "id_number": id_number,
                            "phone": phone or "",
                            "lat": dispute.lat,
                            "lng": dispute.lng,
                            "address": dispute.address,
                        },
                    )
            except DomainError as exc:
                raise DomainError(
                    exc.code,
                    f"{f}.{exc.field or 'id_number'}: {exc.message}",
                    field=f"{f}.{exc.field or 'id_number'}",
                    status=exc.status,
                ) from None
    party = Party(dispute=dispute, role=role, person=person, name=name, organisation=organisation)
    if person is not None:
        party.id_number_mask, party.phone_mask = person.id_number_mask, person.phone_mask
        party.name = person.name
    elif phone:
        party.phone_mask = crypto.mask_phone(phone)
    return party


@transaction.atomic
def dispute_register(
    *,
    actor,
    source: str,
    kind: str,
    title: str,
    facts: str,
    parties: list[dict[str, Any]],
    grid: Any = None,
    center: Any = None,
    lat: Any = None,
    lng: Any = None,
    address: str = "",
    amount: Any = None,
    risk: Any = RiskLevel.LOW,
    violence_flag: bool = False,
    visitor_count: Any = 1,
    client_id: Any = None,
    case: Any = None,
) -> Dispute:
    """登记: register a dispute. Preconditions by source:

    - 排查 (screening): the actor is on the team of ``grid`` (or its grid chief); the dispute
      is held by the lowest center over the grid;
    - 来访/来信/网上: the actor is an operator of ``center`` (default: their first center);
    - a converted case: see ``dispute_from_case``.

    A ``client_id`` seen before returns that dispute (a retried offline upload creates nothing
    twice). At least one applicant; a party with an ID number is linked to its base-data person.
    """
    p = Principal.of(actor)
    if client_id:
        try:
            client_id = uuid.UUID(str(client_id))
        except ValueError:
            raise _err("invalid", "client_id", _("a UUID")) from None
        known = Dispute.objects.filter(client_id=client_id).first()
        if known is not None:
            if known.registered_by_id != getattr(actor, "pk", None):
                raise _err("duplicate", "client_id", _("already used"), status=409)
            return known
    source = _choice(source, DisputeSource.choices, "source")
    kind = _choice(kind, DisputeKind.choices, "kind")
    title = _text(title, "title", 200)
    facts = _text(facts, "facts", 8000)
    address = _text(address, "address", 200, required=False)
    try:
        risk = int(risk or RiskLevel.LOW)
    except (TypeError, ValueError):
        risk = -1
    if risk not in RiskLevel.values:
        raise _err("invalid", "risk", _("1, 2 or 3"))
    try:
        visitor_count = int(visitor_count or 1)
    except (TypeError, ValueError):
        visitor_count = 0
    if not 1 <= visitor_count <= 10000:
        raise _err("invalid", "visitor_count", _("between 1 and 10000"))
    amount = parse_amount(amount)
    grid = _grid(grid)
    role = CENTER
    if source == DisputeSource.SCREENING:
        if grid is None:
            raise _err("required", "grid", _("a screening names its grid"))
        if not (grid.pk in p.grid_ids or p.in_scope(grid.code, [Role.GRID_CHIEF])):
            raise _forbidden("out_of_scope", "grid", _("not one of your grids"))
        holder = lowest_center(grid.code)
        if holder is None:
            raise _err("no_center", "center", _("no mediation center serves this grid"))
        role = GRID_WORKER
    elif source == DisputeSource.CASE:
        if case is None:
            raise _err("required", "case", _("use the conversion of a case"))
        holder = _center(center)
    else:
        holder = _center(center) if center else None
        if holder is None:
            if not p.centers:
                raise _forbidden("required", "center", _("you work at no center"))
            holder = _center(p.centers[0])
    if role == CENTER and not (p.is_superuser or p.in_scope(holder.area.code, [Role.OPERATOR])):
        raise _forbidden("out_of_scope", "center", _("not a center you work at"))
    if grid is not None and not grid.code.startswith(holder.area.prefix):
        raise _err("out_of_scope", "grid", _("outside the center's area"))
    la, ln = _point_of(grid, lat, lng)
    now = timezone.now()
    dispute = Dispute(
        number=new_number("TJ"),
        client_id=client_id or None,
        source=source,
        kind=kind,
        title=title,
        facts=facts,
        amount=amount,
        risk=3 if violence_flag else risk,
        violence_flag=bool(violence_flag),
        violence_flagged_at=now if violence_flag else None,
        grid=grid,
        scope_code=grid.code if grid else holder.area.code,
        address=address,
        lat=la,
        lng=ln,
        center=holder,
        owner_code=holder.area.code,
        level=holder.area.level,
        first_level=holder.area.level,
        case=case,
        visitor_count=visitor_count,
        registered_by=actor if getattr(actor, "pk", None) else None,
        registered_at=now,
        updated_at=now,
        due_at=triage_due(now),
    )
    if not isinstance(parties, list) or not parties:
        raise _err("required", "parties", _("at least one party"))
    rows = [_party(actor, dispute, i, d) for i, d in enumerate(parties)]
    if not any(r.role == PartyRole.APPLICANT for r in rows):
        raise _err("required", "parties", _("at least one applicant"))
    persons = [r.person_id for r in rows if r.person_id]
    if source in CENTER_SOURCES and persons:
        dispute.repeat_visit = Party.objects.filter(
            person_id__in=persons,
            dispute__registered_at__gte=now - REPEAT_WINDOW,
            dispute__source__in=CENTER_SOURCES,
        ).exists()
    step = Step(
        obj=dispute,
        actor=actor,
        role=role,
        inputs={},
        now=now,
        transition=DISPUTES.creation(),
        workflow=DISPUTES,
        note=title,
        data={"source": source, "center": holder.area.code, "case": getattr(case, "pk", None)},
    )

    def save_parties(row) -> None:
        for r in rows:
            r.dispute = dispute
        Party.objects.bulk_create(rows)

    step.after.append(save_parties)
    if violence_flag:
        flag_violence_effect(step, _("flagged at registration"))
    try:
        with transaction.atomic():
            DISPUTES.create(step)
    except IntegrityError:
        if client_id and Dispute.objects.filter(client_id=client_id).exists():
            return Dispute.objects.get(client_id=client_id)  # a concurrent retry won
        raise
    return dispute


def dispute_act(
    *,
    dispute: Dispute,
    action: str,
    actor,
    role: str | None = None,
    expected_version: int | None = None,
    _system: bool = False,
    **inputs,
) -> DisputeAction:
    """Run ``action`` on ``dispute`` as ``actor`` through the engine (see workflow.py)."""
    return DISPUTES.act(
        obj=dispute,
        action=action,
        actor=actor,
        role=role,
        expected_version=expected_version,
        extra_caps=["system"] if _system else [],
        inputs=inputs,
    )


def dispute_visit(
    *,
    dispute: Dispute,
    actor,
    note: str,
    fulfilled: bool,
    satisfied: bool,
    relapse: bool,
    client_id: Any = None,
    expected_version: int | None = None,
) -> DisputeAction | None:
    """回访 (the field app's offline visit): a relapse reopens the dispute.

    A ``client_id`` already recorded returns None (a retried upload creates nothing twice).
    """
    if client_id:
        try:
            client_id = str(uuid.UUID(str(client_id)))
        except ValueError:
            raise _err("invalid", "client_id", _("a UUID")) from None
        if dispute.followups.filter(client_id=client_id).exists():
            return None
    return dispute_act(
        dispute=dispute,
        action="relapse" if relapse else "visit",
        actor=actor,
        expected_version=expected_version,
        note=note,
        fulfilled=fulfilled,
        satisfied=satisfied,
        client_id=client_id,
    )


@transaction.atomic
def dispute_from_case(
    *,
    case,
    actor,
    kind: str,
    parties: list[dict[str, Any]],
    amount: Any = None,
    risk: Any = RiskLevel.LOW,
) -> Dispute:
    """Turn a case of the 矛盾纠纷 class into a dispute held by the case's center.

    The actor is an operator of the case (its owning center's area). The case keeps running
    on its own engine until the dispute concludes, which closes it (``mediation_close``).
    """
    from civicgrid.cases.engine import case_act
    from civicgrid.cases.models import OPEN_STATES as CASE_OPEN

    p = Principal.of(actor)
    if not p.can_view(case):
        raise NotFound(_("case"))
    if "operator" not in p.capacities(case):
        raise _err("permission_denied", "case", _("only the case's operators convert it"), 403)
    if not case.category.code.startswith(DISPUTE_CLASS):
        raise _err("not_a_dispute", "category", _("only a 矛盾纠纷 case becomes a dispute"))
    if case.state not in CASE_OPEN:
        raise _err("case_closed", "case", _("the case is no longer open"))
    if Dispute.objects.filter(case=case).exists():
        raise _err("duplicate", "case", _("already converted"), status=409)
    dispute = dispute_register(
        actor=actor,
        source=DisputeSource.CASE,
        kind=kind,
        title=case.description[:200],
        facts=case.description,
        parties=parties,
        grid=case.grid,
        center=case.owner_id,
        lat=case.lat,
        lng=case.lng,
        address=case.address,
        amount=amount,
        risk=risk,
        case=case,
    )
    case_act(
        case=case,
        action="comment",
        actor=actor,
        text=_("Converted to dispute %(n)s (mediation).") % {"n": dispute.number},
        internal=True,
    )
    return dispute


# The category class whose cases are disputes (矛盾纠纷).
DISPUTE_CLASS = "01"


# --- 研判会商 meetings -------------------------------------------------------------------------


@transaction.atomic
def meeting_record(
    *,
    actor,
    center: Any,
    held_at: Any,
    host: str,
    attendees: str,
    topic: str,
    opinions: str,
    decisions: str,
    place: str = "",
    situation: str = "",
    disputes: list[int] | None = None,
    cases: list[int] | None = None,
    tasks: list[dict[str, Any]] | None = None,
) -> Meeting:
    """Record a 研判会商 meeting of a center the actor works at, with its follow-up tasks."""
    from civicgrid.cases.models import Case

    from .selectors import dispute_list_for

    p = Principal.of(actor)
    center = _center(center)
    if not (p.is_superuser or p.in_scope(center.area.code, [Role.OPERATOR])):
        raise _forbidden("out_of_scope", "center", _("not a center you work at"))
    m = Meeting(
        center=center,
        owner_code=center.area.code,
        held_at=as_datetime(held_at, "held_at"),
        place=_text(place, "place", 100, required=False),
        host=_text(host, "host", 50),
        attendees=_text(attendees, "attendees", 4000),
        topic=_text(topic, "topic", 200),
        situation=_text(situation, "situation", 8000, required=False),
        opinions=_text(opinions, "opinions", 8000),
        decisions=_text(decisions, "decisions", 8000),
        recorded_by=actor,
    )
    m.save()
    ids = [int(x) for x in (disputes or [])]
    found = list(dispute_list_for(p).filter(pk__in=ids).values_list("pk", flat=True))
    if len(set(found)) != len(set(ids)):
        raise _err("invalid", "disputes", _("unknown or out of scope"))
    m.disputes.set(found)
    case_ids = [int(x) for x in (cases or [])]
    found_cases = list(
        Case.objects.filter(p.case_visible_q(), pk__in=case_ids).values_list("pk", flat=True)
    )
    if len(set(found_cases)) != len(set(case_ids)):
        raise _err("invalid", "cases", _("unknown or out of scope"))
    m.cases.set(found_cases)
    rows = []
    for i, t in enumerate(tasks or []):
        rows.append(
            MeetingTask(
                meeting=m,
                task=_text(t.get("task"), f"tasks.{i}.task", 200),
                owner=_text(t.get("owner"), f"tasks.{i}.owner", 100),
                due_date=as_date(t.get("due_date"), f"tasks.{i}.due_date"),
            )
        )
    MeetingTask.objects.bulk_create(rows)
    return m


def meeting_task_done(*, task: MeetingTask, actor) -> MeetingTask:
    p = Principal.of(actor)
    if not (p.is_superuser or p.in_scope(task.meeting.owner_code, [Role.OPERATOR])):
        raise NotFound(_("task"))
    if task.done_at is None:
        task.done_at = timezone.now()
        task.save(update_fields=["done_at"])
    return task


def area_of_level(code: str, level: int) -> Area | None:
    from civicgrid.territory.codes import PREFIX_LEN

    return Area.objects.filter(code=code[: PREFIX_LEN[level]].ljust(12, "0")).first()
