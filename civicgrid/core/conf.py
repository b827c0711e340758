"""Read the CIVICGRID options through one typed accessor: ``options().SLA_SWEEP_SECONDS``.

Every option the apps read from ``settings.CIVICGRID`` is declared once below with its type,
default, environment variable and meaning; docs/operations.md carries the same table (a test keeps
them equal) and deploy/civicgrid.env.example lists every variable. ``config/settings/base.py``
fills ``CIVICGRID`` from the environment with ``from_environ``; a deployment may also assign the
dict directly. Values are parsed and checked when first read: a wrong value raises
``ImproperlyConfigured`` naming the option, and the system check ``civicgrid.E001`` reports it at
start-up (``W001`` for a key nobody reads, usually a typo).

The parsed options are cached until ``settings.CIVICGRID`` is replaced (``override_settings``
and pytest-django's ``settings`` fixture do that); mutating the dict in place is not noticed.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable, Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("a number is required")
    return int(value)


def _positive(value: Any) -> int:
    n = _int(value)
    if n <= 0:
        raise ValueError("must be greater than 0")
    return n


def _float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("a number is required")
    return float(value)


def _positive_float(value: Any) -> float:
    n = _float(value)
    if not n > 0:
        raise ValueError("must be greater than 0")
    return n


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("use 1/0, true/false, yes/no or on/off")


def _str(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError("a string is required")
    return value


def _periods(value: Any) -> tuple[tuple[str, str], ...]:
    out = []
    for pair in _json(value):
        start, end = (str(x) for x in pair)
        minutes = []
        for hhmm in (start, end):
            h, m = hhmm.split(":")
            if not (0 <= int(h) < 24 and 0 <= int(m) < 60):
                raise ValueError(f"{hhmm!r} is not a time of day (HH:MM)")
            minutes.append(int(h) * 60 + int(m))
        if minutes[0] >= minutes[1]:
            raise ValueError(f"period {start}-{end} ends before it starts")
        out.append((start, end))
    return tuple(out)


def _limits(value: Any) -> tuple[tuple[int, int], ...]:
    out = []
    for pair in _json(value):
        seconds, most = pair
        out.append((_positive(seconds), _positive(most)))
    return tuple(out)


def _weights(value: Any) -> dict[str, float]:
    raw = _json(value)
    if not isinstance(raw, Mapping):
        raise ValueError("a mapping of indicator name to weight is required")
    return {str(k): _float(v) for k, v in raw.items()}


def _prefix(value: Any) -> str:
    text = _str(value).strip()
    if text and not (text.startswith("/") and text.endswith("/")):
        raise ValueError("must start and end with '/' (e.g. /_protected/)")
    return text


def _opt(default: Any, parse: Callable[[Any], Any], help: str, env: str | None = None) -> Any:
    meta = {"parse": parse, "help": help, "env": env}
    if isinstance(default, dict):
        return dataclasses.field(default_factory=lambda: dict(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


@dataclasses.dataclass(frozen=True)
class Options:
    """The CIVICGRID options, parsed. Field names are the keys of ``settings.CIVICGRID``."""

    DEMO_PASSWORD: str = _opt("Civic@2026", _str, "Password of the generated demo accounts.")
    WORK_PERIODS: tuple[tuple[str, str], ...] = _opt(
        (("09:00", "12:00"), ("13:30", "17:30")),
        _periods,
        "Office periods of a workday (local time) that working-hour deadlines count; JSON in "
        'the environment: `[["09:00","12:00"],["13:30","17:30"]]`.',
    )
    SLA_SWEEP_SECONDS: int = _opt(
        60, _positive, "Seconds between two SLA sweeps (yellow light, automatic supervision)."
    )
    WHISTLE_REPORT_HOURS: float = _opt(
        2.0,
        _positive_float,
        "Working hours a department called by a whistle (吹哨报到) has to report in before the "
        "SLA sweep supervises it.",
    )
    MAX_IMAGE_BYTES: int = _opt(15 * 1024 * 1024, _positive, "Largest accepted photo upload.")
    MAX_AUDIO_BYTES: int = _opt(10 * 1024 * 1024, _positive, "Largest accepted audio upload.")
    MAX_PIXELS: int = _opt(
        40_000_000,
        _positive,
        "Largest accepted photo in pixels (width × height), checked from the header before decoding.",
    )
    MAX_PHOTOS: int = _opt(
        9, _positive, "Most photos accepted with one action (a report, a result)."
    )
    PUBLIC_FILE_URL_MAX_AGE: int = _opt(
        3600,
        _positive,
        "Seconds a signed photo URL of the tracking page stays valid (the page mints new ones).",
    )
    LOCATE_MAX_AGE: float = _opt(
        5.0,
        _float,
        "Seconds a unit of work trusts its territory-version check before locating re-checks.",
    )
    TRACK_ASYNC_COMMIT: bool = _opt(
        False,
        _bool,
        "Commit track batches with `synchronous_commit=off` (faster; a crash may lose the last "
        "batches, which clients resend).",
    )
    PUBLIC_IP_LIMITS: tuple[tuple[int, int], ...] = _opt(
        ((600, 5), (86400, 20)),
        _limits,
        "Citizen reports allowed per client IP as `[[seconds, max], …]`.",
    )
    PUBLIC_PHONE_LIMITS: tuple[tuple[int, int], ...] = _opt(
        ((3600, 3), (86400, 10)),
        _limits,
        "Citizen reports allowed per phone number as `[[seconds, max], …]`.",
    )
    CLIENT_IP_HEADER: str = _opt(
        "",
        _str,
        "META key of the header the reverse proxy sets to the client address (`HTTP_X_REAL_IP` "
        "behind the shipped nginx site); empty: REMOTE_ADDR.",
    )
    PUBLIC_BASE_URL: str = _opt(
        "", _str, "Absolute base URL printed in QR codes; empty: the address of the request."
    )
    ONE_KEY_CATEGORY: str = _opt("0704", _str, "Category code of one-key emergency calls.")
    SERVICE_ORDER_CLASSES: str = _opt(
        "06", _str, "Comma-separated category class codes a citizen's service request may use."
    )
    CONSOLE_POLL_SECONDS: int = _opt(
        15, _positive, "How often the console workbench fragments refresh."
    )
    DEPARTMENT_SCORE_WEIGHTS: dict[str, float] = _opt(
        {},
        _weights,
        "Overrides of the department score weights (JSON object, e.g. "
        '`{"on_time_close_rate": 50}`).',
    )
    EARLY_WARNING_LEVEL: int = _opt(
        3, _positive, "Area level early-warning signals are formed at (3: township/street)."
    )
    EARLY_WARNING_SECONDS: int = _opt(600, _positive, "Seconds between early-warning scans.")
    VERIFY_LIMIT_HOURS: float = _opt(
        24.0, _float, "Hours within which a handled case counts as verified on time."
    )
    ASSESSMENT_FIELD_STATS: str = _opt(
        "",
        _str,
        "Dotted path of the provider of patrol figures for worker assessment; empty: the "
        "field app's own.",
    )
    SMS_SENDER: str = _opt(
        "civicgrid.notifications.senders.LogSender",
        _str,
        "Dotted path of the SMS sender class (the default only logs). The older top-level "
        "setting `CIVICGRID_SMS_SENDER` still wins when set.",
    )
    FILES_ACCEL_REDIRECT_PREFIX: str = _opt(
        "",
        _prefix,
        "When set (e.g. `/_protected/`), protected file views answer with `X-Accel-Redirect: "
        "<prefix><path under MEDIA_ROOT>` and nginx sends the file from its `internal` location "
        "(also the top-level setting of the same name).",
    )
    OPEN311_JURISDICTION: str = _opt(
        "",
        _str,
        "Open311 `jurisdiction_id` of this server (default: the code of the top-level area).",
    )
    OPEN311_CONTACT: str = _opt(
        "12345 citizen service hotline",
        _str,
        "Contact line in the Open311 discovery document.",
    )
    WORKER_HEARTBEAT_MAX_AGE: int = _opt(
        120,
        _positive,
        "`/readyz` fails when no task worker has written its heartbeat for this many seconds.",
    )
    MEDIATION_TRIAGE_HOURS: float = _opt(
        7.0, _float, "Working hours within which a registered dispute is triaged (分流)."
    )
    MEDIATION_LIMIT_HOURS: float = _opt(
        105.0,
        _float,
        "Working hours from triage to an outcome of a dispute (default 15 workdays of 7 hours).",
    )
    MEDIATION_FOLLOWUP_DAYS: tuple[int, ...] = _opt(
        (7, 30),
        lambda v: tuple(_positive(x) for x in _json(v)),
        "Days after an agreement at which a dispute's follow-up visits (回访) fall due; JSON in "
        "the environment: `[7,30]`.",
    )
    MEDIATION_POLICE_KEY: str = _opt(
        "GA",
        _str,
        "Department code suffix (after the area prefix and `-`) of the police departments told "
        "at once about a dispute flagged 民转刑.",
    )
    IMPORT_INLINE_ROWS: int = _opt(
        2000,
        _positive,
        "Base-data Excel files with more data rows than this are imported (or checked) by the "
        "task worker, with a progress page; smaller ones in the request.",
    )
    REPLICA_MAX_LAG_SECONDS: float = _opt(
        30.0, _float, "`/readyz` fails when the read replica lags by more than this."
    )
    REPLICA_PIN_SECONDS: int = _opt(
        10,
        _positive,
        "Seconds a client that wrote reads from the primary only (the pin cookie), with a read "
        "replica configured.",
    )


FIELDS: dict[str, dataclasses.Field] = {f.name: f for f in dataclasses.fields(Options)}


def env_name(name: str) -> str:
    """The environment variable of option ``name`` (the option's own name)."""
    return FIELDS[name].metadata["env"] or name


# Top-level settings that win over the CIVICGRID entry when set (non-empty): the SMS sender
# predates the dict, and the X-Accel-Redirect prefix is the contract with the protected file views.
TOP_LEVEL = {
    "SMS_SENDER": "CIVICGRID_SMS_SENDER",
    "FILES_ACCEL_REDIRECT_PREFIX": "FILES_ACCEL_REDIRECT_PREFIX",
}


def parse(raw: Mapping[str, Any], *, top_level: Mapping[str, Any] | None = None) -> Options:
    """Build ``Options`` from a CIVICGRID dict, raising ImproperlyConfigured on a bad value."""
    values: dict[str, Any] = {}
    merged = dict(raw)
    for name, value in (top_level or {}).items():
        if value:
            merged[name] = value
    for name, value in merged.items():
        if name not in FIELDS:
            continue  # reported by the system check, never fatal
        try:
            values[name] = FIELDS[name].metadata["parse"](value)
        except (TypeError, ValueError, json.JSONDecodeError) as exc:
            raise ImproperlyConfigured(f'CIVICGRID["{name}"] = {value!r}: {exc}') from exc
    return Options(**values)


def from_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """The CIVICGRID entries set in ``environ`` (raw strings; parsed on first read)."""
    return {name: environ[env_name(name)] for name in FIELDS if env_name(name) in environ}


def unknown_keys(raw: Mapping[str, Any]) -> list[str]:
    return sorted(k for k in raw if k not in FIELDS)


_lock = threading.Lock()
_cache: dict[str, Any] = {"key": None, "options": None}


def options() -> Options:
    """The current options (cached until settings.CIVICGRID is replaced)."""
    from django.conf import settings

    raw = getattr(settings, "CIVICGRID", {})
    top = {name: getattr(settings, setting, "") for name, setting in TOP_LEVEL.items()}
    key = (id(raw), tuple(top.values()))
    cached = _cache["options"]
    if cached is not None and _cache["key"] == key:
        return cached
    parsed = parse(raw, top_level=top)
    with _lock:
        _cache["key"], _cache["options"] = key, parsed
    return parsed


def clear_cache(**kwargs) -> None:
    if kwargs.get("setting") in (None, "CIVICGRID", *TOP_LEVEL.values()):
        with _lock:
            _cache["key"], _cache["options"] = None, None


def docs_table() -> str:
    """The option table of docs/operations.md (Markdown), generated from the declarations."""
    rows = [
        "| option (`CIVICGRID[...]` and environment variable) | type | default | meaning |",
        "|---|---|---|---|",
    ]
    for f in dataclasses.fields(Options):
        default = f.default_factory() if f.default is dataclasses.MISSING else f.default  # type: ignore[misc]
        shown = json.dumps(default, ensure_ascii=False) if not isinstance(default, str) else default
        kind = str(f.type).replace("|", "\\|")
        rows.append(
            f"| `{f.name}` | `{kind}` | `{shown}` | {f.metadata['help']} |"
            if shown
            else f"| `{f.name}` | `{kind}` | empty | {f.metadata['help']} |"
        )
    return "\n".join(rows)
