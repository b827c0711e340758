"""The import graph between the project's apps, read from the source (``ast``), not from memory.

``python -m civicgrid.core.importgraph`` prints it as the Markdown table of
docs/architecture.md ("Who imports whom"); a test keeps the document equal to it. Tests and
migrations are left out: they are not the architecture. Imports inside functions count (a lazy
import is still a dependency).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # civicgrid/
SKIP_PARTS = {"tests", "migrations"}


def project_apps() -> list[str]:
    """Short names of the installed project apps (``civicgrid.cases`` → ``cases``)."""
    from django.conf import settings

    return sorted(a.split(".")[1] for a in settings.INSTALLED_APPS if a.startswith("civicgrid."))


def _imported_apps(path: Path, app: str, apps: set[str]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = path.relative_to(ROOT.parent).with_suffix("").parts
    if package[-1] == "__init__":
        package = package[:-1]
    else:
        package = package[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                names = [".".join((*base, node.module or ""))]
            else:
                names = [node.module or ""]
        for name in names:
            parts = name.split(".")
            if len(parts) >= 2 and parts[0] == "civicgrid" and parts[1] in apps:
                found.add(parts[1])
    found.discard(app)
    return found


def graph() -> dict[str, set[str]]:
    """app → the project apps its code imports."""
    apps = set(project_apps())
    out: dict[str, set[str]] = {}
    for app in sorted(apps):
        deps: set[str] = set()
        for path in sorted((ROOT / app).rglob("*.py")):
            if SKIP_PARTS & set(path.relative_to(ROOT / app).parts):
                continue
            deps |= _imported_apps(path, app, apps)
        out[app] = deps
    return out


def markdown(g: dict[str, set[str]] | None = None) -> str:
    g = graph() if g is None else g
    lines = ["| app | imports |", "|---|---|"]
    for app, deps in g.items():
        lines.append(f"| `{app}` | {', '.join(f'`{d}`' for d in sorted(deps)) or '—'} |")
    return "\n".join(lines)


if __name__ == "__main__":
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    django.setup()
    print(markdown())
