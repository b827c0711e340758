"""Revoke API tokens: by prefix (as listed by the admin) or every token of a user."""

from django.core.management.base import CommandError
from django.utils.translation import gettext_lazy

from civicgrid.api.models import ApiToken
from civicgrid.audit.context import acting_as
from civicgrid.core.management.base import TranslatedCommand


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Revoke the API token with PREFIX (e.g. cg_AbC1), or all of --user's tokens."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "prefix",
            nargs="?",
            default="",
            help=gettext_lazy("The token's prefix, as the admin lists it."),
        )
        parser.add_argument(
            "--user", default="", help=gettext_lazy("Revoke every token of this username.")
        )

    def handle(self, *args, prefix: str, user: str, **options):
        if bool(prefix) == bool(user):
            raise CommandError("give either a token PREFIX or --user USERNAME")
        rows = ApiToken.objects.filter(revoked=False)
        rows = rows.filter(prefix=prefix) if prefix else rows.filter(user__username=user)
        rows = list(rows)
        if not rows:
            raise CommandError("no active token matches")
        with acting_as(label="manage.py revoke_token"):
            for row in rows:
                row.revoke()
        self.stdout.write(f"revoked {len(rows)} token(s)")
