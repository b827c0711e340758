"""docs/cases.md and docs/mediation.md render the action tables; keep them equal to the registry."""

from civicgrid.core.workflow_docs import all_workflows, doc_block, doc_path, render_table


def test_doc_tables_match_the_registry():
    for wf in all_workflows():
        block = doc_block(doc_path(wf).read_text(encoding="utf-8"), wf.name)
        assert block is not None, f"{doc_path(wf)} lacks the block of {wf.name}"
        assert block == render_table(wf), "run `manage.py workflow_docs` to regenerate"


def test_every_action_of_the_table_is_a_row_of_the_doc():
    for wf in all_workflows():
        block = doc_block(doc_path(wf).read_text(encoding="utf-8"), wf.name)
        for name in wf.actions:
            assert f"| `{name}` |" in block, name
