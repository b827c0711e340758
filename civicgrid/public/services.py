"""Every write of the public face: citizen reports, ratings, one-key emergency calls.

Citizens have no account: a report is idempotent by the hidden client id of its form and
rate-limited per client IP and per phone number (fixed windows in the cache, counted only for
new reports). A one-key call turns a registered device's press into an urgent case at the
holder's registered address; further presses while that case is open and the presses keep
coming within ``ONE_KEY_WINDOW`` join the same case instead of opening new ones.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.cases import services as case_services
from civicgrid.cases.attachments import UPLOAD_ERRORS
from civicgrid.cases.models import (
    OPEN_STATES,
    Case,
    CaseAction,
    Category,
    Flow,
    HandlingLevel,
    Priority,
    SlaUnit,
    Source,
)
from civicgrid.core.conf import options
from civicgrid.core.errors import DomainError, NotFound
from civicgrid.territory import crs as crs_mod
from civicgrid.territory.models import Grid
from civicgrid.territory.spatial import locate

from .models import EmergencyDevice

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
# (window seconds, max new reports) per client IP and per phone number.
IP_LIMITS = ((600, 5), (86400, 20))
PHONE_LIMITS = ((3600, 3), (86400, 10))
ONE_KEY_WINDOW = dt.timedelta(minutes=30)
ONE_KEY_CLIENT_PREFIX = "onekey-"  # + device id + press time: how a case finds its device
ONE_KEY_CATEGORY = ("0704", "一键呼叫求助", "07", "特殊人群")


def _conf(name: str, default: Any) -> Any:
    return getattr(options(), name)


# --- rate limits -----------------------------------------------------------------------------


@dataclass
class Limit:
    key: str
    window: int
    maximum: int


def _limits(ip: str, phone: str) -> list[Limit]:
    out = [
        Limit(f"public:ip:{ip}:{w}", w, n) for w, n in _conf("PUBLIC_IP_LIMITS", IP_LIMITS) if ip
    ]
    if phone:
        out += [
            Limit(f"public:phone:{phone}:{w}", w, n)
            for w, n in _conf("PUBLIC_PHONE_LIMITS", PHONE_LIMITS)
        ]
    return out


def _window_key(limit: Limit, now: float) -> str:
    return f"{limit.key}:{int(now // limit.window)}"


def rate_check(*, ip: str, phone: str) -> None:
    """Refuse (429) when this IP or phone already sent the maximum in a current window."""
    now = timezone.now().timestamp()
    for limit in _limits(ip, phone):
        used = cache.get(_window_key(limit, now), 0)
        if used >= limit.maximum:
            wait = int(limit.window - now % limit.window)
            minutes = max(1, (wait + 59) // 60)
            by_phone = ":phone:" in limit.key
            message = (
                _(
                    "This phone number has sent too many reports. Please try again in "
                    "%(minutes)s minutes. For emergencies call 110, or the 12345 hotline."
                )
                if by_phone
                else _(
                    "Too many reports from this network. Please try again in %(minutes)s "
                    "minutes. For emergencies call 110, or the 12345 hotline."
                )
            ) % {"minutes": minutes}
            raise DomainError(
                "rate_limited",
                message,
                field="reporter_phone" if by_phone else None,
                details={"retry_after": wait, "limit": limit.maximum, "window": limit.window},
                status=429,
            )


def rate_count(*, ip: str, phone: str) -> None:
    now = timezone.now().timestamp()
    for limit in _limits(ip, phone):
        key = _window_key(limit, now)
        if cache.add(key, 1, timeout=limit.window + 5):
            continue
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=limit.window + 5)


# --- citizen reports -------------------------------------------------------------------------


def normalise_phone(phone: str) -> str:
    digits = re.sub(r"[\s\-]", "", phone or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    return digits


def grid_point(grid: Grid) -> tuple[float, float]:
    """A point surely inside the grid (for a report that names a grid but no position)."""
    geom = grid.geometry
    if geom is None:
        raise DomainError("required", _("Choose the location on the map."), field="location")
    pt = geom.representative_point()
    return pt.y, pt.x


def citizen_report(
    *,
    ip: str,
    category: Any,
    description: str,
    lat: Any = None,
    lng: Any = None,
    crs: str = "wgs84",
    grid_code: str = "",
    address: str = "",
    phone: str = "",
    name: str = "",
    client_id: str = "",
    attachments: list | None = None,
    actor: Any = None,
    flow: str = Flow.CASE,
) -> tuple[Case, bool]:
    """A citizen's report from the portal. Returns (case, created).

    ``flow`` ``service`` files a service request (群众点单, docs/party.md) instead of a problem.

    Anonymous reports need a mobile number (docs/domain.md §2; it is how the reporter is called back);
    a signed-in citizen may leave it out. Repeats of one form (same client id) return the first
    case and are not counted against the limits.
    """
    client_id = (client_id or "").strip()
    if not client_id:
        client_id = str(uuid.uuid4())
    phone = normalise_phone(phone)
    signed_in = actor is not None and getattr(actor, "is_authenticated", False)
    if phone and not MOBILE_RE.match(phone):
        raise DomainError(
            "invalid_phone",
            _("Enter an 11-digit mainland mobile number."),
            field="reporter_phone",
        )
    if not phone and not signed_in:
        raise DomainError(
            "required",
            _("Leave a mobile number so that we can call you back about this report."),
            field="reporter_phone",
        )
    existing = Case.objects.filter(client_id=client_id).first()
    if existing is not None:
        # The engine checks that the repeat comes from the same reporter.
        case = case_services.case_report(
            actor=actor if signed_in else None,
            category=category,
            description=description,
            lat=existing.lat,
            lng=existing.lng,
            reporter_phone=phone,
            client_id=client_id,
            source=Source.CITIZEN,
        )
        return case, False
    if lat in (None, "") or lng in (None, ""):
        grid = Grid.objects.filter(code=(grid_code or "").strip()).first()
        if grid is None:
            raise DomainError(
                "required",
                _("Choose the location on the map or use your current position."),
                field="location",
            )
        lat, lng = grid_point(grid)
        crs = crs_mod.WGS84
    rate_check(ip=ip, phone=phone)
    try:
        case = case_services.case_report(
            actor=actor if signed_in else None,
            category=category,
            description=description,
            lat=lat,
            lng=lng,
            crs=crs,
            source=Source.CITIZEN,
            flow=flow,
            address=address,
            reporter_name=name,
            reporter_phone=phone,
            client_id=client_id,
            attachments=attachments or [],
        )
    except DomainError as exc:
        # A refused file costs as much as a report: probing the decoder is not free.
        if exc.code in UPLOAD_ERRORS:
            rate_count(ip=ip, phone=phone)
        raise
    rate_count(ip=ip, phone=phone)
    return case, True


def citizen_rate(*, tracking_code: str, score: Any, text: str = "", actor=None) -> CaseAction:
    """回访评价 from the tracking page, through the cases rating service (the reporter only:
    ``actor`` is whoever is signed in, if anyone)."""
    return case_services.case_rate_public(
        tracking_code=tracking_code, score=score, text=text, actor=actor
    )


# --- one-key emergency call ------------------------------------------------------------------


def one_key_category() -> Category:
    """The category of one-key calls: CIVICGRID["ONE_KEY_CATEGORY"], else 0704 (created once)."""
    code = _conf("ONE_KEY_CATEGORY", ONE_KEY_CATEGORY[0])
    cat = Category.objects.filter(code=code, is_active=True).first()
    if cat is not None:
        return cat
    if code != ONE_KEY_CATEGORY[0]:
        raise DomainError(
            "invalid_category",
            _("The one-key call category %(c)s does not exist.") % {"c": code},
            field="category",
        )
    _code, name, parent_code, parent_name = ONE_KEY_CATEGORY
    parent, _created = Category.objects.get_or_create(
        code=parent_code, defaults={"name": parent_name}
    )
    cat, _created = Category.objects.get_or_create(
        code=code,
        defaults={
            "name": name,
            "parent": parent,
            "handling_level": HandlingLevel.VILLAGE,
            "priority": Priority.URGENT,
            "response_limit": 0.25,
            "handling_limit": 2,
            "sla_unit": SlaUnit.NATURAL,
        },
    )
    return cat


def new_device_token() -> str:
    return "cg1_" + secrets.token_urlsafe(24)


def emergency_device_register(
    *,
    holder_name: str,
    address: str,
    lat: Any,
    lng: Any,
    crs: str = "wgs84",
    phone: str = "",
    contact_name: str = "",
    contact_phone: str = "",
    label: str = "",
) -> tuple[EmergencyDevice, str]:
    """Register a device at a home; returns it and its token (shown once, stored hashed)."""
    holder_name = (holder_name or "").strip()
    address = (address or "").strip()
    if not holder_name:
        raise DomainError("required", _("holder_name is required."), field="holder_name")
    if not address:
        raise DomainError("required", _("address is required."), field="address")
    if not normalise_phone(phone) and not normalise_phone(contact_phone):
        raise DomainError(
            "required",
            _("A phone number of the holder or of an emergency contact is required."),
            field="phone",
        )
    wlat, wlng = crs_mod.to_wgs84(lat, lng, crs)
    res = locate(wlat, wlng)
    if not res.found and (res.distance_m is None or res.distance_m > 5000):
        # A press could never become a case there (the engine refuses such locations).
        raise DomainError(
            "outside_territory",
            _("The location is outside every grid of this platform."),
            field="location",
        )
    grid = Grid.objects.filter(code=res.grid_code).first() if res.grid_code else None
    token = new_device_token()
    device = EmergencyDevice.objects.create(
        token_hash=EmergencyDevice.hash_token(token),
        label=(label or "").strip()[:50],
        holder_name=holder_name[:50],
        phone=(phone or "").strip()[:20],
        contact_name=(contact_name or "").strip()[:50],
        contact_phone=(contact_phone or "").strip()[:20],
        address=address[:200],
        lat=wlat,
        lng=wlng,
        grid=grid,
    )
    return device, token


def emergency_device_rotate(*, device: EmergencyDevice) -> str:
    token = new_device_token()
    device.token_hash = EmergencyDevice.hash_token(token)
    device.save(update_fields=["token_hash"])
    return token


@dataclass
class CallResult:
    case: Case
    created: bool
    presses: int


def emergency_call(*, token: str, now: dt.datetime | None = None) -> CallResult:
    """A press of a one-key call button → an urgent case, or the open one of a recent press."""
    token = (token or "").strip()
    if not token:
        raise DomainError(
            "unauthenticated", _("The device token is missing."), field="token", status=401
        )
    now = now or timezone.now()
    digest = EmergencyDevice.hash_token(token)
    with transaction.atomic():
        # The row lock makes simultaneous presses queue: the second one sees the first's case.
        device = (
            EmergencyDevice.objects.select_for_update()
            .filter(token_hash=digest, is_active=True)
            .first()
        )
        if device is None:
            raise DomainError(
                "invalid_token",
                _("This device is not registered or has been disabled."),
                field="token",
                status=401,
            )
        case = device.last_case
        recent = device.last_pressed_at is not None and now - device.last_pressed_at <= (
            ONE_KEY_WINDOW
        )
        created = False
        if case is None or case.state not in OPEN_STATES or not recent:
            case = _one_key_case(device, now)
            created = True
            device.last_case = case
            device.press_count = 0
        device.press_count += 1
        device.last_pressed_at = now
        device.save(update_fields=["last_case", "press_count", "last_pressed_at"])
    return CallResult(case=case, created=created, presses=device.press_count)


def _one_key_case(device: EmergencyDevice, now: dt.datetime) -> Case:
    # The description reaches exports, lists and the tracking page: no phone numbers in it and
    # only a masked name. The numbers stay in structured fields (the reporter's phone, the
    # device's contact), masked everywhere and shown in full through a logged reveal.
    from .selectors import mask_name, mask_phone

    lines = [
        _("One-key emergency call from the home of %(name)s, a person living alone.")
        % {"name": mask_name(device.holder_name)},
        _("Registered address: %(a)s") % {"a": device.address},
    ]
    if device.contact_name or device.contact_phone:
        lines.append(
            _("Emergency contact: %(n)s %(p)s")
            % {"n": mask_name(device.contact_name), "p": mask_phone(device.contact_phone)}
        )
    return case_services.case_report(
        actor=None,
        category=one_key_category(),
        description="\n".join(lines),
        lat=device.lat,
        lng=device.lng,
        source=Source.ONE_KEY,
        address=device.address,
        priority=Priority.URGENT,
        reporter_name=device.holder_name,
        reporter_phone=device.phone or device.contact_phone,
        client_id=f"{ONE_KEY_CLIENT_PREFIX}{device.pk}-{int(now.timestamp() * 1000)}",
    )


def device_of_case(case: Case) -> EmergencyDevice | None:
    """The registered device whose press opened ``case`` (one-key cases), else None."""
    cid = case.client_id or ""
    if case.source != Source.ONE_KEY or not cid.startswith(ONE_KEY_CLIENT_PREFIX):
        return None
    pk = cid[len(ONE_KEY_CLIENT_PREFIX) :].split("-", 1)[0]
    return EmergencyDevice.objects.filter(pk=int(pk)).first() if pk.isdigit() else None


def device_for_token(token: str) -> EmergencyDevice:
    device = EmergencyDevice.objects.filter(
        token_hash=EmergencyDevice.hash_token(token or ""), is_active=True
    ).first()
    if device is None:
        raise NotFound(_("device"))
    return device
