"""docs/architecture.md matches the code: every installed app is in it, its import table is real."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

from civicgrid.core import importgraph

DOC = Path(settings.BASE_DIR) / "docs" / "architecture.md"


def doc_table() -> dict[str, set[str]]:
    rows = re.findall(r"^\| `(\w+)` \| ([^|]*) \|$", DOC.read_text(encoding="utf-8"), re.M)
    table = {}
    for app, deps in rows:
        if app not in table:  # the first table with this shape is the import table
            table[app] = set(re.findall(r"`(\w+)`", deps))
    return table


def test_every_installed_project_app_is_in_the_architecture_doc():
    text = DOC.read_text(encoding="utf-8")
    missing = [app for app in importgraph.project_apps() if f"`{app}`" not in text]
    assert not missing, f"docs/architecture.md does not mention {missing}"


def test_import_table_equals_the_imports_of_the_code():
    assert doc_table() == importgraph.graph(), (
        "docs/architecture.md's import table is out of date; regenerate it with "
        "`python -m civicgrid.core.importgraph` and redraw the picture if an arrow changed:\n"
        + importgraph.markdown()
    )


def test_import_graph_sees_relative_and_lazy_imports():
    g = importgraph.graph()
    assert "console" in g["core"]  # a lazy import inside core.views.home
    assert "core" in g["cases"]
    assert "field" not in g["public"]  # the public face depends on nothing of the field app


def test_code_and_docs_cite_the_repository_not_outside_files():
    """The domain contract is docs/domain.md; nothing cites a DOMAIN.md outside the repository."""
    root = Path(settings.BASE_DIR)
    offenders = []
    for folder in ("civicgrid", "config", "bench", "docs", "scripts"):
        for path in (root / folder).rglob("*"):
            if path.suffix not in {".py", ".md", ".html", ".js", ".txt", ".toml", ".sh"}:
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            if re.search(r"DOMAIN(\.md)? ?§|DOMAIN\.md|\.\./shared/", text) and path != Path(
                __file__
            ):
                offenders.append(str(path.relative_to(root)))
    assert not offenders, offenders
    assert (root / "docs" / "domain.md").exists()


def test_every_bench_measure_has_a_target_and_a_verdict():
    """`make bench` prints for each measure its target and whether it was met: every ``measure()``
    call in bench/ passes both ``target`` and ``ok`` (an informative figure is not a target)."""
    import ast

    missing = []
    for path in sorted((Path(settings.BASE_DIR) / "bench").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "measure":
                given = {k.arg for k in node.keywords}
                bad = {"target", "ok"} - given
                bad |= {k.arg for k in node.keywords if k.arg in ("target", "ok")
                        and isinstance(k.value, ast.Constant) and k.value.value is None}  # fmt: skip
                if bad:
                    missing.append(f"{path.name}:{node.lineno} {sorted(bad)}")
    assert not missing, missing
