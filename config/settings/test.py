"""Test settings: fast hasher, tasks run immediately, local-memory cache."""

from .base import *  # noqa: F401,F403
from .base import DATABASES, LOGGING

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
AXES_FAILURE_LIMIT = 3
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# The live server of the browser tests speaks plain HTTP; production values are tested from
# base.py in a subprocess (civicgrid/security/tests/test_settings.py).
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
# Tests travel in time with a signed-in client; the lifetimes are tested with their real values
# in civicgrid/security/tests/test_sessions.py.
SESSION_IDLE_TIMEOUT = SESSION_ABSOLUTE_TIMEOUT = SESSION_COOKIE_AGE = 10 * 365 * 86400
DEBUG = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": ""}  # in-memory
else:
    # A test database is thrown away: its commits need not wait for the disk (the transactional
    # and concurrency tests commit thousands of times).
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options["options"] = (options.get("options", "") + " -c synchronous_commit=off").strip()
LANGUAGE_CODE = "zh-hans"
LOGGING = {**LOGGING, "loggers": {**LOGGING["loggers"], "civicgrid.audit": {"level": "WARNING"}}}
# Fixed personal-data keys so tests never touch a key file (never use these anywhere else).
PII_KEYRING = {
    "keys": {"t1": "dGVzdC1rZXktb25lLTE2Qg==", "t2": "dGVzdC1rZXktdHdvLTE2Qg=="},
    "active": "t1",
    "index_key": "dGVzdC1ibGluZC1pbmRleC1rZXktMzItYnl0ZXMhISE=",
}
