"""Login-guard counters, and the database cache table created by ``migrate``."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import signals as auth_signals
from django.core.management import call_command
from django.db.models.signals import post_migrate
from django.dispatch import receiver

from . import loginguard
from .middleware import SEEN, STARTED


@receiver(auth_signals.user_login_failed, dispatch_uid="security:login_failed")
def _failed(sender, credentials, request=None, **kwargs):
    if request is not None and getattr(request, "login_guard_block", None) is not None:
        return  # refused inside a delay: not a new guess, the delay does not grow
    loginguard.note_failure(request, str(credentials.get("username", "")))


@receiver(auth_signals.user_logged_in, dispatch_uid="security:logged_in")
def _succeeded(sender, request, user, **kwargs):
    loginguard.note_success(user.get_username())
    session = getattr(request, "session", None)
    if session is not None:
        now = int(time.time())
        session[STARTED] = session[SEEN] = now  # the absolute lifetime counts from sign-in


@receiver(post_migrate, dispatch_uid="security:cache_table")
def _cache_table(sender, using="default", **kwargs):
    """Create the database cache table wherever a DatabaseCache is configured (idempotent)."""
    if sender.label != "security":
        return
    if any(
        c["BACKEND"].endswith("DatabaseCache") for c in getattr(settings, "CACHES", {}).values()
    ):
        call_command("createcachetable", database=using, verbosity=0)
