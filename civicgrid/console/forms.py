"""The case action forms: which fields each action's form shows, and how a POST becomes the
keyword arguments of the matching ``civicgrid.cases.services`` function.

No rule lives here. Which actions are offered comes from ``engine.allowed_actions``; whether the
inputs are acceptable is decided by the engine, whose ``DomainError.field`` puts the message
under the right input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicgrid.cases import services
from civicgrid.cases.models import Priority


@dataclass(frozen=True)
class Field:
    name: str
    label: Any
    kind: str = "textarea"  # textarea, text, select, datetime, date, files, checkbox, score
    required: bool = True
    placeholder: Any = ""


NOTE = Field("note", gettext_lazy("Note"), required=False)
REASON = Field("reason", gettext_lazy("Reason"))

ACTION_FIELDS: dict[str, list[Field]] = {
    "accept": [
        Field("category", gettext_lazy("Category"), "select"),
        Field("priority", gettext_lazy("Priority"), "select"),
        NOTE,
    ],
    "reject": [REASON],
    "merge": [
        Field(
            "target",
            gettext_lazy("Merge into case"),
            "text",
            placeholder=gettext_lazy("Tracking code of the open case"),
        ),
        NOTE,
    ],
    "self_close": [
        Field("result", gettext_lazy("Result")),
        Field("attachments", gettext_lazy("Photos"), "files"),
    ],
    "dispatch": [
        Field("department", gettext_lazy("Department"), "select", required=False),
        Field("worker", gettext_lazy("Grid worker"), "select", required=False),
        NOTE,
    ],
    "return": [REASON],
    "sign": [NOTE],
    "submit": [
        Field("result", gettext_lazy("Result")),
        Field("attachments", gettext_lazy("Photos (evidence)"), "files", required=False),
    ],
    "verify": [Field("note", gettext_lazy("Verification note"))],
    "rework": [REASON],
    "escalate": [REASON],
    "reopen": [REASON],
    "extend_request": [Field("due", gettext_lazy("New deadline"), "datetime"), REASON],
    "extend_approve": [
        Field("due", gettext_lazy("Approved deadline"), "datetime", required=False),
        NOTE,
    ],
    "extend_deny": [REASON],
    "suspend_request": [REASON, Field("review_date", gettext_lazy("Review date"), "date")],
    "suspend_approve": [NOTE],
    "suspend_deny": [REASON],
    "resume": [NOTE],
    "supervise": [Field("note", gettext_lazy("Supervision note"))],
    "comment": [
        Field("text", gettext_lazy("Comment text")),
        Field("internal", gettext_lazy("Internal (not shown to the reporter)"), "checkbox", False),
    ],
    "rate": [
        Field("score", gettext_lazy("Satisfaction"), "score"),
        Field("text", gettext_lazy("What the reporter said"), required=False),
    ],
}

SERVICES = {
    "accept": services.case_accept,
    "reject": services.case_reject,
    "merge": services.case_merge,
    "self_close": services.case_self_close,
    "dispatch": services.case_dispatch,
    "return": services.case_return,
    "sign": services.case_sign,
    "submit": services.case_submit,
    "verify": services.case_verify,
    "rework": services.case_rework,
    "escalate": services.case_escalate,
    "reopen": services.case_reopen,
    "extend_request": services.case_extension_request,
    "extend_approve": services.case_extension_approve,
    "extend_deny": services.case_extension_deny,
    "suspend_request": services.case_suspend_request,
    "suspend_approve": services.case_suspend_approve,
    "suspend_deny": services.case_suspend_deny,
    "resume": services.case_resume,
    "supervise": services.case_supervise,
    "comment": services.case_comment,
    "rate": services.case_rate,
}

# The order actions appear in on the detail page; the first one offered is opened.
ACTION_ORDER = [
    "accept",
    "dispatch",
    "sign",
    "submit",
    "verify",
    "self_close",
    "extend_approve",
    "suspend_approve",
    "resume",
    "rework",
    "return",
    "merge",
    "reject",
    "escalate",
    "extend_request",
    "suspend_request",
    "extend_deny",
    "suspend_deny",
    "reopen",
    "rate",
    "supervise",
    "comment",
]
# Actions whose button is styled as the way forward (the rest are secondary or warnings).
PRIMARY = {"accept", "dispatch", "sign", "submit", "verify", "self_close", "resume", "rate"}
DANGER = {"reject", "rework", "return", "escalate"}

PRIORITY_CHOICES = Priority.choices


def values_from_post(action: str, post, files) -> dict[str, Any]:
    """The raw submitted values of an action's form, for re-display after an error."""
    out: dict[str, Any] = {}
    for f in ACTION_FIELDS[action]:
        if f.kind == "files":
            continue
        if f.kind == "checkbox":
            out[f.name] = post.get(f.name) in ("on", "1", "true")
        else:
            out[f.name] = (post.get(f.name) or "").strip()
    return out


def service_kwargs(action: str, post, files) -> dict[str, Any]:
    """The keyword arguments for the service of ``action`` (the engine validates them)."""
    values = values_from_post(action, post, files)
    kwargs: dict[str, Any] = {}
    for f in ACTION_FIELDS[action]:
        if f.kind == "files":
            kwargs[f.name] = list(files.getlist(f.name))
        elif f.kind == "checkbox":
            kwargs[f.name] = values[f.name]
        elif f.name in ("department", "worker", "due") and not values[f.name]:
            kwargs[f.name] = None
        elif f.name == "target":
            kwargs[f.name] = values[f.name].upper()
        else:
            kwargs[f.name] = values[f.name]
    if action == "dispatch":
        # The form shows both selects behind a "to a department / to a grid worker" switch.
        if post.get("dispatch_to") == "worker":
            kwargs["department"] = None
        else:
            kwargs["worker"] = None
    return kwargs


def field_label(action: str, name: str) -> str:
    for f in ACTION_FIELDS.get(action, []):
        if f.name == name:
            return str(f.label)
    return name


def error_message(exc) -> str:
    """A DomainError's message for display under its field."""
    if exc.code == "required" and exc.field:
        return _("This field is required.")
    return exc.message
