"""The base class of the project's management commands: `--help` in the active language.

Help texts are lazy translations (``gettext_lazy``) so that they are translated when the parser is
built, in the language active then (``LANGUAGE_CODE=en manage.py … --help`` for English; the
default is the site's language, Chinese). argparse needs real strings for the description, so the
lazy ``help`` is resolved here, once, for every command.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand


class TranslatedCommand(BaseCommand):
    """A command whose help and argument help are lazy translations."""

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.description = str(self.help) if self.help else None
        for action in parser._actions:
            # Argument help may be lazy too; argparse calls str methods (.strip, %) on it.
            if action.help is not None and not isinstance(action.help, str):
                action.help = str(action.help)
        return parser
