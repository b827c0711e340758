"""docs/cases.md renders the transition table; keep it equal to the engine's."""

from pathlib import Path

from django.conf import settings

from civicgrid.cases.engine import ANY, OPEN, TRANSITIONS


def doc_rows() -> dict[str, list[str]]:
    text = (Path(settings.BASE_DIR) / "docs" / "cases.md").read_text()
    section = text.split("## Transition table", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = cells
    return rows


def names(cell: str) -> set[str]:
    return {x.strip() for x in cell.replace(" or ", ", ").split(",") if x.strip() not in ("", "—")}


def test_doc_table_matches_transitions():
    rows = doc_rows()
    assert set(rows) == set(TRANSITIONS)
    for action, t in TRANSITIONS.items():
        _a, _label, src, to, who, required = rows[action]
        expected_src = {"any": set(ANY), "any open": set(OPEN), "—": set()}.get(src, names(src))
        assert set(t.sources) == expected_src, action
        assert (t.target or "(unchanged)") == to, action
        assert set(t.roles) == (set() if who == "anyone" else names(who)), action
        req = {r for x in t.required for r in x.split("|")}
        assert req == {n.split(" (")[0] for n in names(required)} - {"optional text"}, action
