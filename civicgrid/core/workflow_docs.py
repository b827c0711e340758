"""The docs tables of the workflows, rendered from their action tables.

Each workflow's document (docs/cases.md by default; ``DOCS`` names the others) holds one
generated block per workflow between ``<!-- workflow:NAME -->`` and ``<!-- /workflow:NAME -->``;
``manage.py workflow_docs`` rewrites them and ``civicgrid/cases/tests/test_docs.py`` fails when a
block differs from its table.
"""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings
from django.utils import translation

from .workflow import Action, Workflow

DOC = Path("docs") / "cases.md"
# Workflows documented in a file of their own.
DOCS = {"dispute": Path("docs") / "mediation.md"}


def _states(workflow: Workflow, states: tuple[str, ...]) -> str:
    if not states:
        return "—"
    all_states = [c for c, _ in workflow.model._meta.get_field(workflow.state_field).choices]
    if set(states) == set(all_states):
        return "any"
    return ", ".join(str(s) for s in states)


def _inputs(a: Action) -> str:
    parts = []
    for i in a.inputs:
        mark = "" if i.required else " (optional)"
        parts.append(f"{i.name}: {i.kind}{mark}")
    for group in a.any_of:
        parts.append(" or ".join(group) + " (one of)")
    return "; ".join(parts) or "—"


def _endpoint(a: Action) -> str:
    if a.creation or a.endpoint == "none":
        return "—"
    return f"`{a.slug}`"


def render_table(workflow: Workflow) -> str:
    """The Markdown table of ``workflow``'s actions, in UI order, creation first."""
    with translation.override("en"):
        rows = [
            "| action | label | from | to | who (capacity) | inputs | API `/{key}/…` |",
            "|---|---|---|---|---|---|---|",
        ]
        actions = [a for a in workflow.actions.values() if a.creation] + workflow.ordered()
        for a in actions:
            who = ", ".join(a.who) or "see the creation service"
            rows.append(
                f"| `{a.name}` | {a.label} | {_states(workflow, a.sources)} | "
                f"{a.target or '(unchanged)'} | {who} | {_inputs(a)} | {_endpoint(a)} |"
            )
    return "\n".join(rows)


def _pattern(name: str) -> re.Pattern:
    return re.compile(
        rf"(<!-- workflow:{re.escape(name)} -->\n)(.*?)(\n<!-- /workflow:{re.escape(name)} -->)",
        re.S,
    )


def doc_block(text: str, name: str) -> str | None:
    m = _pattern(name).search(text)
    return m.group(2) if m else None


def rewrite(text: str, workflows: list[Workflow]) -> str:
    for wf in workflows:
        pat = _pattern(wf.name)
        if not pat.search(text):
            raise ValueError(f"no block for workflow {wf.name} in its document")
        text = pat.sub(lambda m, wf=wf: m.group(1) + render_table(wf) + m.group(3), text)
    return text


def all_workflows() -> list[Workflow]:
    from civicgrid.cases.admission import ADMISSION
    from civicgrid.cases.cohandling import PARTS
    from civicgrid.cases.gridtasks import GRID_TASKS
    from civicgrid.cases.registry import CASES
    from civicgrid.cases.whistles import WHISTLE_CALLS
    from civicgrid.mediation.workflow import DISPUTES

    return [CASES, GRID_TASKS, ADMISSION, PARTS, WHISTLE_CALLS, DISPUTES]


def doc_path(workflow: Workflow | None = None) -> Path:
    """The document holding ``workflow``'s table (default: docs/cases.md)."""
    rel = DOCS.get(workflow.name, DOC) if workflow is not None else DOC
    return Path(settings.BASE_DIR) / rel


def doc_groups() -> dict[Path, list[Workflow]]:
    """The workflows of each document."""
    out: dict[Path, list[Workflow]] = {}
    for wf in all_workflows():
        out.setdefault(doc_path(wf), []).append(wf)
    return out
