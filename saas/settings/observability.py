"""Logging and Sentry (initialised only when SENTRY_DSN is set; no PII by default)."""

from saas import env

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

if env.SENTRY_DSN:
    from saas.sentry import sentry_init

    sentry_init(dsn=env.SENTRY_DSN, environment=env.SENTRY_ENVIRONMENT)
