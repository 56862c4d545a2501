"""Authorization code + PKCE end to end with requests-oauthlib, refresh rotation, API calls with scopes."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from django_tenants.utils import schema_context
from oauthlib.oauth2 import InvalidGrantError

from crm_apps.audit.models import AuditEvent
from marketplace.apps.models import AccessToken, AppInstallation, InstallationState, RefreshToken
from marketplace.apps.tests.conftest import authorize, host_url

pytestmark = pytest.mark.django_db


def test_code_pkce_flow_gives_tokens_bound_to_the_installation(make_app: Any, admin_client: Any, tenant_a: Any) -> None:
    app, secret = make_app()
    session, callback = authorize(app, tenant_a, admin_client(tenant_a))
    # RFC 9207: the response names its issuer, this workspace's own address.
    assert dict(parse_qsl(urlsplit(callback).query))["iss"].rstrip("/").endswith(f"{tenant_a.schema_name}.localhost")

    token = session.fetch_token(
        host_url(tenant_a, "/oauth/token/"), authorization_response=callback, client_secret=secret
    )

    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 3600
    assert set(token["scope"]) == {"contacts:read", "deals:write"}
    installation = AppInstallation.objects.get(app=app, tenant=tenant_a)
    assert installation.state == InstallationState.INSTALLED
    assert installation.scopes == ["contacts:read", "deals:write"]
    stored = AccessToken.objects.get(installation=installation)
    assert stored.token == ""  # hashed at rest: only the checksum is kept
    response = session.get(host_url(tenant_a, "/api/v1/contacts/"))
    assert response.status_code == 200, response.text


def test_refresh_rotates_and_the_old_refresh_token_is_refused(make_app: Any, admin_client: Any, tenant_a: Any) -> None:
    app, secret = make_app()
    session, callback = authorize(app, tenant_a, admin_client(tenant_a))
    first = session.fetch_token(
        host_url(tenant_a, "/oauth/token/"), authorization_response=callback, client_secret=secret
    )

    second = session.refresh_token(host_url(tenant_a, "/oauth/token/"), auth=(app.client_id, secret))

    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    with pytest.raises(InvalidGrantError):
        session.refresh_token(
            host_url(tenant_a, "/oauth/token/"), refresh_token=first["refresh_token"], auth=(app.client_id, secret)
        )
    # Reuse of a rotated refresh token revokes its whole family (RFC 9700): the newest one is dead too.
    with pytest.raises(InvalidGrantError):
        session.refresh_token(
            host_url(tenant_a, "/oauth/token/"), refresh_token=second["refresh_token"], auth=(app.client_id, secret)
        )
    assert not RefreshToken.objects.filter(application=app, revoked=None).exists()


def test_write_by_the_app_is_audited_with_its_name(make_app: Any, admin_client: Any, tenant_a: Any) -> None:
    app, secret = make_app(["deals:write"])
    session, callback = authorize(app, tenant_a, admin_client(tenant_a))
    session.fetch_token(host_url(tenant_a, "/oauth/token/"), authorization_response=callback, client_secret=secret)

    response = session.post(
        host_url(tenant_a, "/api/v1/deals/"),
        json={"name": "From the app", "amount": "10.00", "close_date": "2026-12-31"},
    )

    assert response.status_code == 201, response.text
    with schema_context(tenant_a.schema_name):
        event = AuditEvent.objects.filter(action="record_created", module="deals").latest("at")
    assert event.actor_label.startswith("Maps Sync (")
    assert event.details["app"] == "Maps Sync"


def test_changes_by_the_app_show_the_app_as_the_timeline_actor(
    make_app: Any, admin_client: Any, admin_of: Any, tenant_a: Any
) -> None:
    app, secret = make_app(["deals:write"])
    client = admin_client(tenant_a)
    session, callback = authorize(app, tenant_a, client)
    session.fetch_token(host_url(tenant_a, "/oauth/token/"), authorization_response=callback, client_secret=secret)
    created = session.post(
        host_url(tenant_a, "/api/v1/deals/"),
        json={"name": "From the app", "amount": "10.00", "close_date": "2026-12-31"},
    )
    assert created.status_code == 201, created.text
    deal = created.json()["id"]
    # A person's own change on the same record stays theirs.
    assert (
        client.patch(f"/api/v1/deals/{deal}/", {"name": "Renamed by hand"}, content_type="application/json").status_code
        == 200
    )

    timeline = session.get(host_url(tenant_a, f"/api/v1/deals/{deal}/timeline/")).json()["results"]
    page = client.get(f"/m/deals/{deal}/").content.decode()

    by_kind = {entry["kind"]: entry for entry in timeline}
    assert by_kind["created"]["app"] == "Maps Sync"
    assert by_kind["updated"]["app"] is None
    admin_name = admin_of(tenant_a).user.name
    assert by_kind["created"]["actor"]["name"] == admin_name
    assert f'<strong>Maps Sync</strong> <span class="muted">(app, for {admin_name})</span>' in page


def test_every_call_by_the_app_is_audited_with_its_name(make_app: Any, admin_client: Any, tenant_a: Any) -> None:
    app, secret = make_app(["deals:write"])
    session, callback = authorize(app, tenant_a, admin_client(tenant_a))
    session.fetch_token(host_url(tenant_a, "/oauth/token/"), authorization_response=callback, client_secret=secret)

    listed = session.get(host_url(tenant_a, "/api/v1/deals/"))
    refused = session.get(host_url(tenant_a, "/api/v1/contacts/"))  # no scope: refused before the call

    assert listed.status_code == 200 and refused.status_code == 403
    with schema_context(tenant_a.schema_name):
        [event] = AuditEvent.objects.filter(action="api_call")
    assert event.actor_label.startswith("Maps Sync (")
    assert event.details == {"method": "GET", "path": "/api/v1/deals/", "app": "Maps Sync"}
    assert event.module == "deals"
