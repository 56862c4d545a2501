"""Helpers for tests that start real processes against the test database."""

from __future__ import annotations

import os
import socket
from urllib.parse import quote

from django.conf import settings
from django.db import connection


def test_database_url() -> str:
    """A DATABASE_URL pointing at the database this test session uses."""
    s = connection.settings_dict
    host = s.get("HOST") or "localhost"
    if host.startswith("/"):
        host = quote(host, safe="")
    auth = quote(s.get("USER") or "postgres", safe="")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"], safe="")
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgres://{auth}@{host}{port}/{s['NAME']}"


def child_env(**extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "REDIS_URL": settings.CACHES["default"]["LOCATION"],
        "DJANGO_SETTINGS_MODULE": "saas.settings",
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
    env.pop("PYTEST_XDIST_WORKER", None)
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
