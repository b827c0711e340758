"""Rewrite the generated action tables in docs/ from the workflows' action tables."""

from django.core.management.base import CommandError
from django.utils.translation import gettext_lazy

from civicgrid.core.management.base import TranslatedCommand
from civicgrid.core.workflow_docs import doc_groups, rewrite


class Command(TranslatedCommand):
    help = gettext_lazy("Rewrite the action tables in docs/cases.md from the action registry.")

    def add_arguments(self, parser):
        parser.add_argument(
            "--check",
            action="store_true",
            help=gettext_lazy("Only report whether the document is current."),
        )

    def handle(self, *args, **opts):
        for path, workflows in doc_groups().items():
            text = path.read_text(encoding="utf-8")
            new = rewrite(text, workflows)
            if opts["check"]:
                if new != text:
                    raise CommandError(f"{path} is out of date: run manage.py workflow_docs")
                self.stdout.write(f"{path} up to date")
                continue
            if new != text:
                path.write_text(new, encoding="utf-8")
            self.stdout.write(f"wrote {path}")
