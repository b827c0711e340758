"""Settings read from the environment, with safe embedded defaults (SQLite under var/)."""

import os
from pathlib import Path

import dj_database_url

from civicgrid.core import conf as civicgrid_conf

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("CIVICGRID_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [x.strip() for x in os.environ.get(name, default).split(",") if x.strip()]


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    # A per-installation key kept under var/, so a default install is not shipping a public key.
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        from django.core.management.utils import get_random_secret_key

        key_file.write_text(get_random_secret_key())
        key_file.chmod(0o600)
    SECRET_KEY = key_file.read_text().strip()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list(
    "CSRF_TRUSTED_ORIGINS", "http://127.0.0.1:8000,http://localhost:8000"
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    # Listed so /api/docs serves Swagger UI from its bundled static files, not from a CDN.
    "ninja",
    "civicgrid.core",
    "civicgrid.security",
    "civicgrid.audit",
    "civicgrid.territory",
    "civicgrid.people",
    "civicgrid.cases",
    "civicgrid.console",
    "civicgrid.field",
    "civicgrid.public",
    "civicgrid.analytics",
    "civicgrid.notifications",
    "civicgrid.basedata",
    "civicgrid.mediation",
    "civicgrid.party",
    "civicgrid.api",
    "civicgrid.ops",
]

MIDDLEWARE = [
    # First: the request id and the request metrics see every response.
    "civicgrid.ops.middleware.ObservabilityMiddleware",
    # A full media disk answers 507 with a clear message (nothing of the action was kept).
    "civicgrid.ops.middleware.StorageFullMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Read-your-writes with a read replica: a request that writes pins its client to the primary.
    "civicgrid.ops.replica.ReplicaPinMiddleware",
    "civicgrid.security.middleware.SessionTimeoutMiddleware",
    # One access object per request (civicgrid.people.access).
    "civicgrid.people.access.PrincipalMiddleware",
    "civicgrid.audit.context.AuditContextMiddleware",
    "civicgrid.security.middleware.RateLimitMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "civicgrid.field.middleware.FieldPrincipalMiddleware",
    # NotFound → the 404 page, Forbidden → the 403 page, for every HTML view.
    "civicgrid.core.errors.DomainErrorMiddleware",
    # AxesMiddleware must be last: it turns a lockout into a clear response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "civicgrid" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]

DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'civicgrid.sqlite3'}")
# Health checks: a connection kept across requests that broke (PostgreSQL restarted, failover) is
# replaced at the start of the next request instead of failing it.
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # WAL lets the web process read while the task worker writes; IMMEDIATE takes the write
    # lock at BEGIN so two writers queue instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
            " PRAGMA busy_timeout=20000; PRAGMA cache_size=-64000;"
        ),
    }
