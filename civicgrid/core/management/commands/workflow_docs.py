"""Rewrite the generated action tables in docs/cases.md from the workflows' action tables."""

from django.core.management.base import CommandError
from django.utils.translation import gettext_lazy

from civicgrid.core.management.base import TranslatedCommand
from civicgrid.core.workflow_docs import all_workflows, doc_path, rewrite


class Command(TranslatedCommand):
    help = gettext_lazy("Rewrite the action tables in docs/cases.md from the action registry.")

    def add_arguments(self, parser):
        parser.add_argument(
            "--check",
            action="store_true",
            help=gettext_lazy("Only report whether the document is current."),
        )

    def handle(self, *args, **opts):
        path = doc_path()
        text = path.read_text(encoding="utf-8")
        new = rewrite(text, all_workflows())
        if opts["check"]:
            if new != text:
                raise CommandError(f"{path} is out of date: run manage.py workflow_docs")
            self.stdout.write("up to date")
            return
        if new != text:
            path.write_text(new, encoding="utf-8")
        self.stdout.write(f"wrote {path}")
