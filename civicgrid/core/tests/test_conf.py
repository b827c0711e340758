"""The CIVICGRID accessor: typed values, defaults, environment, errors, docs and env template."""

import re
from pathlib import Path

import pytest
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from civicgrid.core import conf
from civicgrid.core.conf import options

ROOT = Path(__file__).resolve().parents[3]


def test_defaults_when_the_dict_is_empty():
    with override_settings(CIVICGRID={}):
        o = options()
    assert o.SLA_SWEEP_SECONDS == 60
    assert o.WORK_PERIODS == (("09:00", "12:00"), ("13:30", "17:30"))
    assert o.TRACK_ASYNC_COMMIT is False
    assert o.FILES_ACCEL_REDIRECT_PREFIX == ""


def test_override_settings_is_seen_and_undone():
    with override_settings(CIVICGRID={"SLA_SWEEP_SECONDS": 5}):
        assert options().SLA_SWEEP_SECONDS == 5
    assert options().SLA_SWEEP_SECONDS == 60


def test_fixture_assignment_is_seen(settings):
    settings.CIVICGRID = {"CONSOLE_POLL_SECONDS": 3}
    assert options().CONSOLE_POLL_SECONDS == 3


def test_environment_strings_are_parsed_to_their_types():
    env = {
        "SLA_SWEEP_SECONDS": "30",
        "TRACK_ASYNC_COMMIT": "yes",
        "WORK_PERIODS": '[["08:00","12:00"],["14:00","18:00"]]',
        "PUBLIC_IP_LIMITS": "[[60, 2]]",
        "DEPARTMENT_SCORE_WEIGHTS": '{"close_rate": 35}',
        "VERIFY_LIMIT_HOURS": "12.5",
        "FILES_ACCEL_REDIRECT_PREFIX": "/_protected/",
        "UNRELATED": "x",
    }
    raw = conf.from_environ(env)
    assert "UNRELATED" not in raw
    o = conf.parse(raw)
    assert o.SLA_SWEEP_SECONDS == 30
    assert o.TRACK_ASYNC_COMMIT is True
    assert o.WORK_PERIODS == (("08:00", "12:00"), ("14:00", "18:00"))
    assert o.PUBLIC_IP_LIMITS == ((60, 2),)
    assert o.DEPARTMENT_SCORE_WEIGHTS == {"close_rate": 35.0}
    assert o.VERIFY_LIMIT_HOURS == 12.5
    assert o.FILES_ACCEL_REDIRECT_PREFIX == "/_protected/"


@pytest.mark.parametrize(
    "name,value",
    [
        ("SLA_SWEEP_SECONDS", "soon"),
        ("SLA_SWEEP_SECONDS", 0),
        ("TRACK_ASYNC_COMMIT", "maybe"),
        ("WORK_PERIODS", '[["12:00","09:00"]]'),
        ("WORK_PERIODS", '[["25:00","26:00"]]'),
        ("PUBLIC_IP_LIMITS", "[[60]]"),
        ("FILES_ACCEL_REDIRECT_PREFIX", "_protected"),
        ("DEPARTMENT_SCORE_WEIGHTS", "[1, 2]"),
    ],
)
def test_a_bad_value_names_the_option(name, value):
    with pytest.raises(ImproperlyConfigured, match=rf'CIVICGRID\["{name}"\]'):
        conf.parse({name: value})


@pytest.mark.django_db  # the full check run includes the demo-password check, which reads users
def test_system_check_reports_bad_values_and_unknown_keys():
    with override_settings(CIVICGRID={"SLA_SWEEP_SECONDS": "x", "SLA_SWEEP_SECOND": 1}):
        found = {m.id for m in checks.run_checks()}
    assert {"civicgrid.E001", "civicgrid.W001"} <= found
    with override_settings(CIVICGRID={"SLA_SWEEP_SECONDS": 10}):
        found = {m.id for m in checks.run_checks()}
    assert not found & {"civicgrid.E001", "civicgrid.W001"}


def test_legacy_sms_sender_setting_still_wins():
    with override_settings(CIVICGRID_SMS_SENDER="x.Y"):
        assert options().SMS_SENDER == "x.Y"
    assert options().SMS_SENDER == "civicgrid.notifications.senders.LogSender"


def test_docs_table_equals_the_declarations():
    text = (ROOT / "docs" / "operations.md").read_text()
    start, end = "<!-- options:start -->", "<!-- options:end -->"
    assert start in text and end in text, "docs/operations.md lost its option table markers"
    table = text.split(start)[1].split(end)[0].strip()
    assert table == conf.docs_table(), (
        "docs/operations.md is out of date: paste civicgrid.core.conf.docs_table() between the markers"
    )


def test_no_app_reads_the_civicgrid_dict_directly():
    offenders = []
    for path in (ROOT / "civicgrid").rglob("*.py"):
        if path.name in {"conf.py", "checks.py"} or "tests" in path.parts:
            continue
        if re.search(r"settings\.CIVICGRID|getattr\(settings, \"CIVICGRID", path.read_text()):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
