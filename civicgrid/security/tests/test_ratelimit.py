"""Anonymous endpoints have per-address budgets; counters live in the shared cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connection

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[3]


def limits(settings, scope, rules):
    settings.PATH_RATE_LIMITS = [
        (s, p, m, tuple(rules) if s == scope else r) for s, p, m, r in settings.PATH_RATE_LIMITS
    ]


@pytest.mark.parametrize(
    "method,path,scope",
    [
        ("get", "/track/NOSUCHCODE/", "track"),
        ("get", "/api/public/track/NOSUCHCODE", "track"),
        ("post", "/api/public/track/NOSUCHCODE/rate", "rate"),
        ("post", "/api/public/emergency", "emergency"),
        ("get", "/api/open311/v2/services.json", "open311"),
        ("post", "/api/open311/v2/requests.json", "open311_post"),
    ],
)
def test_each_public_endpoint_refuses_past_its_budget(client, world, settings, method, path, scope):
    limits(settings, scope, [(60, 3)])
    call = getattr(client, method)
    statuses = [call(path, REMOTE_ADDR="192.0.2.1").status_code for _ in range(3)]
    assert 429 not in statuses
    refused = call(path, REMOTE_ADDR="192.0.2.1")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    if path.startswith("/api/open311/"):
        assert refused.json()[0]["code"] == 429  # GeoReport's error array
    elif path.startswith("/api/"):
        assert refused.json()["code"] == "rate_limited"
    # another address still has its budget
    assert call(path, REMOTE_ADDR="192.0.2.2").status_code != 429


def test_budgets_are_per_window(client, world, settings):
    import time_machine

    limits(settings, "track", [(60, 2)])
    with time_machine.travel("2026-06-01 10:00:05 +08:00", tick=False) as clock:
        for _ in range(2):
            client.get("/track/X/", REMOTE_ADDR="192.0.2.1")
        assert client.get("/track/X/", REMOTE_ADDR="192.0.2.1").status_code == 429
        clock.shift(60)
        assert client.get("/track/X/", REMOTE_ADDR="192.0.2.1").status_code != 429


def test_signed_in_pages_are_not_counted(client, world, settings):
    limits(settings, "track", [(60, 1)])
    client.force_login(world.operator_a)
    for _ in range(3):
        assert client.get("/console/cases/", REMOTE_ADDR="192.0.2.1").status_code == 200


def test_counters_are_shared_through_the_database_cache(settings, world):
    """Two processes see one count: the counter is a row of the cache table, not process memory."""
    from django.core.cache import caches
    from django.core.management import call_command

    from civicgrid.security import ratelimit

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "cg_test_cache",
        }
    }
    call_command("createcachetable", verbosity=0)
    del caches["default"]  # rebuilt from the new settings
    try:
        rule = ratelimit.Rule(600, 5)
        ratelimit.count("t", "1.2.3.4", [rule])
        ratelimit.count("t", "1.2.3.4", [rule])
        with connection.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM cg_test_cache")
            assert cur.fetchone()[0] == 1
        del caches["default"]  # a fresh cache object, as in another process
        assert ratelimit.used("t", "1.2.3.4", rule) == 2
    finally:
        del caches["default"]
    cache.clear()


def _settings_in(env: dict) -> dict:
    code = (
        "import json, config.settings.base as s; print(json.dumps({"
        "'cache': s.CACHES['default']['BACKEND'], 'location': s.CACHES['default'].get('LOCATION')"
        "}))"
    )
    clean = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CACHE_URL", "DEBUG")}
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_default_cache_is_the_database_table_and_redis_when_configured():
    assert _settings_in({}) == {
        "cache": "django.core.cache.backends.db.DatabaseCache",
        "location": "civicgrid_cache",
    }
    redis = _settings_in({"REDIS_URL": "redis://127.0.0.1:6379/3"})
    assert redis == {
        "cache": "django.core.cache.backends.redis.RedisCache",
        "location": "redis://127.0.0.1:6379/3",
    }
    assert _settings_in({"CACHE_URL": "redis://cache:6379/0"})["location"] == "redis://cache:6379/0"


def test_migrate_creates_the_cache_table(settings):
    from civicgrid.security.signals import _cache_table

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "cg_migrate_cache",
        }
    }

    class Sender:
        label = "security"

    _cache_table(Sender, using="default")
    assert "cg_migrate_cache" in connection.introspection.table_names()