# A streaming replica for reads that tolerate lag; /readyz and /metrics report its replay lag.
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(
        DATABASE_REPLICA_URL, conn_max_age=60, conn_health_checks=True
    )
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
# Reads inside civicgrid.ops.replica.replica_reads() go to the replica when there is one.
DATABASE_ROUTERS = ["civicgrid.ops.replica.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "people.User"
AUTHENTICATION_BACKENDS = [
    # Refuses inside a per-account delay or past the per-address budget, before any password check.
    "civicgrid.security.loginguard.LoginGuardBackend",
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": max(10, int(os.environ.get("PASSWORD_MIN_LENGTH", "10")))},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

# Login throttling (django-axes): lock a username+IP pair after 5 failures for 15 minutes.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("AXES_COOLOFF_HOURS", "0.25"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
AXES_CLIENT_IP_CALLABLE = "civicgrid.security.net.client_ip"
# The client address: REMOTE_ADDR unless a trusted proxy overwrites a header on every request
# (e.g. CLIENT_IP_HEADER=HTTP_X_REAL_IP behind nginx with `proxy_set_header X-Real-IP $remote_addr`).
CLIENT_IP_HEADER = os.environ.get("CLIENT_IP_HEADER", "")
# Per-account progressive delay and per-address budget across accounts (civicgrid/security).
LOGIN_ACCOUNT_FREE_FAILURES = int(os.environ.get("LOGIN_ACCOUNT_FREE_FAILURES", "3"))
LOGIN_ACCOUNT_BASE_DELAY = int(os.environ.get("LOGIN_ACCOUNT_BASE_DELAY", "2"))
LOGIN_ACCOUNT_MAX_DELAY = int(os.environ.get("LOGIN_ACCOUNT_MAX_DELAY", "900"))
LOGIN_IP_FAILURES = int(os.environ.get("LOGIN_IP_FAILURES", "30"))
# Anonymous endpoints: (scope, path regex, methods, ((window seconds, max requests), ...)) per IP.
PATH_RATE_LIMITS = [
    ("track", r"^/(api/public/)?track/", ("GET",), ((60, 30), (3600, 300))),
    ("rate", r"^/api/public/track/[^/]+/rate$|^/track/[^/]+/$", ("POST",), ((3600, 10),)),
    ("emergency", r"^/api/public/emergency$", ("POST",), ((600, 20), (86400, 200))),
    ("open311", r"^/api/open311/", ("GET", "HEAD"), ((60, 60), (3600, 1000))),
    # Keyed partners (a WeChat gateway) post for many citizens from one address.
    ("open311_post", r"^/api/open311/", ("POST",), ((60, 30), (3600, 600))),
]

LANGUAGE_CODE = os.environ.get("LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "civicgrid" / "locale"]

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
# Front-end libraries come from npm packages (package-lock.json), never from a CDN; `make assets`
# copies the files we serve from node_modules/ into var/vendor/ (see Makefile).
(VAR_DIR / "vendor").mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "civicgrid" / "static", ("vendor", VAR_DIR / "vendor")]
STORAGES = {
    "default": {
        "BACKEND": os.environ.get("MEDIA_STORAGE", "django.core.files.storage.FileSystemStorage"),
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))

TASKS = {
    "default": {
        "BACKEND": os.environ.get("TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

# One cache shared by every process: rate-limit counters and sign-in limits live there.
# CACHE_URL (or REDIS_URL) redis://host:port/db = Redis; db://table = a database table;
# locmem:// = this process's memory (one process only); empty = the database table
# `civicgrid_cache`, which `migrate` creates.
CACHE_URL = os.environ.get("CACHE_URL") or os.environ.get("REDIS_URL") or ""
if CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "civicgrid",
        }
    }
elif CACHE_URL.startswith("locmem://"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "civicgrid",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": CACHE_URL.removeprefix("db://") or "civicgrid_cache",
        }
    }

# Sessions and transport: secure by default outside DEBUG (docs/security.md).
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_IDLE_TIMEOUT = int(float(os.environ.get("SESSION_IDLE_MINUTES", "30")) * 60)
SESSION_ABSOLUTE_TIMEOUT = int(float(os.environ.get("SESSION_ABSOLUTE_HOURS", "12")) * 3600)
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_TIMEOUT
SECURE_HSTS_SECONDS = int(os.environ.get("HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("HSTS_PRELOAD", False)
# "HTTP_X_FORWARDED_PROTO,https": only when the proxy always sets (overwrites) that header.
_proxy_ssl = env_list("SECURE_PROXY_SSL_HEADER", "")
SECURE_PROXY_SSL_HEADER = (_proxy_ssl[0], _proxy_ssl[1]) if len(_proxy_ssl) == 2 else None
X_FRAME_OPTIONS = "SAMEORIGIN"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# API tokens expire (days; a token may be issued for less) and can be revoked.
API_TOKEN_DAYS = int(os.environ.get("API_TOKEN_DAYS", "90"))
# Audit trail retention: purge_audit refuses anything younger (never below 180 days).
AUDIT_RETENTION_DAYS = max(180, int(os.environ.get("AUDIT_RETENTION_DAYS", "180")))

# Map: with no tile server configured the base layer is the area and grid boundaries themselves.
MAP_TILE_URL = os.environ.get("MAP_TILE_URL", "")
MAP_TILE_ATTRIBUTION = os.environ.get("MAP_TILE_ATTRIBUTION", "")


def _origin(url_template: str) -> str:
    """The CSP source of a tile URL template: https://{s}.tiles.example/{z}/... → https://*.tiles.example."""
    from urllib.parse import urlsplit

    parts = urlsplit(url_template.replace("{s}", "x-s-x"))
    if not parts.scheme or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc.replace('x-s-x', '*')}"


# Content-Security-Policy (django-csp; docs/security.md "Browser and files"). No inline script,
# no eval, no plugins, no framing by others; styles allow 'unsafe-inline' because Leaflet and
# ECharts write style attributes into the markup they build and the templates use style="".
# Data shown in maps and charts is set as text (never HTML), so styles cannot carry script.
_TILE_SOURCES = [o for o in (_origin(MAP_TILE_URL),) if o]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:", *_TILE_SOURCES],
        "media-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "worker-src": ["'self'"],
        "manifest-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'self'"],
    }
}

# LOG_FORMAT=json (make prod, the systemd units): one JSON object per line with the request id,
# which task workers carry over from the request that enqueued the task (civicgrid.ops).
LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "civicgrid.ops.context.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(process)d %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}

# Application options: declared, typed and documented in civicgrid/core/conf.py, read through
# civicgrid.core.conf.options(); each may be set by the environment variable of the same name.
CIVICGRID = civicgrid_conf.from_environ(os.environ)
# Read by the protected file views (also through options()): behind nginx, answer with
# X-Accel-Redirect: <prefix><path under MEDIA_ROOT>; empty: Django streams the file itself.
FILES_ACCEL_REDIRECT_PREFIX = os.environ.get("FILES_ACCEL_REDIRECT_PREFIX", "")

# Personal-data keys (SM4 for ID numbers and phones, SM3-HMAC blind index) live outside the
# database: PII_KEYS / PII_ACTIVE_KEY / PII_INDEX_KEY in the environment, or this key file
# (generated on first use). See civicgrid/basedata/crypto.py and docs/basedata.md.
PII_KEY_FILE = Path(os.environ.get("PII_KEY_FILE", VAR_DIR / "pii_keys.json"))
