# ruff: noqa: F403
"""Routing benchmark, multi-tenant: the project's settings (django-tenants backend, routing middleware, the
whole middleware stack); tenant hosts serve tests.perf.routing_site."""

from saas.settings import *

ROOT_URLCONF = "tests.perf.routing_site"
