"""The maps example app as a real OAuth client, over real HTTP: the app is a separate process, the
workspace a live server. The administrator consents (front channel: the test's signed-in client follows
the redirects a browser would), the app exchanges the code with its PKCE verifier, reads organisations
with its access token, refreshes (rotation) and keeps working; uninstalling stops it."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from django.test import Client
from django_tenants.utils import schema_context

from conftest import make_user, sign_in
from crm_apps.access.models import Member
from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from marketplace.apps import services
from marketplace.apps.models import AccessToken, App, AppInstallation, InstallationState, RefreshToken
from marketplace.partners.models import Partner, PartnerMember, PartnerRole
from marketplace.ui.tests.conftest import free_port, start_app  # noqa: F401  (fixture)
from tenants.models import User
from tenants.runtime import use_public_schema
from tenants.services import tenant_provision
from tests.e2e.conftest import live_site  # noqa: F401  (fixture)

pytestmark = [pytest.mark.slow]


@pytest.fixture
def oauth_partner(committed: Any) -> Any:
    partner = Partner.objects.create(slug=committed.slug("p-maps"), name="Maps Example Partner")
    pm = PartnerMember.objects.create(
        partner=partner, user=make_user(committed.email(), name="Maps Partner"), role=PartnerRole.OWNER
    )
    yield pm
    use_public_schema()
    AppInstallation.objects.filter(app__partner=partner).delete()
    App.objects.filter(partner=partner).delete()
    partner.delete()


def _consent(client: Client, authorize_url: str) -> str:
    """What the administrator's browser does on the consent screen; returns the redirect to the app."""
    parts = urlsplit(authorize_url)
    page = client.get(f"{parts.path}?{parts.query}")
    assert page.status_code == 200, page.content[:300]
    response = client.post(parts.path, {**dict(parse_qsl(parts.query)), "allow": "Authorize"})
    assert response.status_code == 302, response.content[:300]
    return str(response["Location"])


def test_example_app_connects_with_code_and_pkce_refreshes_and_reads_the_api(
    live_site: str,  # noqa: F811
    committed: Any,
    settings: Any,
    start_app: Any,  # noqa: F811
    oauth_partner: PartnerMember,
) -> None:
    # Given a workspace with an organisation, and the maps app registered and approved as an OAuth app
    admin_user = make_user(committed.email(), name="Olga Admin")
    tenant = tenant_provision(slug=committed.slug("oauth-ex"), name="OAuth Example Co", admin=admin_user)
    with schema_context(tenant.schema_name):
        admin = Member.objects.get(user=admin_user)
        record_create(
            spec=registry.get("organizations"), actor=admin, data={"name": "Spree GmbH", "billing_city": "Berlin"}
        )
    use_public_schema()
    port = free_port()
    redirect = f"http://127.0.0.1:{port}/oauth/callback"
    app, secret = services.app_register(
        pm=oauth_partner, name="Organisation maps", redirect_uris=[redirect], scopes=["organizations:read"]
    )
    operator = User.objects.create_user(committed.email(), "x-operator-pass-1", name="Op", is_staff=True)
    services.app_version_review(version=app.versions.get(), reviewer=operator, approve=True)
    workspace = f"{tenant.schema_name}.localhost:{live_site}"
    example = start_app(
        MAPS_APP_PORT=str(port),
        MAPS_APP_CLIENT_ID=app.client_id,
        MAPS_APP_CLIENT_SECRET=secret,
        MAPS_APP_WORKSPACE_SCHEME="http",
        MAPS_APP_CONNECT=f"127.0.0.1:{live_site}",
    )
    admin_browser = Client(HTTP_HOST=f"{tenant.schema_name}.localhost:{live_site}")
    with schema_context(tenant.schema_name):
        sign_in(admin_browser, admin)
    use_public_schema()

    # When the administrator starts the installation on the app's site and consents on the workspace
    start = requests.get(f"{example.origin}/oauth/start", params={"workspace": workspace}, allow_redirects=False)
    assert start.status_code == 302
    query = dict(parse_qsl(urlsplit(start.headers["Location"]).query))
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    back_to_app = _consent(admin_browser, start.headers["Location"])
    callback = requests.get(back_to_app, timeout=20)

    # Then the app exchanged the code (real HTTP to the live server) and holds tokens for the workspace
    assert callback.status_code == 200, callback.text
    assert callback.json() == {"connected": workspace, "scope": "organizations:read"}
    installation = AppInstallation.objects.get(app=app, tenant=tenant)
    assert installation.state == InstallationState.INSTALLED
    assert AccessToken.objects.filter(installation=installation).count() == 1

    # And reads the workspace's organisations with its access token
    places = requests.get(f"{example.origin}/organizations", params={"workspace": workspace}, timeout=20)
    assert places.status_code == 200, places.text
    assert [(p["name"], p["point"]) for p in places.json()["organizations"]] == [("Spree GmbH", [52.52, 13.405])]

    # When it refreshes, the refresh token rotates (the old one is revoked) and the new access token works
    first_refresh = RefreshToken.objects.get(installation=installation, revoked=None)
    refreshed = requests.post(f"{example.origin}/oauth/refresh", params={"workspace": workspace}, timeout=20)
    assert refreshed.json() == {"status": 200, "ok": True}
    first_refresh.refresh_from_db()
    assert first_refresh.revoked is not None
    assert (
        RefreshToken.objects.filter(installation=installation, revoked=None).exclude(pk=first_refresh.pk).count() == 1
    )
    state = requests.get(f"{example.origin}/oauth/state", params={"workspace": workspace}, timeout=5).json()
    assert state == {"connected": True, "scope": "organizations:read", "refreshes": 1}
    again = requests.get(f"{example.origin}/organizations", params={"workspace": workspace}, timeout=20)
    assert again.status_code == 200, again.text

    # And a forged callback (unknown state) is refused by the app
    forged = requests.get(f"{example.origin}/oauth/callback", params={"state": "forged", "code": "x"}, timeout=5)
    assert forged.status_code == 400

    # When the administrator uninstalls the app, its next call is refused and its refresh fails
    with schema_context(tenant.schema_name):
        services.installation_uninstall(tenant=tenant, actor=admin, installation=installation)
    use_public_schema()
    after = requests.get(f"{example.origin}/organizations", params={"workspace": workspace}, timeout=20)
    assert after.status_code == 401
    assert requests.get(f"{example.origin}/oauth/state", params={"workspace": workspace}, timeout=5).json() == {
        "connected": False
    }
