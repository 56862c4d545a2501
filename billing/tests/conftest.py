"""Billing fixtures: a local Stripe-shaped HTTP server the real SDK talks to, and webhook signing."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from billing.tests.stripe_server import StripeFixtureServer

WEBHOOK_SECRET = "whsec_test_fixture_secret"


@pytest.fixture
def stripe_server(settings: Any) -> Iterator[StripeFixtureServer]:
    """Payments configured, the SDK pointed at a fresh fixture server (no retries: failures show at once)."""
    server = StripeFixtureServer().start()
    settings.STRIPE_SECRET_KEY = "sk_test_fixture"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = server.url
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    yield server
    server.stop()


@pytest.fixture
def webhook_secret(settings: Any) -> str:
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    return WEBHOOK_SECRET


def sign(payload: str, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The Stripe-Signature header exactly as Stripe computes it."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def event(event_id: str, event_type: str, obj: dict[str, Any], created: int | None = None) -> dict[str, Any]:
    """An Event as Stripe delivers it to a webhook endpoint."""
    return {
        "id": event_id,
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": int(time.time()) if created is None else created,
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }


def body(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"))


@pytest.fixture(autouse=True)
def _shared_tenants_on_the_default_plan(request: pytest.FixtureRequest) -> None:
    """The session puts the shared tenants on the unlimited plan (root conftest); billing tests start
    them on the default plan, as a signup would (inside the test transaction, so it is rolled back)."""
    if "db" not in request.fixturenames or "committed" in request.fixturenames:
        return
    request.getfixturevalue("db")
    from billing.entitlements import plans_forget
    from billing.models import Plan, Subscription
    from tenants.models import Tenant

    default = Plan.objects.get(is_default=True)
    Subscription.objects.filter(tenant__schema_name__in=["alpha", "beta"]).update(plan=default)
    Tenant.objects.filter(schema_name__in=["alpha", "beta"]).update(plan_code=default.code)
    plans_forget()
