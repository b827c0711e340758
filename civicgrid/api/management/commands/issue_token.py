"""Issue a per-user API token; the token is printed once and only its hash is stored."""

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.utils.translation import gettext_lazy

from civicgrid.api.models import ApiToken
from civicgrid.core.management.base import TranslatedCommand


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Issue an API token for USERNAME named NAME (e.g. the device or system using it)."
    )

    def add_arguments(self, parser):
        parser.add_argument("username", help=gettext_lazy("The user the token acts as."))
        parser.add_argument(
            "name",
            help=gettext_lazy("What uses the token, e.g. a device or a system (1–100 characters)."),
        )

    def handle(self, *args, username: str, name: str, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"user {username!r} not found")
        if not user.is_active:
            raise CommandError(f"user {username!r} is inactive")
        name = name.strip()
        if not name or len(name) > 100:
            raise CommandError("name must be 1 to 100 characters")
        _row, token = ApiToken.issue(user=user, name=name)
        # Only the token on stdout, so scripts can capture it: TOKEN=$(manage.py issue_token …)
        self.stdout.write(token)
        self.stderr.write(
            f"Token {name!r} issued for {username}. Store it now: it cannot be shown again. "
            "Use it as 'Authorization: Bearer <token>' or 'X-API-Token: <token>'."
        )
