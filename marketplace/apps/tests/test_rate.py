"""The per-app rate limit degrades when Redis hangs: one timeout, then calls go through uncounted for the
back-off period without touching Redis; with Redis back the budget applies again."""

from __future__ import annotations

import logging
import socket
import time
from typing import Any

import pytest
import redis

from marketplace.apps import rate, usage
from marketplace.apps.tests.conftest import host_url
from marketplace.apps.tests.test_usage import connected

pytestmark = pytest.mark.django_db


def test_a_hanging_redis_costs_one_timeout_then_the_limit_backs_off(
    make_app: Any, admin_client: Any, tenant_a: Any, settings: Any, monkeypatch: Any, caplog: Any
) -> None:
    # Given a Redis address that accepts connections and never answers (a blackholed Redis)
    app, secret = make_app(["contacts:read"])
    on_a = connected(app, secret, tenant_a, admin_client)
    blackhole = socket.socket()
    blackhole.bind(("127.0.0.1", 0))
    blackhole.listen(128)
    port = blackhole.getsockname()[1]
    dead = redis.Redis.from_url(f"redis://127.0.0.1:{port}/0", socket_connect_timeout=0.5, socket_timeout=0.5)
    live = usage.redis_client()
    settings.APP_RATE_BACKOFF_SECONDS = 2
    settings.APP_USAGE_BACKOFF_SECONDS = 2
    settings.OAUTH_APP_RATE_PER_MINUTE = 3
    caplog.set_level(logging.WARNING, logger="marketplace.apps.rate")
    monkeypatch.setattr(rate, "_skip_until", 0.0)
    monkeypatch.setattr(usage, "_skip_until", 0.0)
    try:
        monkeypatch.setattr(rate, "redis_client", lambda **_kw: dead)
        monkeypatch.setattr(usage, "redis_client", lambda **_kw: dead)

        # When the app calls the API more often than its budget
        first = on_a.get(host_url(tenant_a, "/api/v1/contacts/"))
        statuses = [on_a.get(host_url(tenant_a, "/api/v1/contacts/")).status_code for _ in range(5)]
        started = time.monotonic()
        answers = [rate.app_rate_allows(app_id=app.pk, tenant_id=tenant_a.pk) for _ in range(50)]
        backed_off_took = time.monotonic() - started

        # Then every call goes through; after the first timeout Redis is not asked again
        assert first.status_code == 200
        assert statuses == [200] * 5
        assert answers == [(True, 0)] * 50
        assert backed_off_took < 0.2
        assert len([r for r in caplog.records if "not limiting" in r.getMessage()]) == 1

        # And once the back-off is over with Redis back, the budget applies again
        monkeypatch.setattr(rate, "redis_client", lambda **_kw: live)
        monkeypatch.setattr(usage, "redis_client", lambda **_kw: live)
        time.sleep(2.1)
        limited = [on_a.get(host_url(tenant_a, "/api/v1/contacts/")).status_code for _ in range(4)]
        assert limited == [200, 200, 200, 429]
        assert rate._skip_until == 0.0
    finally:
        blackhole.close()
