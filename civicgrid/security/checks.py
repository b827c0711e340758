"""Start-up checks: production mode must not run with the demo accounts' published password."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError
from django.db.models import Count

log = logging.getLogger("civicgrid.security")


def demo_password_accounts(limit: int = 20) -> list[str]:
    """Usernames (at most ``limit``) whose password is the documented demo password.

    The named demo accounts each have their own hash; the generated ones share one hash, so one
    check per distinct shared hash covers thousands of accounts.
    """
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import check_password

    from civicgrid.core.conf import options
    from civicgrid.core.demo.people import ACCOUNTS

    password = options().DEMO_PASSWORD
    if not password:
        return []
    User = get_user_model()
    found: list[str] = []
    named = User.objects.filter(username__in=[a.username for a in ACCOUNTS], is_active=True)
    for username, hashed in named.values_list("username", "password"):
        if check_password(password, hashed):
            found.append(username)
    shared = (
        User.objects.filter(is_active=True)
        .values("password")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .order_by("-n")[:5]
    )
    for row in shared:
        if check_password(password, row["password"]):
            found.extend(
                User.objects.filter(password=row["password"], is_active=True)
                .order_by("username")
                .values_list("username", flat=True)[:limit]
            )
    return sorted(set(found))[:limit]


@checks.register(checks.Tags.security)
def demo_accounts_check(app_configs=None, **kwargs):
    if settings.DEBUG or getattr(settings, "SILENCE_DEMO_PASSWORD_CHECK", False):
        return []
    try:
        names = demo_password_accounts()
    except DatabaseError:
        return []  # no tables yet (before the first migrate)
    except ImproperlyConfigured:
        return []  # a bad option: the options check (civicgrid.E001) reports it
    if not names:
        return []
    message = (
        "PRODUCTION MODE WITH DEMO ACCOUNTS: these active accounts still use the published demo "
        "password: " + ", ".join(names)
    )
    log.critical(message)
    return [
        checks.Warning(
            message,
            hint="Deactivate them or set new passwords (manage.py changepassword), or do not run "
            "seed_demo on a production database.",
            id="civicgrid.security.W001",
        )
    ]
