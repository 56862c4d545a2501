"""With the Redis-compatible server unreachable, signing in through the API still works (issue 26):
the throttles fail open and the lockout counters degrade instead of raising."""

from __future__ import annotations

import pytest
from django.test import override_settings

from conftest import TEST_PASSWORD
from saas.settings.cache import CACHES

# A port nothing listens on: every cache call raises redis' ConnectionError.
DOWN = {
    "default": {**CACHES["default"], "LOCATION": "redis://127.0.0.1:9/0", "OPTIONS": {"socket_connect_timeout": 0.2}}
}


@pytest.mark.django_db
def test_api_token_is_issued_while_the_cache_is_down(client_for, tenant_a, member):
    member(tenant_a, email="kim@example.com")
    client = client_for(tenant_a)

    with override_settings(CACHES=DOWN):
        good = client.post(
            "/api/v1/auth/token",
            {"email": "kim@example.com", "password": TEST_PASSWORD, "name": "CI"},
            content_type="application/json",
        )
        bad = client.post(
            "/api/v1/auth/token",
            {"email": "kim@example.com", "password": "wrong-horse-77"},
            content_type="application/json",
        )

    assert good.status_code == 201, good.content
    assert good.json()["token"]
    assert bad.status_code == 400
    assert "non_field_errors" in bad.json()


@pytest.mark.django_db
def test_pages_sign_in_lists_and_creates_are_served_while_the_cache_is_down(client_for, tenant_a, member):
    """Sessions live in the database and the caches degrade: the HTML sign-in, a list, a record page and a
    create (page and API) keep working; /readyz says 503 so a load balancer can tell."""
    member(tenant_a, email="lee@example.com")
    client = client_for(tenant_a)

    with override_settings(CACHES=DOWN):
        signed_in = client.post("/accounts/login/", {"username": "lee@example.com", "password": TEST_PASSWORD})
        listing = client.get("/m/contacts/")
        created = client.post(
            "/api/v1/contacts/", {"first_name": "Cache", "last_name": "Down"}, content_type="application/json"
        )
        record = client.get(f"/m/contacts/{created.json()['id']}/") if created.status_code == 201 else None
        ready = client.get("/readyz")

    assert signed_in.status_code == 302, signed_in.content[:300]
    assert listing.status_code == 200
    assert created.status_code == 201, created.content[:300]
    assert record is not None and record.status_code == 200 and "Down" in record.content.decode()
    assert ready.status_code == 503 and ready.json()["redis"].startswith("error")
