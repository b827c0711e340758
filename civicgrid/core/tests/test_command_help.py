"""Every management command of the project answers ``--help`` in Chinese and in English."""

from __future__ import annotations

import contextlib
import io
import re

import pytest
from django.core.management import ManagementUtility, get_commands, load_command_class
from django.core.management.base import BaseCommand
from django.utils import translation

CJK = re.compile(r"[\u4e00-\u9fff]")


def project_commands() -> list[tuple[str, str]]:
    return sorted(
        (name, app) for name, app in get_commands().items() if app.startswith("civicgrid.")
    )


def run_help(name: str, language: str) -> str:
    out = io.StringIO()
    with translation.override(language), contextlib.redirect_stdout(out):
        with pytest.raises(SystemExit) as exit_info:
            ManagementUtility(["manage.py", name, "--help"]).execute()
    assert exit_info.value.code in (0, None), out.getvalue()
    return out.getvalue()


def squeeze(text: str) -> str:
    return "".join(text.split())


def own_arguments(app: str, name: str, language: str) -> list[tuple[str, str | None]]:
    """(label, help) of the arguments the command adds itself (not Django's --verbosity...)."""
    builtin = {a.dest for a in BaseCommand().create_parser("manage.py", "x")._actions}
    with translation.override(language):
        parser = load_command_class(app, name).create_parser("manage.py", name)
    return [
        ("/".join(a.option_strings) or a.dest, a.help)
        for a in parser._actions
        if a.dest not in builtin
    ]


def test_discovery_finds_the_project_commands():
    names = {name for name, _app in project_commands()}
    # A sample only: the discovery itself is what every other test relies on.
    assert {"import_territory", "export_territory", "coverage_check", "seed_demo"} <= names


@pytest.mark.parametrize(("name", "app"), project_commands())
def test_help_in_both_languages(name, app):
    command = load_command_class(app, name)
    assert command.help, f"{name} has no help text"
    english = run_help(name, "en")
    chinese = run_help(name, "zh-hans")
    with translation.override("en"):
        description_en = str(command.help)
    with translation.override("zh-hans"):
        description_zh = str(command.help)
    assert squeeze(description_en) in squeeze(english)
    assert squeeze(description_zh) in squeeze(chinese)
    assert description_zh != description_en, f"{name}: help has no Chinese translation"
    assert CJK.search(description_zh)
    arguments = zip(
        own_arguments(app, name, "en"), own_arguments(app, name, "zh-hans"), strict=True
    )
    for (label, help_en), (_label, help_zh) in arguments:
        assert help_en, f"{name} {label} has no help"
        assert help_zh != help_en, f"{name} {label}: help has no Chinese translation"
        assert CJK.search(help_zh), f"{name} {label}: {help_zh!r}"
        first_words = squeeze(help_zh.split("%(")[0])[:12]
        assert first_words in squeeze(chinese), f"{name} {label} missing from --help"
