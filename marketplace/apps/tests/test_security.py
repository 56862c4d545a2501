"""What an app cannot do: other tenants' hosts, scopes it lacks, bad authorization requests; what stops
its tokens at once: uninstall, revocation, suspension; introspection answers; the per-app rate."""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.test import Client, override_settings
from django_tenants.utils import schema_context
from oauthlib.oauth2 import InvalidClientError, InvalidGrantError

from crm_apps.modules.contacts.models import Contact
from marketplace.apps import rate, services, usage
from marketplace.apps.models import AccessToken, AppInstallation, Grant, InstallationState, RefreshToken
from marketplace.apps.tests.conftest import REDIRECT, authorize, host_url
from saas.settings import CACHES

pytestmark = pytest.mark.django_db


def tokens_for(
    make_app: Any, admin_client: Any, tenant: Any, scopes: list[str] | None = None
) -> tuple[Any, str, Any, dict[str, Any]]:
    app, secret = make_app(scopes)
    session, callback = authorize(app, tenant, admin_client(tenant))
    token = session.fetch_token(
        host_url(tenant, "/oauth/token/"), authorization_response=callback, client_secret=secret
    )
    return app, secret, session, token


def bearer(tenant: Any, token: str) -> Client:
    return Client(HTTP_HOST=f"{tenant.schema_name}.localhost", HTTP_AUTHORIZATION=f"Bearer {token}")


def basic(app: Any, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{app.client_id}:{secret}".encode()).decode()


def challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def nothing_issued() -> bool:
    return not (Grant.objects.exists() or AccessToken.objects.exists() or RefreshToken.objects.exists())


# Tenants ---------------------------------------------------------------------------------------------


def test_a_token_is_useless_on_another_tenants_host(
    make_app: Any, admin_client: Any, tenant_a: Any, tenant_b: Any
) -> None:
    _app, _secret, _session, token = tokens_for(make_app, admin_client, tenant_a)

    on_a = bearer(tenant_a, token["access_token"]).get("/api/v1/contacts/")
    on_b = bearer(tenant_b, token["access_token"]).get("/api/v1/contacts/")

    assert on_a.status_code == 200
    assert on_b.status_code == 401
    assert on_b.json()["detail"] == "Invalid or expired token."


def test_a_code_or_refresh_token_is_refused_on_another_tenants_host(
    make_app: Any, admin_client: Any, tenant_a: Any, tenant_b: Any
) -> None:
    app, secret = make_app()
    session, callback = authorize(app, tenant_a, admin_client(tenant_a))
    with pytest.raises(InvalidGrantError):
        session.fetch_token(host_url(tenant_b, "/oauth/token/"), authorization_response=callback, client_secret=secret)
    assert not AccessToken.objects.exists()

    token = session.fetch_token(
        host_url(tenant_a, "/oauth/token/"), authorization_response=callback, client_secret=secret
    )
    with pytest.raises(InvalidGrantError):
        session.refresh_token(
            host_url(tenant_b, "/oauth/token/"), refresh_token=token["refresh_token"], auth=(app.client_id, secret)
        )
    assert AccessToken.objects.count() == 1


# Scopes ----------------------------------------------------------------------------------------------


def test_calls_outside_the_granted_scopes_get_403_naming_the_scope_and_change_nothing(
    make_app: Any, admin_client: Any, tenant_a: Any
) -> None:
    _app, _secret, _session, token = tokens_for(make_app, admin_client, tenant_a, ["contacts:read"])
    client = bearer(tenant_a, token["access_token"])
    with schema_context(tenant_a.schema_name):
        before = Contact.objects.count()

    read_deals = client.get("/api/v1/deals/")
    write_contact = client.post("/api/v1/contacts/", {"last_name": "Nope"}, content_type="application/json")
    tokens_route = client.get("/api/v1/me")

    assert read_deals.status_code == 403
    assert read_deals.json()["detail"] == "This app's token lacks the scope deals:read for this call."
    assert write_contact.status_code == 403
    assert write_contact.json()["detail"] == "This app's token lacks the scope contacts:write for this call."
    assert tokens_route.status_code == 403
    assert tokens_route.json()["detail"] == "OAuth apps cannot call this endpoint."
    assert client.get("/api/v1/contacts/").status_code == 200
    with schema_context(tenant_a.schema_name):
        assert Contact.objects.count() == before


def test_scopes_not_approved_for_the_app_cannot_be_requested(make_app: Any, admin_client: Any, tenant_a: Any) -> None:
    app, _secret = make_app(["contacts:read"])
    verifier = "v" * 50
    query = urlencode(
        {
            "response_type": "code",
            "client_id": app.client_id,
            "redirect_uri": REDIRECT,
            "scope": "contacts:read deals:write",
            "state": "s1",
            "code_challenge": challenge(verifier),
            "code_challenge_method": "S256",
        }
    )

    response = admin_client(tenant_a).get(f"/oauth/authorize/?{query}")

    assert response.status_code == 302
    assert parse_qs(urlsplit(response["Location"]).query)["error"] == ["invalid_scope"]
    assert not AppInstallation.objects.exists()


# Bad authorization requests --------------------------------------------------------------------------


def _authorize_query(app: Any, **overrides: str | None) -> str:
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": REDIRECT,
        "scope": " ".join(app.scopes),
        "state": "xyz",
        "code_challenge": challenge("a" * 64),
        "code_challenge_method": "S256",
        **overrides,
    }
    return urlencode({k: v for k, v in params.items() if v is not None})


