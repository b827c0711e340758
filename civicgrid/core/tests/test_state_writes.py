"""Nothing but the workflow engine assigns a workflow state (AST scan of the source tree).

Every ``Workflow`` of the tree is found (``core.workflow.WORKFLOWS``), with its model and state
field. Caught: ``x.state = …``, ``setattr(x, "state", …)``, ``state=`` in ``Case(…)``/``GridTask(…)``
and in ``.create``/``.update``/``.get_or_create``/``.update_or_create``/``.bulk_update`` calls,
``.update(state=…)`` on any queryset. The demo is scanned too. Sites that set the state of a
model that is not a workflow are listed in ``NOT_WORKFLOWS`` with the reason; each listed
site must still exist, so the list cannot go stale.
"""

from __future__ import annotations

import ast
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR) / "civicgrid"
ENGINE = ROOT / "core" / "workflow.py"


def _workflows():
    """Every ``Workflow`` defined in the tree: the modules that build one are imported."""
    import importlib

    from civicgrid.core.workflow import WORKFLOWS

    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if "/tests/" in f"/{rel}" or path == ENGINE or "Workflow(" not in path.read_text("utf-8"):
            continue
        importlib.import_module("civicgrid." + rel[:-3].replace("/", ".").removesuffix(".__init__"))
    return dict(WORKFLOWS)


WORKFLOW_LIST = _workflows()
WORKFLOW_MODELS = {w.model.__name__ for w in WORKFLOW_LIST.values()}
STATE_FIELDS = {w.state_field for w in WORKFLOW_LIST.values()}
WRITERS = {"create", "update", "get_or_create", "update_or_create", "bulk_create"}
# (path under civicgrid/, enclosing function): why it is not a workflow state
NOT_WORKFLOWS = {
    ("field/services.py", "_end"): "Patrol.state (a patrol is running or ended, no workflow)",
    ("analytics/exports.py", "run"): "Export.state (a background job's progress, no workflow)",
    ("basedata/importjobs.py", "run"): "ImportJob.state (a background job's progress, no workflow)",
    ("basedata/importjobs.py", "requeue"): "ImportJob.state (re-queueing a killed worker's job)",
    ("ops/reclaim.py", "_requeue_export"): "Export.state (re-queueing a killed worker's job)",
    ("basedata/services.py", "thing_set_state"): "Thing.state (a city part's condition — in "
    "service, damaged, removed — recorded in its change history, no workflow)",
    ("cases/handlers.py", "save"): "ExtensionRequest/SuspensionRequest.state, the decision on "
    "a request, written by the engine's after-log step of the deciding action",
}


def _sources():
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if "/tests/" in f"/{rel}" or "/migrations/" in f"/{rel}" or path == ENGINE:
            continue
        yield rel, path


def _names(node) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)
    }


class Finder(ast.NodeVisitor):
    def __init__(self, rel: str):
        self.rel = rel
        self.func: list[str] = []
        self.hits: list[tuple[str, str, int, str]] = []

    def hit(self, node, what: str) -> None:
        self.hits.append((self.rel, self.func[-1] if self.func else "", node.lineno, what))

    def visit_FunctionDef(self, node):
        self.func.append(node.name)
        self.generic_visit(node)
        self.func.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def _targets(self, targets, node):
        for t in targets:
            for sub in ast.walk(t):
                if isinstance(sub, ast.Attribute) and sub.attr in STATE_FIELDS:
                    if isinstance(sub.ctx, ast.Store):
                        self.hit(node, ".state =")

    def visit_Assign(self, node):
        self._targets(node.targets, node)
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        self._targets([node.target], node)
        self.generic_visit(node)

    def visit_AnnAssign(self, node):
        self._targets([node.target], node)
        self.generic_visit(node)

    def visit_Call(self, node):
        f = node.func
        kw = {k.arg for k in node.keywords}
        if isinstance(f, ast.Name) and f.id == "setattr" and len(node.args) >= 2:
            arg = node.args[1]
            if isinstance(arg, ast.Constant) and arg.value in STATE_FIELDS:
                self.hit(node, 'setattr(…, "state", …)')
        model_call = (isinstance(f, ast.Name) and f.id in WORKFLOW_MODELS) or (
            isinstance(f, ast.Attribute) and f.attr in WORKFLOW_MODELS
        )
        if model_call and kw & STATE_FIELDS:
            self.hit(node, "state= in a workflow model's constructor")
        if isinstance(f, ast.Attribute) and kw & STATE_FIELDS:
            if f.attr == "update":
                self.hit(node, ".update(state=…)")
            elif f.attr in WRITERS and _names(f.value) & WORKFLOW_MODELS:
                self.hit(node, f".{f.attr}(state=…)")
        if isinstance(f, ast.Attribute) and f.attr == "bulk_update":
            for a in list(node.args[1:]) + [k.value for k in node.keywords if k.arg == "fields"]:
                if any(
                    isinstance(c, ast.Constant) and c.value in STATE_FIELDS for c in ast.walk(a)
                ):
                    self.hit(node, ".bulk_update(…, ['state'])")
        self.generic_visit(node)


def scan(sources=None) -> list[tuple[str, str, int, str]]:
    hits = []
    for rel, path in sources or _sources():
        finder = Finder(rel)
        finder.visit(ast.parse(Path(path).read_text(encoding="utf-8"), filename=str(path)))
        hits += finder.hits
    return hits


def test_the_workflows_are_found():
    assert {"case", "grid_task"} <= set(WORKFLOW_LIST)
    assert {"Case", "GridTask"} <= WORKFLOW_MODELS


def test_nothing_outside_the_engine_assigns_a_workflow_state():
    offending = [h for h in scan() if (h[0], h[1]) not in NOT_WORKFLOWS]
    assert offending == [], "assign workflow states through civicgrid.core.workflow only"


def test_every_listed_exception_still_exists():
    found = {(h[0], h[1]) for h in scan()}
    assert set(NOT_WORKFLOWS) <= found


def test_the_scan_catches_each_form(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "def f(case, qs):\n"
        "    case.state = 'closed'\n"
        "    setattr(case, 'state', 'closed')\n"
        "    Case.objects.filter(pk=1).update(state='closed')\n"
        "    Case.objects.create(state='filed')\n"
        "    GridTask(state='done')\n"
        "    qs.update(state='x')\n"
        "    Case.objects.bulk_update([case], ['state'])\n"
        "    Case.objects.filter(state='closed')  # a read: fine\n"
    )
    hits = scan([("bad.py", bad)])
    assert [h[2] for h in hits] == [2, 3, 4, 5, 6, 7, 8]


def test_refusals_use_the_forbidden_error_class():
    """A 403 is raised as ``Forbidden``, never as ``DomainError(..., status=403)`` by hand."""
    by_hand = []
    for rel, path in _sources():
        tree = ast.parse(Path(path).read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and "DomainError" in _names(node.func):
                for k in node.keywords:
                    if k.arg == "status" and getattr(k.value, "value", None) == 403:
                        by_hand.append((rel, node.lineno))
    assert by_hand == []
