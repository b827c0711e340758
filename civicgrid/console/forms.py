"""The case action forms, derived from the case workflow's action table.

Which fields each form shows (name, kind, label, required), the order of the forms on the
detail page and their style all come from ``civicgrid.cases.registry.CASES``; a POST becomes
the inputs of ``case_act``. No rule lives here: which actions are offered comes from
``engine.allowed_actions``; whether the inputs are acceptable is decided by the engine, whose
``DomainError.field`` puts the message under the right input.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from civicgrid.cases.models import Priority
from civicgrid.cases.registry import CASES
from civicgrid.core.workflow import Action, Input

PRIORITY_CHOICES = Priority.choices
# Kinds whose empty value means "not given" (None) rather than an empty string.
_NONE_WHEN_EMPTY = ("select", "ref", "datetime", "date", "int", "score")


def is_multi(f: Input) -> bool:
    """A select of several values (the dispatch's co-departments, the whistle's departments)."""
    return f.kind == "select" and f.value_type == list[str]


def console_actions() -> list[Action]:
    """The actions with a console form, in their UI order (system events excluded)."""
    return [a for a in CASES.ordered() if a.endpoint != "none"]


def action_order() -> list[str]:
    return [a.name for a in console_actions()]


def fields_of(action: str) -> tuple[Input, ...]:
    a = CASES.actions.get(action)
    return a.inputs if a is not None else ()


def style_of(action: str) -> str:
    return CASES.actions[action].style


def has_form(action: str) -> bool:
    a = CASES.actions.get(action)
    return a is not None and not a.creation and a.endpoint != "none"


def values_from_post(action: str, post, files) -> dict[str, Any]:
    """The raw submitted values of an action's form, for re-display after an error."""
    out: dict[str, Any] = {}
    for f in fields_of(action):
        if f.kind in ("files", "file"):
            continue
        if f.kind == "checkbox":
            out[f.name] = post.get(f.name) in ("on", "1", "true")
        elif is_multi(f):
            out[f.name] = [v.strip() for v in post.getlist(f.name) if v.strip()]
        else:
            out[f.name] = (post.get(f.name) or "").strip()
    return out


def service_kwargs(action: str, post, files) -> dict[str, Any]:
    """The inputs of ``action`` from a POST (the engine validates them)."""
    values = values_from_post(action, post, files)
    kwargs: dict[str, Any] = {}
    for f in fields_of(action):
        if f.kind == "files":
            kwargs[f.name] = list(files.getlist(f.name))
        elif f.kind == "file":
            kwargs[f.name] = files.get(f.name)
        elif f.kind == "checkbox":
            kwargs[f.name] = values[f.name]
        elif is_multi(f):
            kwargs[f.name] = values[f.name]
        elif f.kind in _NONE_WHEN_EMPTY and not values[f.name]:
            kwargs[f.name] = None
        else:
            kwargs[f.name] = values[f.name]
    if action == "dispatch":
        # The form shows both selects behind a "to a department / to a grid worker" switch.
        if post.get("dispatch_to") == "worker":
            kwargs["department"] = None
            kwargs["co_departments"] = []
        else:
            kwargs["worker"] = None
    return kwargs


def field_label(action: str, name: str) -> str:
    for f in fields_of(action):
        if f.name == name:
            return str(f.label)
    return name


def error_message(exc) -> str:
    """A DomainError's message for display under its field."""
    if exc.code == "required" and exc.field:
        return _("This field is required.")
    return exc.message
