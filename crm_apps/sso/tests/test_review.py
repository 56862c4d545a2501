"""Security review (fix26): a workspace's provider is configured by that workspace's administrators, so
its word about an email never reaches an account it does not already own, a session it opens cannot
change the account's global settings, and the server fetches only the addresses it checked."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from conftest import TEST_PASSWORD, host_of, make_user
from crm_apps.access.models import Member
from crm_apps.access.services import invitation_create
from crm_apps.sso.models import IdentityProvider, SsoLink
from crm_apps.sso.oidc import DiscoveryError, discovery_fetch
from crm_apps.sso.tests.idp import oidc_sign_in
from crm_apps.sso.tests.test_oidc import callback_path, configure, confirm_link, signed_in_member, start
from tenants.mfa.models import TotpDevice
from tenants.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_jit_never_attaches_an_existing_platform_account(tenant_a, admin_of, oidc_provider) -> None:
    # newbie has an account on the platform (another workspace), not in alpha; alpha's IdP vouches for it
    outsider = make_user("newbie@alpha.example.com")
    configure(tenant_a, admin_of(tenant_a), oidc_provider)
    client = Client(HTTP_HOST=host_of(tenant_a))

    response = client.get(callback_path(oidc_sign_in(start(client), username="newbie")))

    assert response.status_code == 403
    assert "already exists" in response.content.decode()
    assert "_auth_user_id" not in client.session
    with schema_context(tenant_a.schema_name):
        assert not Member.objects.filter(user=outsider).exists()
        assert not SsoLink.objects.exists()


def test_a_member_with_a_password_is_linked_only_with_that_password(tenant_a, admin_of, member, oidc_provider) -> None:
    alice = member(tenant_a, email="alice@alpha.example.com")
    configure(tenant_a, admin_of(tenant_a), oidc_provider)
    client = Client(HTTP_HOST=host_of(tenant_a))
    response = client.get(callback_path(oidc_sign_in(start(client), username="alice")))

    for _ in range(5):
        assert client.post("/sso/link/", {"password": "guess"}).status_code in (400, 302)

    assert "_auth_user_id" not in client.session
    assert client.get("/sso/link/")["Location"] == "/accounts/login/"  # the pending link is dropped
    with schema_context(tenant_a.schema_name):
        assert not SsoLink.objects.exists()
    # with the password, once; the next single sign-on goes straight in by subject
    later = Client(HTTP_HOST=host_of(tenant_a))
    assert (
        confirm_link(later, later.get(callback_path(oidc_sign_in(start(later), username="alice")))).status_code == 302
    )
    again = Client(HTTP_HOST=host_of(tenant_a))
    direct = again.get(callback_path(oidc_sign_in(start(again), username="alice")))
    assert direct["Location"] == "/settings/profile/"
    assert signed_in_member(again, tenant_a).pk == alice.pk
    del response


def test_a_single_sign_on_session_cannot_change_the_accounts_global_settings(
    tenant_a, admin_of, member, oidc_provider
) -> None:
    alice = member(tenant_a, email="alice@alpha.example.com")
    configure(tenant_a, admin_of(tenant_a), oidc_provider)
    client = Client(HTTP_HOST=host_of(tenant_a))
    confirm_link(client, client.get(callback_path(oidc_sign_in(start(client), username="alice"))))
    assert signed_in_member(client, tenant_a).pk == alice.pk

    totp = client.get("/mfa/totp/")
    totp_post = client.post("/mfa/totp/", {"code": "123456"})
    key = client.post("/mfa/keys/options/")
    name = client.post(
        "/settings/profile/",
        {"name": "Mallory", "language": alice.language, "timezone": alice.timezone or "UTC"},
    )

    assert totp.status_code == 302 and totp["Location"] == "/mfa/"
    assert totp_post.status_code == 302
    assert key.status_code == 403
    assert name.status_code == 200
    assert "single sign-on" in name.content.decode()
    assert not TotpDevice.objects.filter(user=alice.user).exists()
    assert User.objects.get(pk=alice.user.pk).name == alice.user.name
    # signing out and in with the password lifts it
    client.logout()
    signed = client.post("/accounts/login/", {"username": alice.user.email, "password": TEST_PASSWORD})
    assert signed.status_code == 302
    assert client.get("/mfa/totp/").status_code == 200


@pytest.fixture
def redirector() -> Iterator[str]:
    """A loopback server answering every GET with a redirect to another loopback address."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:9/.well-known/openid-configuration")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/openid-configuration"
    finally:
        server.shutdown()
        server.server_close()


def test_a_redirecting_discovery_url_is_refused_with_a_generic_message(
    tenant_a, admin_of, client_for, redirector
) -> None:
    with pytest.raises(DiscoveryError) as exc:
        discovery_fetch(redirector)
    assert str(exc.value) == "The document could not be read from this address."

    response = client_for(tenant_a, admin_of(tenant_a)).post(
        "/settings/sso/",
        {
            "protocol": "oidc",
            "name": "Redirecting",
            "oidc_discovery_url": redirector,
            "oidc_client_id": "x",
            "client_secret": "y",
        },
    )

    assert response.status_code == 400
    assert "could not be read from this address" in response.content.decode()
    assert "127.0.0.1:9" not in response.content.decode()
    with schema_context(tenant_a.schema_name):
        assert not IdentityProvider.objects.exists()


def test_accepting_an_invitation_with_a_password_does_not_bypass_sso_only(tenant_a, admin_of, oidc_provider) -> None:
    admin = admin_of(tenant_a)
    configure(tenant_a, admin, oidc_provider, sso_only=True, break_glass=admin)
    with schema_context(tenant_a.schema_name):
        _invitation, key = invitation_create(actor=admin, email="joiner@alpha.example.com")
    client = Client(HTTP_HOST=host_of(tenant_a))

    response = client.post(f"/invite/{key}/", {"name": "Joiner", "password": "a-Long-enough-pass-42"})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert "_auth_user_id" not in client.session
    with schema_context(tenant_a.schema_name):
        assert Member.objects.filter(user__email="joiner@alpha.example.com", active=True).exists()
