from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from crm_apps.modules.calls.settings_store import telephony_secret_rotate
from tenants.models import Tenant


def signed(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@pytest.fixture
def secret_of(admin_of: Callable[[Tenant], Any]) -> Callable[[Tenant], str]:
    """secret_of(tenant) -> a fresh webhook secret of the tenant."""

    def make(tenant: Tenant) -> str:
        with tenant_context(tenant):
            return telephony_secret_rotate(actor=admin_of(tenant))

    return make


@pytest.fixture
def deliver(client_for: Callable[..., Client]) -> Callable[..., Any]:
    """deliver(tenant, secret, payload, signature=None) -> the webhook's response."""

    def send(tenant: Tenant, secret: str, payload: Any, *, signature: str | None = None) -> Any:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers: dict[str, Any] = {} if signature == "" else {"HTTP_X_SIGNATURE": signature or signed(secret, body)}
        return client_for(tenant).post(
            "/api/v1/telephony/events", data=body, content_type="application/json", **headers
        )

    return send