def test_a_wrong_redirect_uri_is_an_error_page_never_a_redirect(
    make_app: Any, admin_client: Any, tenant_a: Any
) -> None:
    app, _secret = make_app()
    client = admin_client(tenant_a)

    page = client.get(f"/oauth/authorize/?{_authorize_query(app, redirect_uri='https://evil.example/cb')}")
    post = client.post(
        "/oauth/authorize/",
        {**parse_qs(_authorize_query(app, redirect_uri="https://evil.example/cb")), "allow": "Authorize"},
    )

    assert page.status_code == 400
    assert "Location" not in page
    assert post.status_code == 400
    assert "Location" not in post
    assert not AppInstallation.objects.exists()
    assert nothing_issued()


@pytest.mark.parametrize(
    ("overrides", "description"),
    [
        ({"code_challenge": None, "code_challenge_method": None}, "Code challenge required."),
        ({"code_challenge_method": "plain"}, 'code_challenge_method must be "S256".'),
        ({"code_challenge_method": None}, 'code_challenge_method must be "S256".'),
    ],
)
def test_pkce_s256_is_required(
    make_app: Any, admin_client: Any, tenant_a: Any, overrides: dict[str, Any], description: str
) -> None:
    app, _secret = make_app()

    response = admin_client(tenant_a).get(f"/oauth/authorize/?{_authorize_query(app, **overrides)}")

    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["error"] == ["invalid_request"]
    assert query["error_description"] == [description]
    assert query["state"] == ["xyz"]
    assert not AppInstallation.objects.exists()


