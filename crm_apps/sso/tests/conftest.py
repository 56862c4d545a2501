from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from crm_apps.sso.tests.idp import IDP_PASSWORD, OidcProvider

CLIENT_SECRETS = {"alpha": "alpha-client-secret-0123456789", "beta": "beta-client-secret-0123456789"}
IDP_USERS: list[dict[str, Any]] = [
    {"username": "alice", "email": "alice@alpha.example.com", "name": "Alice Example", "amr": ["pwd", "otp"]},
    {"username": "newbie", "email": "newbie@alpha.example.com", "name": "New Person"},
    {"username": "unverified", "email": "unverified@alpha.example.com", "email_verified": False},
    {"username": "outsider", "email": "someone@elsewhere.example.org"},
    {"username": "admin-alpha", "email": "admin@alpha.example.com", "name": "Alpha Admin"},
]


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[OidcProvider]:
    """One provider process for the module's tests, with a client registered for each shared workspace."""
    from tenants.services import tenant_url

    provider = OidcProvider(
        users=[{**u, "password": IDP_PASSWORD} for u in IDP_USERS],
        clients=[
            {
                "client_id": f"kestrel-{slug}",
                "client_secret": secret,
                "redirect_uri": tenant_url(slug, "/sso/oidc/callback/"),
            }
            for slug, secret in CLIENT_SECRETS.items()
        ],
    )
    try:
        yield provider
    finally:
        provider.stop()


@pytest.fixture(autouse=True)
def _providers_on_loopback(settings: Any) -> None:
    """The test providers listen on 127.0.0.1, which production refuses (crm_apps/sso/oidc.py url_check)."""
    settings.WEBHOOKS_ALLOW_PRIVATE = True
