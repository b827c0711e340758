"""Test settings: fast hasher, tasks run immediately, local-memory cache."""

from .base import *  # noqa: F401,F403
from .base import DATABASES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
AXES_FAILURE_LIMIT = 3
DEBUG = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": ""}  # in-memory
LANGUAGE_CODE = "zh-hans"
# Fixed personal-data keys so tests never touch a key file (never use these anywhere else).
PII_KEYRING = {
    "keys": {"t1": "dGVzdC1rZXktb25lLTE2Qg==", "t2": "dGVzdC1rZXktdHdvLTE2Qg=="},
    "active": "t1",
    "index_key": "dGVzdC1ibGluZC1pbmRleC1rZXktMzItYnl0ZXMhISE=",
}
