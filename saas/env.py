"""The only module that reads ``os.environ``.

Every setting that comes from the environment is read here through a typed helper, so the
list below is the complete configuration surface of the platform (README "Configuration").
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

_env = environ.Env()


def _str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def _bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


# Where local state lives: embedded database/redis data, generated secret key, uploaded files.
DATA_DIR = Path(_str("DATA_DIR", str(BASE_DIR / ".data"))).resolve()

DEBUG = _bool("DEBUG", default=False)
BASE_DOMAIN = _str("BASE_DOMAIN", "localhost").lower()
# Domains that only ever resolve to the developer's machine (or are reserved for testing, RFC 6761):
# DEBUG (tracebacks with settings on every error page) is refused anywhere else.
DEVELOPMENT_DOMAINS = ("localhost", "lvh.me", "localtest.me")
DEVELOPMENT_SUFFIXES = (".localhost", ".test", ".example", ".invalid", ".lvh.me", ".localtest.me", ".nip.io")


def is_development_domain(domain: str) -> bool:
    host = domain.split(":", 1)[0].strip(".").lower()
    return host in DEVELOPMENT_DOMAINS or host.endswith(DEVELOPMENT_SUFFIXES) or host.startswith("127.")


if DEBUG and not is_development_domain(BASE_DOMAIN):
    raise RuntimeError(
        f"DEBUG is on but BASE_DOMAIN={BASE_DOMAIN!r} is not a development domain: turn DEBUG off in production."
    )
PORT = _int("PORT", 8000)
# The port users type in URLs (empty when the site sits behind a proxy on 80/443).
PUBLIC_PORT = _str("PUBLIC_PORT", str(PORT) if BASE_DOMAIN == "localhost" else "")
PUBLIC_SCHEME = _str("PUBLIC_SCHEME", "http" if BASE_DOMAIN == "localhost" else "https")

DATABASE_URL = _str("DATABASE_URL")
REDIS_URL = _str("REDIS_URL")
SENTRY_DSN = _str("SENTRY_DSN")
SENTRY_ENVIRONMENT = _str("SENTRY_ENVIRONMENT", "development" if DEBUG else "production")
STRIPE_SECRET_KEY = _str("STRIPE_SECRET_KEY")
STRIPE_WEBHOOK_SECRET = _str("STRIPE_WEBHOOK_SECRET")
# The signing secret of the second endpoint, the one listening to events on connected accounts.
STRIPE_CONNECT_WEBHOOK_SECRET = _str("STRIPE_CONNECT_WEBHOOK_SECRET")
# Dunning (platform settings, not tenant-visible): days of banner and emails after a payment is
# overdue before the workspace turns read-only, then days read-only before it is suspended.
BILLING_GRACE_DAYS = max(0, _int("BILLING_GRACE_DAYS", 7))
BILLING_SUSPEND_AFTER_DAYS = max(0, _int("BILLING_SUSPEND_AFTER_DAYS", 14))
EMAIL_URL = _str("EMAIL_URL")
DEFAULT_FROM_EMAIL = _str("DEFAULT_FROM_EMAIL", f"CRM <no-reply@{BASE_DOMAIN}>")
TRUST_X_FORWARDED_HOST = _bool("TRUST_X_FORWARDED_HOST", default=False)
# Seconds a connection attempt to PostgreSQL may take before the request gives up with a 503.
DATABASE_CONNECT_TIMEOUT = max(1, _int("DATABASE_CONNECT_TIMEOUT", 10))
# With PUBLIC_SCHEME=https, the HSTS header carries `preload` unless this is 0 (saas/settings/security.py).
HSTS_PRELOAD = _bool("HSTS_PRELOAD", default=True)
MEDIA_ROOT = _str("MEDIA_ROOT", str(DATA_DIR / "media"))
STATIC_ROOT = _str("STATIC_ROOT", str(DATA_DIR / "static"))
# Per-tenant backup archives (tenants/backup.py): outside MEDIA_ROOT, readable by staff only.
TENANT_BACKUP_ROOT = _str("TENANT_BACKUP_ROOT", str(DATA_DIR / "backups"))
# Where pg_dump, pg_restore and psql are (empty: the embedded server's, then PATH, then /usr/lib/postgresql).
PG_BIN_DIR = _str("PG_BIN_DIR")
# Requests per minute one API token may make (bulk integrations sync at a few hundred per second).
API_TOKEN_RATE_PER_MINUTE = _int("API_TOKEN_RATE_PER_MINUTE", 18_000)
# Incoming-call popup streams (server-sent events) one web process keeps open; each holds a worker thread,
# so keep it below the threads per process (0: every page polls instead; docs/calls-popup.md).
CALLS_SSE_MAX_STREAMS = max(0, _int("CALLS_SSE_MAX_STREAMS", 2))
# Pre-migrated empty schemas kept ready for instant signups (ADR 0008); 0 turns the refill off.
TENANT_POOL_SIZE = max(0, _int("TENANT_POOL_SIZE", 5))
# Seconds a web/worker process keeps its database connection between requests (0: a new connection per
# request; connections are checked before reuse, CONN_HEALTH_CHECKS). Never behind a transaction pooler.
DATABASE_CONN_MAX_AGE = max(0, _int("DATABASE_CONN_MAX_AGE", 600))
# Extensions' webhooks may target private/loopback addresses (development only; never in production).
WEBHOOKS_ALLOW_PRIVATE = _bool("WEBHOOKS_ALLOW_PRIVATE", default=False)
# Mailbox credentials are encrypted with these Fernet keys (comma-separated, newest first; older keys only
# decrypt until `manage.py mail_keys_rotate` re-encrypts). Empty: one key derived from SECRET_KEY (development).
MAIL_ENCRYPTION_KEYS = _str("MAIL_ENCRYPTION_KEYS")
# Mailboxes may point at private/loopback IMAP/SMTP hosts (development and tests only; never in production).
MAIL_ALLOW_PRIVATE = _bool("MAIL_ALLOW_PRIVATE", default=False)
# The vtiger migration may fetch from private/loopback addresses (development only; never in production).
VTIGER_ALLOW_PRIVATE = _bool("VTIGER_ALLOW_PRIVATE", default=False)
CELERY_TASK_ALWAYS_EAGER = _bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Seconds before a task taken by a worker that vanished (killed, or cut off from Redis mid-task) is handed
# out again; longer than the longest task (saas/settings/celery.py).
CELERY_VISIBILITY_TIMEOUT = max(10, _int("CELERY_VISIBILITY_TIMEOUT", 3600))
# Set by pytest-xdist in each test worker; keeps parallel test workers' cache keys apart.
TEST_WORKER = _str("PYTEST_XDIST_WORKER", "main")


def secret_key() -> str:
    """SECRET_KEY from the environment, or one generated once into the data folder (development)."""
    configured = _str("SECRET_KEY")
    if configured:
        return configured
    if not DEBUG and _bool("REQUIRE_SECRET_KEY", default=False):
        raise RuntimeError("SECRET_KEY must be set when REQUIRE_SECRET_KEY is on (production).")
    path = DATA_DIR / "secret_key"
    if path.exists():
        return path.read_text().strip()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


PREPARE_ONLY_WHEN_ASKED = 2**31 - 1


def database_config() -> dict[str, Any]:
    """Django DATABASES['default'] from DATABASE_URL, using django-tenants' backend."""
    if not DATABASE_URL:
        raise RuntimeError(
            "DATABASE_URL is not set. `make run` / `make test` start an embedded PostgreSQL and set it; "
            "otherwise export DATABASE_URL=postgres://user:pass@host:5432/dbname"
        )
    config: dict[str, Any] = _env.db_url_config(DATABASE_URL)
    # A unix-socket directory arrives percent-encoded in the host part (postgres://u@%2Fpath/db).
    config["HOST"] = unquote(config.get("HOST") or "")
    # django-tenants' backend; its SET search_path doubles as the connection health check (tenants/postgresql_backend).
    config["ENGINE"] = "tenants.postgresql_backend"
    # An unreachable server (failover, a dropped network) fails a connection attempt within seconds, so the
    # request answers 503 (saas/errors.py) instead of waiting for the operating system's TCP timeout.
    config.setdefault("OPTIONS", {}).setdefault("connect_timeout", DATABASE_CONNECT_TIMEOUT)
    # Statements are prepared on the connection only when asked (saas/prepared.py: the per-request lookups and
    # the list and record statements it keeps); psycopg never prepares anything by itself (a threshold no
    # statement reaches; Django's default, None, would refuse even the asked-for ones).
    config["OPTIONS"].setdefault("prepare_threshold", PREPARE_ONLY_WHEN_ASKED)
    return config


def email_config() -> dict[str, Any]:
    """Email backend settings from EMAIL_URL (smtp://, smtp+tls://, console://, locmem://)."""
    if not EMAIL_URL:
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if EMAIL_URL.startswith("locmem:"):
        return {"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    return {key: value for key, value in _env.email_url_config(EMAIL_URL).items() if value is not None}


# The product's name and logo as people see them (page titles, top bar, emails' sender name); operators
# who resell the platform set their own. An empty logo URL shows the built-in SVG mark.
PRODUCT_NAME = _str("PRODUCT_NAME", "Kestrel") or "Kestrel"
PRODUCT_LOGO_URL = _str("PRODUCT_LOGO_URL")
# OAuth apps' redirect URIs may use plain http (development and tests only; https otherwise).
OAUTH_REDIRECT_SCHEMES = ["https", "http"] if _bool("OAUTH_ALLOW_HTTP_REDIRECTS", default=False) else ["https"]
# Requests one OAuth app may make per minute in one workspace (marketplace/apps, ADR 0045).
OAUTH_APP_RATE_PER_MINUTE = _int("OAUTH_APP_RATE_PER_MINUTE", 600)
