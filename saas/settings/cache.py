"""Redis cache. Every key is prefixed with the current schema (django-tenants' make_key)."""

from saas import env

REDIS_URL = env.REDIS_URL or "redis://127.0.0.1:6379/0"

CACHES = {
    "default": {
        "BACKEND": "saas.redis_clients.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
    }
}
