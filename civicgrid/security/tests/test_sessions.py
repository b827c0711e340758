"""Production settings, session lifetimes, password rules, redirects, the demo-password check."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import RequestFactory
from django.urls import reverse

from civicgrid.core.conf import options
from civicgrid.security import checks
from civicgrid.security.urls import safe_next

ROOT = Path(__file__).resolve().parents[3]
NAMES = [
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SECURE_HSTS_SECONDS",
    "SECURE_PROXY_SSL_HEADER",
    "SESSION_IDLE_TIMEOUT",
    "SESSION_ABSOLUTE_TIMEOUT",
    "SESSION_COOKIE_AGE",
]


def base_settings(**env) -> dict:
    code = (
        "import json, config.settings.base as s; "
        f"print(json.dumps({{n: getattr(s, n) for n in {NAMES!r}}}))"
    )
    clean = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECURE_COOKIES")}
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_production_defaults_are_secure():
    s = base_settings()
    assert s["SESSION_COOKIE_SECURE"] and s["CSRF_COOKIE_SECURE"] and s["SESSION_COOKIE_HTTPONLY"]
    assert s["SECURE_HSTS_SECONDS"] >= 31536000
    assert s["SECURE_PROXY_SSL_HEADER"] is None  # trusting a header needs a configured proxy
    assert (s["SESSION_IDLE_TIMEOUT"], s["SESSION_ABSOLUTE_TIMEOUT"]) == (1800, 43200)
    assert s["SESSION_COOKIE_AGE"] == 43200


def test_debug_mode_and_configured_values():
    dev = base_settings(DEBUG="1")
    assert not dev["SESSION_COOKIE_SECURE"] and dev["SECURE_HSTS_SECONDS"] == 0
    conf = base_settings(
        SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https",
        SESSION_IDLE_MINUTES="15",
        SESSION_ABSOLUTE_HOURS="8",
    )
    assert conf["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert (conf["SESSION_IDLE_TIMEOUT"], conf["SESSION_ABSOLUTE_TIMEOUT"]) == (900, 28800)


def test_hsts_header_on_https(client, db, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    response = client.get("/login/", secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.mark.parametrize("password", ["Civic@202", "abcdefghi", "1234567890", "password123"])
def test_weak_passwords_are_refused(password):
    with pytest.raises(ValidationError):
        validate_password(password)


def test_ten_characters_of_something_real_pass():
    validate_password("Grid-Ops#2026x")


@pytest.fixture
def lifetimes(settings):
    settings.SESSION_IDLE_TIMEOUT, settings.SESSION_ABSOLUTE_TIMEOUT = 1800, 43200


@pytest.mark.django_db
def test_idle_session_ends_after_30_minutes(client, world, lifetimes):
    with time_machine.travel("2026-06-01 09:00 +08:00", tick=False) as clock:
        client.force_login(world.operator_a)
        assert client.get("/console/cases/").status_code == 200
        clock.shift(29 * 60)
        assert client.get("/console/cases/").status_code == 200  # activity renews
        clock.shift(29 * 60)
        assert client.get("/console/cases/").status_code == 200
        clock.shift(31 * 60)
        response = client.get("/console/cases/")
        assert response.status_code == 302 and reverse("login") in response["Location"]


@pytest.mark.django_db
def test_active_session_ends_after_12_hours(client, world, lifetimes):
    with time_machine.travel("2026-06-01 08:00 +08:00", tick=False) as clock:
        client.force_login(world.operator_a)
        for _ in range(12 * 3 + 1):  # a request every 20 minutes, all day
            clock.shift(20 * 60)
            response = client.get("/console/cases/")
        assert response.status_code == 302  # past 12 h
        assert client.get("/console/cases/").status_code == 302


@pytest.mark.parametrize(
    "target,expected",
    [
        ("/console/cases/?state=filed", "/console/cases/?state=filed"),
        ("https://evil.example/phish", "/fallback/"),
        ("//evil.example/phish", "/fallback/"),
        ("javascript:alert(1)", "/fallback/"),
        ("", "/fallback/"),
    ],
)
def test_next_stays_on_this_site(target, expected):
    request = RequestFactory().post("/x/", {"next": target})
    assert safe_next(request, "/fallback/") == expected


@pytest.mark.django_db
def test_bulk_dispatch_does_not_redirect_off_site(client, world):
    client.force_login(world.operator_a)
    response = client.post(
        reverse("console:bulk_dispatch"), {"next": "https://evil.example/", "ids": ""}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("console:case_list")


@pytest.mark.django_db
def test_demo_password_check_warns_in_production(world, settings):
    settings.DEBUG = False
    world.operator_a.username = "operator"  # a named demo account
    world.operator_a.set_password(options().DEMO_PASSWORD)
    world.operator_a.save()
    for u in (world.handler_a, world.leader_a):  # generated accounts share one hash
        u.password = world.operator_a.password
        u.save()
    (warning,) = checks.demo_accounts_check()
    assert warning.id == "civicgrid.security.W001"
    assert "operator" in warning.msg and "handler_a" in warning.msg
    settings.DEBUG = True
    assert checks.demo_accounts_check() == []


@pytest.mark.django_db
def test_demo_password_check_is_quiet_once_passwords_change(world, settings):
    settings.DEBUG = False
    world.operator_a.username = "operator"
    world.operator_a.set_password("a private password 1")
    world.operator_a.save()
    assert checks.demo_accounts_check() == []


@pytest.mark.django_db
def test_demo_password_check_runs_with_manage_py_check(world, settings, capsys):
    from django.core.management import call_command

    settings.DEBUG = False
    world.citizen.username = "citizen"
    world.citizen.set_password(options().DEMO_PASSWORD)
    world.citizen.save()
    call_command("check")
    assert "W001" in capsys.readouterr().err
