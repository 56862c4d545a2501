"""OpenID Connect sign-in against a real provider (django-oauth-toolkit in its own process)."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django_tenants.utils import schema_context
from joserfc import jwt
from joserfc.jwk import RSAKey

from billing.models import Plan, Subscription
from conftest import TEST_PASSWORD, host_of
from crm_apps.access.models import Member, MemberSession, Role
from crm_apps.audit.models import AuditEvent
from crm_apps.sso.crypto import secret_decrypt
from crm_apps.sso.models import IdentityProvider, SsoLink
from crm_apps.sso.oidc import id_token_verify
from crm_apps.sso.services import SsoRefused, provider_save
from crm_apps.sso.tests.conftest import CLIENT_SECRETS
from crm_apps.sso.tests.idp import OidcProvider, oidc_sign_in, rsa_key_pem
from tenants.models import Tenant, User

pytestmark = [pytest.mark.django_db, pytest.mark.slow]  # the provider runs in a process of its own


def configure(tenant: Tenant, admin: Member, idp: OidcProvider, **extra: Any) -> IdentityProvider:
    from crm_apps.sso.oidc import discovery_fetch

    with schema_context(tenant.schema_name):
        role = extra.pop("jit_role", None) or Role.objects.filter(parent__isnull=False).order_by("-path")[0]
        values = {
            "protocol": "oidc",
            "name": "TestID",
            "enabled": True,
            "oidc_discovery_url": idp.discovery_url,
            "oidc_client_id": f"kestrel-{tenant.schema_name}",
            "jit_enabled": True,
            "jit_role": role,
            **discovery_fetch(idp.discovery_url),
            **extra,
        }
        return provider_save(actor=admin, values=values, client_secret=CLIENT_SECRETS[tenant.schema_name])


def start(client: Client) -> str:
    response = client.get("/sso/start/?next=/settings/profile/")
    assert response.status_code == 302
    return str(response["Location"])


def callback_path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def confirm_link(client: Client, response: Any, password: str = TEST_PASSWORD) -> Any:
    """An existing member with a password: the callback asks for it once, then links and signs in."""
    assert response.status_code == 302 and response["Location"] == "/sso/link/", response
    assert "_auth_user_id" not in client.session
    return client.post("/sso/link/", {"password": password})


def signed_in_member(client: Client, tenant: Tenant) -> Member:
    """The member whose recorded session this client holds (fails when it holds none)."""
    with schema_context(tenant.schema_name):
        return MemberSession.objects.select_related("member__user").get(session_key=client.session.session_key).member


def test_full_sign_in_links_existing_member_by_verified_email(tenant_a, admin_of, member, oidc_provider) -> None:
    # given alice is a member of alpha (with a password) and alpha uses the provider
    alice = member(tenant_a, email="alice@alpha.example.com")
    configure(tenant_a, admin_of(tenant_a), oidc_provider)
    client = Client(HTTP_HOST=host_of(tenant_a))
    # when she signs in through the provider
    authorize = start(client)
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"][0] and query["state"][0]
    back = oidc_sign_in(authorize, username="alice")
    response = client.get(callback_path(back))
    # then she is asked for her password once (the provider's word alone does not link her account)
    assert response["Location"] == "/sso/link/"
    assert "alice@alpha.example.com" in client.get("/sso/link/").content.decode()
    wrong = client.post("/sso/link/", {"password": "not-her-password"})
    assert wrong.status_code == 400
    assert "_auth_user_id" not in client.session
    with schema_context(tenant_a.schema_name):
        assert not SsoLink.objects.exists()
    response = confirm_link(client, response)
    # then she lands where she was going, signed in as herself, linked by subject
    assert response.status_code == 302
    assert response["Location"] == "/settings/profile/"
    assert signed_in_member(client, tenant_a).pk == alice.pk
    with schema_context(tenant_a.schema_name):
        link = SsoLink.objects.get(member=alice)
        assert link.subject.startswith(f"oidc|{oidc_provider.issuer}|")
        event = AuditEvent.objects.filter(action="login_succeeded").latest("id")
        assert event.details == {"via": "sso", "protocol": "oidc", "provider": "TestID", "idp_authn": "pwd otp"}
    assert client.get("/settings/profile/").status_code == 200


def test_jit_creates_member_in_chosen_role(tenant_a, admin_of, oidc_provider) -> None:
    with schema_context(tenant_a.schema_name):
        role = Role.objects.filter(parent__isnull=False).order_by("path")[0]
    configure(tenant_a, admin_of(tenant_a), oidc_provider, jit_role=role)
    client = Client(HTTP_HOST=host_of(tenant_a))
    response = client.get(callback_path(oidc_sign_in(start(client), username="newbie")))
    assert response.status_code == 302
    user = User.objects.get(email="newbie@alpha.example.com")
    assert user.name == "New Person"
    assert not user.has_usable_password()
    with schema_context(tenant_a.schema_name):
        created = Member.objects.get(user=user)
        assert created.role_id == role.pk and created.active and not created.is_admin
        assert AuditEvent.objects.filter(action="member_changed", record_id=str(created.pk)).exists()
    assert signed_in_member(client, tenant_a).pk == created.pk


def test_jit_off_refuses_stranger_without_creating_anything(tenant_a, admin_of, oidc_provider) -> None:
    configure(tenant_a, admin_of(tenant_a), oidc_provider, jit_enabled=False, jit_role=None)
    client = Client(HTTP_HOST=host_of(tenant_a))
    response = client.get(callback_path(oidc_sign_in(start(client), username="newbie")))
    assert response.status_code == 403
    assert "Ask an administrator to invite you" in response.content.decode()
    assert not User.objects.filter(email="newbie@alpha.example.com").exists()
    assert "_auth_user_id" not in client.session


def test_seat_limit_refuses_jit_with_clear_message(tenant_a, admin_of, oidc_provider) -> None:
    configure(tenant_a, admin_of(tenant_a), oidc_provider)
    plan = Plan.objects.filter(max_members__isnull=False).order_by("max_members")[0]
    with schema_context(tenant_a.schema_name):
        active = Member.objects.filter(active=True).count()
    Plan.objects.filter(pk=plan.pk).update(max_members=active)
    Subscription.objects.filter(tenant=tenant_a).update(plan=plan)
    Tenant.objects.filter(pk=tenant_a.pk).update(plan_code=plan.code)
    from tenants.runtime import domains_changed

    domains_changed()
    client = Client(HTTP_HOST=host_of(tenant_a))
    response = client.get(callback_path(oidc_sign_in(start(client), username="newbie")))
    assert response.status_code == 403
    assert "no free seat" in response.content.decode()
    assert not User.objects.filter(email="newbie@alpha.example.com").exists()
    with schema_context(tenant_a.schema_name):
        assert Member.objects.filter(active=True).count() == active


def test_unverified_email_refused(tenant_a, admin_of, member, oidc_provider) -> None:
    member(tenant_a, email="unverified@alpha.example.com")
    configure(tenant_a, admin_of(tenant_a), oidc_provider)
    client = Client(HTTP_HOST=host_of(tenant_a))
    response = client.get(callback_path(oidc_sign_in(start(client), username="unverified")))
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session
    with schema_context(tenant_a.schema_name):
        assert not SsoLink.objects.exists()
        failed = AuditEvent.objects.filter(action="login_failed").latest("id")
        assert failed.details["reason"] == "email_unverified"


def test_allowed_domains_refuse_other_domains(tenant_a, admin_of, oidc_provider) -> None:
    configure(tenant_a, admin_of(tenant_a), oidc_provider, allowed_domains="alpha.example.com")
    client = Client(HTTP_HOST=host_of(tenant_a))
    response = client.get(callback_path(oidc_sign_in(start(client), username="outsider")))
    assert response.status_code == 403
    assert not User.objects.filter(email="someone@elsewhere.example.org").exists()


def test_state_mismatch_refused_no_session(tenant_a, admin_of, member, oidc_provider) -> None:
    member(tenant_a, email="alice@alpha.example.com")
    configure(tenant_a, admin_of(tenant_a), oidc_provider)
    client = Client(HTTP_HOST=host_of(tenant_a))
    back = oidc_sign_in(start(client), username="alice")
    query = parse_qs(urlsplit(back).query)
    response = client.get("/sso/oidc/callback/", {"code": query["code"][0], "state": "forged-state"})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session
    # the flow was used up: the right state afterwards is refused too
    assert client.get(callback_path(back)).status_code == 403
    assert "_auth_user_id" not in client.session


def test_callback_in_another_browser_is_refused(tenant_a, admin_of, member, oidc_provider) -> None:
    """Login CSRF: a code and state obtained by an attacker's browser do nothing in the victim's."""
    member(tenant_a, email="alice@alpha.example.com")
    configure(tenant_a, admin_of(tenant_a), oidc_provider)
    attacker = Client(HTTP_HOST=host_of(tenant_a))
    victim = Client(HTTP_HOST=host_of(tenant_a))
    victim.get("/sso/start/")
    back = oidc_sign_in(start(attacker), username="alice")
    assert victim.get(callback_path(back)).status_code == 403
    assert "_auth_user_id" not in victim.session


def _token(idp_key: bytes, **claims: Any) -> str:
    key = RSAKey.import_key(idp_key)
    now = int(time.time())
    body = {"iat": now, "exp": now + 300, "sub": "1", "email": "alice@alpha.example.com", "email_verified": True}
    body.update(claims)
    return jwt.encode({"alg": "RS256", "kid": key.thumbprint()}, body, key)


def test_id_token_checks(tenant_a, admin_of, oidc_provider) -> None:
    """Tokens signed with the provider's own key but wrong in one claim, and one signed with another key."""
    provider = configure(tenant_a, admin_of(tenant_a), oidc_provider)
    good = {"iss": oidc_provider.issuer, "aud": "kestrel-alpha", "nonce": "n1"}
    with schema_context(tenant_a.schema_name):
        # DOT's JWKS names the key by its thumbprint, so the kid matches
        assert (
            id_token_verify(provider=provider, id_token=_token(oidc_provider.key_pem, **good), nonce="n1")["sub"] == "1"
        )
        cases = {
            "wrong audience": {**good, "aud": "kestrel-beta"},
            "wrong issuer": {**good, "iss": "http://evil.example/o"},
            "wrong nonce": {**good, "nonce": "other"},
            "expired": {**good, "exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200},
            "no nonce": {k: v for k, v in good.items() if k != "nonce"},
        }
        for label, claims in cases.items():
            with pytest.raises(SsoRefused):
                id_token_verify(provider=provider, id_token=_token(oidc_provider.key_pem, **claims), nonce="n1")
                pytest.fail(label)
        with pytest.raises(SsoRefused):
            id_token_verify(provider=provider, id_token=_token(rsa_key_pem(), **good), nonce="n1")
        header = jwt.encode({"alg": "HS256"}, {**good, "sub": "1"}, _hmac_key())
        with pytest.raises(SsoRefused):
            id_token_verify(provider=provider, id_token=header, nonce="n1")


def _hmac_key() -> Any:
    from joserfc.jwk import OctKey

    return OctKey.import_key("k" * 32)


def test_sso_only_refuses_passwords_except_break_glass(tenant_a, admin_of, member, oidc_provider) -> None:
    admin = admin_of(tenant_a)
    alice = member(tenant_a, email="alice@alpha.example.com")
    configure(tenant_a, admin, oidc_provider, sso_only=True, break_glass=admin)
    # a member's password sign-in is refused, on the form and the token API
    client = Client(HTTP_HOST=host_of(tenant_a))
    response = client.post("/accounts/login/", {"username": alice.user.email, "password": TEST_PASSWORD})
    assert response.status_code == 200
    assert "signs in with TestID only" in response.content.decode()
    assert "_auth_user_id" not in client.session
    api = client.post("/api/v1/auth/token", {"email": alice.user.email, "password": TEST_PASSWORD})
    assert api.status_code == 400
    assert "TestID" in api.json()["non_field_errors"][0]
    # the break-glass administrator still gets in with the password
    glass = Client(HTTP_HOST=host_of(tenant_a))
    response = glass.post("/accounts/login/", {"username": admin.user.email, "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert signed_in_member(glass, tenant_a).pk == admin.pk
    # and alice gets in through the provider
    response = confirm_link(client, client.get(callback_path(oidc_sign_in(start(client), username="alice"))))
    assert response.status_code == 302
    assert signed_in_member(client, tenant_a).pk == alice.pk


def test_sso_only_needs_an_admin_break_glass(tenant_a, admin_of, member, oidc_provider) -> None:
    from django.core.exceptions import ValidationError

    plain = member(tenant_a)
    with pytest.raises(ValidationError) as exc:
        configure(tenant_a, admin_of(tenant_a), oidc_provider, sso_only=True, break_glass=plain)
    assert "break_glass" in exc.value.message_dict
    with schema_context(tenant_a.schema_name):
        assert not IdentityProvider.objects.exists()


def test_our_mfa_still_applies_after_sso(tenant_a, admin_of, member, oidc_provider) -> None:
    import pyotp
    from django.utils import timezone

    from tenants.mfa.models import TotpDevice

    alice = member(tenant_a, email="alice@alpha.example.com")
    TotpDevice.objects.create(user=alice.user, secret=pyotp.random_base32(), confirmed_at=timezone.now())
    configure(tenant_a, admin_of(tenant_a), oidc_provider)
    client = Client(HTTP_HOST=host_of(tenant_a))
    confirm_link(client, client.get(callback_path(oidc_sign_in(start(client), username="alice"))))
    response = client.get("/settings/profile/")
    assert response.status_code == 302
    assert response["Location"].startswith("/mfa/verify/")


def test_cross_tenant_provider_cannot_sign_into_other_workspace(
    tenant_a, tenant_b, admin_of, member, oidc_provider
) -> None:
    """Alpha's client at the provider answers to alpha's callback only; beta without SSO has no endpoints."""
    member(tenant_a, email="alice@alpha.example.com")
    member(tenant_b, email="alice@alpha.example.com")
    configure(tenant_a, admin_of(tenant_a), oidc_provider)
    beta = Client(HTTP_HOST=host_of(tenant_b))
    assert beta.get("/sso/start/").status_code == 404
    assert beta.post("/sso/saml/acs/", {"SAMLResponse": "eA=="}).status_code == 404
    alpha = Client(HTTP_HOST=host_of(tenant_a))
    back = oidc_sign_in(start(alpha), username="alice")
    assert beta.get(callback_path(back)).status_code == 404
    # beta configured with its own client: alpha's code and state are refused there
    configure(tenant_b, admin_of(tenant_b), oidc_provider)
    beta.get("/sso/start/")
    assert beta.get(callback_path(back)).status_code == 403
    assert "_auth_user_id" not in beta.session
    # the alpha flow started in beta's session shows alpha's provider: the redirect names beta's client
    assert "client_id=kestrel-beta" in start(beta)


def test_settings_page_admin_only_secret_never_shown(
    tenant_a, tenant_b, admin_of, member, client_for, oidc_provider
) -> None:
    admin = admin_of(tenant_a)
    plain = member(tenant_a)
    assert client_for(tenant_a, plain).get("/settings/sso/").status_code == 403
    assert Client(HTTP_HOST=host_of(tenant_a)).get("/settings/sso/").status_code == 302
    client = client_for(tenant_a, admin)
    page = client.get("/settings/sso/")
    assert page.status_code == 200
    assert 'for="id_name"' in page.content.decode()
    with schema_context(tenant_a.schema_name):
        role = Role.objects.filter(parent__isnull=False).order_by("path")[0]
    response = client.post(
        "/settings/sso/",
        {
            "protocol": "oidc",
            "name": "Okta",
            "enabled": "on",
            "oidc_discovery_url": oidc_provider.discovery_url,
            "oidc_client_id": "kestrel-alpha",
            "client_secret": CLIENT_SECRETS["alpha"],
            "jit_enabled": "on",
            "jit_role": role.pk,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    with schema_context(tenant_a.schema_name):
        provider = IdentityProvider.objects.get()
        assert provider.oidc_token_endpoint == f"{oidc_provider.issuer}/token/"
        assert CLIENT_SECRETS["alpha"] not in provider.oidc_client_secret_encrypted
        assert secret_decrypt(provider.oidc_client_secret_encrypted) == CLIENT_SECRETS["alpha"]
        event = AuditEvent.objects.filter(action="settings_changed").latest("id")
        assert event.details == {"setting": "sso"} and event.changes["client_secret"] == ["***", "***"]
    page = client.get("/settings/sso/").content.decode()
    assert CLIENT_SECRETS["alpha"] not in page
    login_page = Client(HTTP_HOST=host_of(tenant_a)).get("/accounts/login/").content.decode()
    assert "Sign in with Okta" in login_page
    assert "Sign in with" not in Client(HTTP_HOST=host_of(tenant_b)).get("/accounts/login/").content.decode()
    # bad input: a discovery URL that answers nothing useful is a field error and changes nothing
    bad = client.post(
        "/settings/sso/",
        {"protocol": "oidc", "name": "Okta", "oidc_discovery_url": oidc_provider.base + "/nope", "oidc_client_id": "x"},
    )
    assert bad.status_code == 400
    assert "could not be read from this address" in bad.content.decode()
    with schema_context(tenant_a.schema_name):
        assert IdentityProvider.objects.get().oidc_client_id == "kestrel-alpha"


def test_provider_urls_must_be_public_addresses(tenant_a, admin_of, client_for, oidc_provider, settings) -> None:
    """An administrator cannot make the server fetch from its own network (the webhooks' address rule)."""
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    client = client_for(tenant_a, admin_of(tenant_a))
    response = client.post(
        "/settings/sso/",
        {
            "protocol": "oidc",
            "name": "Internal",
            "oidc_discovery_url": oidc_provider.discovery_url,
            "oidc_client_id": "x",
            "client_secret": "y",
        },
    )
    assert response.status_code == 400
    assert "cannot be reached from here" in response.content.decode()
    with schema_context(tenant_a.schema_name):
        assert not IdentityProvider.objects.exists()
