# ruff: noqa: F403, F405
"""Routing benchmark, single-tenant baseline: the same settings and view without django-tenants (plain
PostgreSQL backend, no routing middleware, no router), on one schema fixed for the connection."""

from saas.settings import *

SINGLE_SCHEMA = "bt_single"  # a copy of a provisioned tenant, made by the benchmark

DATABASES = {
    "default": {
        **DATABASES["default"],
        "ENGINE": "django.db.backends.postgresql",
        "OPTIONS": {"options": f"-c search_path={SINGLE_SCHEMA},public"},
    }
}
# No django-tenants at all: its app refuses to start without its router, its cache key function reads
# the connection's schema.
INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "django_tenants"]
DATABASE_ROUTERS = []
CACHES = {"default": {k: v for k, v in CACHES["default"].items() if not k.endswith("KEY_FUNCTION")}}
MIDDLEWARE = [m for m in MIDDLEWARE if m != "tenants.middleware.TenantRoutingMiddleware"]
ROOT_URLCONF = "tests.perf.routing_site"