def test_a_wrong_code_verifier_is_invalid_grant_and_issues_nothing(
    make_app: Any, admin_client: Any, tenant_a: Any
) -> None:
    app, secret = make_app()
    _session, callback = authorize(app, tenant_a, admin_client(tenant_a))
    code = parse_qs(urlsplit(callback).query)["code"][0]

    response = Client(HTTP_HOST=f"{tenant_a.schema_name}.localhost").post(
        "/oauth/token/",
        {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": "b" * 64},
        HTTP_AUTHORIZATION=basic(app, secret),
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert not AccessToken.objects.exists()
    assert not RefreshToken.objects.exists()


def test_a_wrong_client_secret_is_invalid_client(make_app: Any, admin_client: Any, tenant_a: Any) -> None:
    app, _secret = make_app()
    session, callback = authorize(app, tenant_a, admin_client(tenant_a))

    with pytest.raises(InvalidClientError):
        session.fetch_token(host_url(tenant_a, "/oauth/token/"), authorization_response=callback, client_secret="wrong")
    assert not AccessToken.objects.exists()


@pytest.mark.parametrize("approval_prompt", ["auto", "force", ""])
def test_a_live_token_on_another_workspace_never_skips_the_consent_screen(
    make_app: Any,
    admin_client: Any,
    admin_of: Any,
    member: Any,
    client_for: Any,
    tenant_a: Any,
    tenant_b: Any,
    approval_prompt: str,
) -> None:
    # The same person administers A and B; the app holds a live token from A's consent.
    app, _secret, _session, _token = tokens_for(make_app, admin_client, tenant_a)
    admin = admin_of(tenant_a)
    on_b = member(tenant_b, is_admin=True, email=admin.user.email)
    grants_before = Grant.objects.count()
    tokens_before = AccessToken.objects.count()

    page = client_for(tenant_b, on_b).get(f"/oauth/authorize/?{_authorize_query(app, approval_prompt=approval_prompt)}")

    assert page.status_code == 200
    assert "Location" not in page
    assert 'name="allow"' in page.content.decode()
    assert not AppInstallation.objects.filter(tenant=tenant_b).exists()
    assert Grant.objects.count() == grants_before
    assert AccessToken.objects.count() == tokens_before


def test_an_uninstalled_app_cannot_reinstall_itself_without_consent(
    make_app: Any, admin_client: Any, tenant_a: Any
) -> None:
    app, _secret, _session, _token = tokens_for(make_app, admin_client, tenant_a)
    client = admin_client(tenant_a)
    installation = AppInstallation.objects.get(app=app)
    # A token issued before the uninstall, still unexpired in the table, must not count as consent.
    live = AccessToken.objects.get()
    client.post(f"/settings/apps/{installation.pk}/uninstall/")
    AccessToken.objects.create(
        user=live.user, application=live.application, token="leftover-token", expires=live.expires, scope=live.scope
    )
    grants_before = Grant.objects.count()

    page = client.get(f"/oauth/authorize/?{_authorize_query(app, approval_prompt='auto')}")

    assert page.status_code == 200
    assert Grant.objects.count() == grants_before
    installation.refresh_from_db()
    assert installation.state == InstallationState.UNINSTALLED


def test_members_who_are_not_administrators_cannot_consent(
    make_app: Any, member: Any, client_for: Any, tenant_a: Any
) -> None:
    app, _secret = make_app()
    client = client_for(tenant_a, member(tenant_a))

    page = client.get(f"/oauth/authorize/?{_authorize_query(app)}")
    post = client.post("/oauth/authorize/", {**parse_qs(_authorize_query(app)), "allow": "Authorize"})

    assert page.status_code == 403
    assert post.status_code == 403
    assert not AppInstallation.objects.exists()
    assert nothing_issued()


def test_an_app_waiting_for_review_cannot_be_installed(make_app: Any, admin_client: Any, tenant_a: Any) -> None:
    app, _secret = make_app(approve=False)

    page = admin_client(tenant_a).get(f"/oauth/authorize/?{_authorize_query(app, scope='contacts:read')}")

    assert page.status_code == 400  # an unknown client: an error page, never a redirect
    assert "Location" not in page
    assert not AppInstallation.objects.exists()


# Stopping tokens -------------------------------------------------------------------------------------


def test_uninstall_stops_tokens_at_once(make_app: Any, admin_client: Any, tenant_a: Any) -> None:
    app, secret, session, token = tokens_for(make_app, admin_client, tenant_a)
    installation = AppInstallation.objects.get(app=app)
    client = admin_client(tenant_a)
    assert app.name in client.get("/settings/apps/").content.decode()

    response = client.post(f"/settings/apps/{installation.pk}/uninstall/")

    assert response.status_code == 302
    installation.refresh_from_db()
    assert installation.state == InstallationState.UNINSTALLED
    assert bearer(tenant_a, token["access_token"]).get("/api/v1/contacts/").status_code == 401
    with pytest.raises(InvalidGrantError):
        session.refresh_token(host_url(tenant_a, "/oauth/token/"), auth=(app.client_id, secret))
    assert not AccessToken.objects.exists()


def test_another_tenants_admin_cannot_uninstall(make_app: Any, admin_client: Any, tenant_a: Any, tenant_b: Any) -> None:
    app, _secret, _session, token = tokens_for(make_app, admin_client, tenant_a)
    installation = AppInstallation.objects.get(app=app)

    response = admin_client(tenant_b).post(f"/settings/apps/{installation.pk}/uninstall/")

    assert response.status_code == 404
    installation.refresh_from_db()
    assert installation.state == InstallationState.INSTALLED
    assert bearer(tenant_a, token["access_token"]).get("/api/v1/contacts/").status_code == 200


def test_suspension_stops_tokens_at_once_and_lifting_it_restores_them(
    make_app: Any, admin_client: Any, tenant_a: Any, operator: Any
) -> None:
    app, secret, session, token = tokens_for(make_app, admin_client, tenant_a)
    client = bearer(tenant_a, token["access_token"])
    assert client.get("/api/v1/contacts/").status_code == 200

    services.app_suspend(app=app, operator=operator, reason="Leaks data")

    refused = client.get("/api/v1/contacts/")
    assert refused.status_code == 401
    assert refused.json()["detail"] == "This app is suspended."
    with pytest.raises(InvalidClientError):
        session.refresh_token(host_url(tenant_a, "/oauth/token/"), auth=(app.client_id, secret))
    assert "Suspended by the platform" in admin_client(tenant_a).get("/settings/apps/").content.decode()

    services.app_unsuspend(app=app, operator=operator)
    assert client.get("/api/v1/contacts/").status_code == 200


def test_revocation_endpoint_stops_the_token(make_app: Any, admin_client: Any, tenant_a: Any) -> None:
    app, secret, _session, token = tokens_for(make_app, admin_client, tenant_a)
    host = Client(HTTP_HOST=f"{tenant_a.schema_name}.localhost")

    unknown = host.post("/oauth/revoke/", {"token": "not-a-token"}, HTTP_AUTHORIZATION=basic(app, secret))
    response = host.post("/oauth/revoke/", {"token": token["access_token"]}, HTTP_AUTHORIZATION=basic(app, secret))

    assert unknown.status_code == 200
    assert response.status_code == 200
    assert bearer(tenant_a, token["access_token"]).get("/api/v1/contacts/").status_code == 401
    assert not RefreshToken.objects.filter(revoked=None).exists()


# Introspection ---------------------------------------------------------------------------------------


def test_introspection_answers_for_the_apps_own_tokens_on_its_workspace(
    make_app: Any, admin_client: Any, tenant_a: Any, tenant_b: Any
) -> None:
    app, secret, _session, token = tokens_for(make_app, admin_client, tenant_a)
    other, other_secret = make_app(name="Other App")
    on_a = Client(HTTP_HOST=f"{tenant_a.schema_name}.localhost")
    on_b = Client(HTTP_HOST=f"{tenant_b.schema_name}.localhost")

    own = on_a.post("/oauth/introspect/", {"token": token["access_token"]}, HTTP_AUTHORIZATION=basic(app, secret))
    by_other_app = on_a.post(
        "/oauth/introspect/", {"token": token["access_token"]}, HTTP_AUTHORIZATION=basic(other, other_secret)
    )
    elsewhere = on_b.post("/oauth/introspect/", {"token": token["access_token"]}, HTTP_AUTHORIZATION=basic(app, secret))
    anonymous = on_a.post("/oauth/introspect/", {"token": token["access_token"]})
    missing = on_a.post("/oauth/introspect/", {}, HTTP_AUTHORIZATION=basic(app, secret))

    body = own.json()
    assert own.status_code == 200
    assert body["active"] is True
    assert set(body["scope"].split()) == {"contacts:read", "deals:write"}
    assert body["client_id"] == app.client_id
    assert body["workspace"] == tenant_a.schema_name
    assert body["exp"] == int(AccessToken.objects.get().expires.timestamp())
    assert by_other_app.json() == {"active": False}
    assert elsewhere.json() == {"active": False}
    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "invalid_client"
    assert missing.status_code == 400
    assert missing.json()["error"] == "invalid_request"


# Rate ------------------------------------------------------------------------------------------------


def test_each_app_has_a_per_minute_budget_and_redis_down_lets_calls_through(
    make_app: Any, admin_client: Any, tenant_a: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _app, _secret, _session, token = tokens_for(make_app, admin_client, tenant_a)
    settings.OAUTH_APP_RATE_PER_MINUTE = 2
    client = bearer(tenant_a, token["access_token"])

    statuses = [client.get("/api/v1/contacts/").status_code for _ in range(3)]

    assert statuses[:2] == [200, 200]
    assert statuses[2] == 429
    down = {
        "default": {
            **CACHES["default"],
            "LOCATION": "redis://127.0.0.1:9/0",
            "OPTIONS": {"socket_connect_timeout": 0.2},
        }
    }
    monkeypatch.setattr(rate, "_skip_until", 0.0)
    monkeypatch.setattr(usage, "_skip_until", 0.0)
    with override_settings(CACHES=down):
        assert client.get("/api/v1/contacts/").status_code == 200
    assert rate._skip_until > 0  # backing off: the next calls do not wait for Redis
    monkeypatch.setattr(rate, "_skip_until", 0.0)
    monkeypatch.setattr(usage, "_skip_until", 0.0)


def test_uninstalling_the_linked_extension_uninstalls_the_app(
    make_app: Any, admin_client: Any, admin_of: Any, tenant_a: Any, operator: Any, app_partner: Any
) -> None:
    import json
    from pathlib import Path

    from marketplace.catalog.services import (
        catalog_install,
        catalog_uninstall,
        listing_save,
        version_review,
        version_submit,
    )

    partner, _pm = app_partner
    manifest = json.loads(
        (Path(__file__).resolve().parents[2] / "extensions" / "localised-field-pack" / "manifest.json").read_text()
    )
    listing = listing_save(
        partner=partner,
        slug="localised-field-pack",
        name="Pack",
        summary="S",
        category="sales",
        support_url="https://support.maps.example/",
        pricing="free",
        price_cents=0,
    )
    version_review(
        version=version_submit(listing=listing, manifest=manifest, submitted_by=None), reviewer=operator, approve=True
    )
    admin = admin_of(tenant_a)
    catalog_install(tenant=tenant_a, actor=admin, listing=listing)
    app, _secret, _session, token = tokens_for(make_app, admin_client, tenant_a)
    type(app).objects.filter(pk=app.pk).update(listing=listing)

    catalog_uninstall(tenant=tenant_a, actor=admin, listing=listing)

    assert AppInstallation.objects.get(app=app).state == InstallationState.UNINSTALLED
    assert bearer(tenant_a, token["access_token"]).get("/api/v1/contacts/").status_code == 401
