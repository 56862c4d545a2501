"""A tenant administrator installs a partner's OAuth app through the consent screen in Chromium; the
app (requests-oauthlib, over real HTTP to the live server) exchanges the code and calls the API."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from requests_oauthlib import OAuth2Session

from conftest import TEST_PASSWORD, make_user
from marketplace.apps import services
from marketplace.apps.models import App, AppInstallation, InstallationState
from marketplace.partners.models import Partner, PartnerMember, PartnerRole
from tenants.models import User
from tenants.services import tenant_provision

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CALLBACK = "http://127.0.0.1:9/callback"  # never reached: the browser's navigation to it is caught


class HostAdapter(requests.adapters.HTTPAdapter):
    """Sends `<slug>.localhost` requests to the loopback live server with their Host header."""

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        parts = urlsplit(request.url or "")
        request.headers["Host"] = parts.netloc
        request.url = request.url.replace(f"//{parts.hostname}", "//127.0.0.1", 1)  # type: ignore[union-attr]
        return super().send(request, *args, **kwargs)


def test_admin_installs_an_app_through_consent(
    live_site: str, browser: Any, committed: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    admin = make_user(committed.email(), name="Ada Admin")
    tenant = tenant_provision(slug=committed.slug("apps"), name="Apps Co", admin=admin)
    owner = make_user(committed.email(), name="Pat Partner")
    partner = Partner.objects.create(slug=committed.slug("maps"), name="Maps Co")
    PartnerMember.objects.create(partner=partner, user=owner, role=PartnerRole.OWNER)
    operator = User.objects.create_user(committed.email(), "x-operator-pass-1", name="Op", is_staff=True)
    committed.emails.append(operator.email)
    try:
        pm = PartnerMember.objects.get(partner=partner)
        app, secret = services.app_register(
            pm=pm, name="Maps Sync", redirect_uris=[CALLBACK], scopes=["contacts:read", "deals:write"]
        )
        services.app_version_review(version=app.versions.get(), reviewer=operator, approve=True)
        app.refresh_from_db()
        base = f"http://{tenant.schema_name}.localhost:{live_site}"
        session = OAuth2Session(app.client_id, redirect_uri=CALLBACK, scope=app.scopes, pkce="S256")
        session.mount("http://", HostAdapter())
        authorization_url, state = session.authorization_url(base + "/oauth/authorize/")
        page = browser.new_page()

        page.goto(authorization_url)
        page.get_by_label("Email").fill(admin.email)
        page.get_by_label("Password").fill(TEST_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("heading", name="Install Maps Sync?").wait_for()
        reads = page.locator("[data-consent-reads]").inner_text()
        writes = page.locator("[data-consent-writes]").inner_text()
        assert "contacts:read" in reads
        assert "deals:write" in writes
        assert "deals:write" not in reads
        with page.expect_request(lambda r: r.url.startswith(CALLBACK)) as caught:
            page.route(CALLBACK + "**", lambda route: route.fulfill(status=200, body="ok"))
            page.get_by_role("button", name="Allow and install").click()
        callback_url = caught.value.url

        token = session.fetch_token(base + "/oauth/token/", authorization_response=callback_url, client_secret=secret)
        contacts = session.get(base + "/api/v1/contacts/")

        assert f"state={state}" in callback_url
        assert contacts.status_code == 200
        installation = AppInstallation.objects.get(app=app, tenant=tenant)
        assert installation.state == InstallationState.INSTALLED
        assert set(token["scope"]) == {"contacts:read", "deals:write"}

        page.goto(base + "/settings/apps/")
        card = page.locator(f"[data-app='{app.client_id}']")
        assert "Installed" in card.inner_text()
        card.get_by_role("button", name="Uninstall").click()
        page.locator("[data-confirm-ok]").click()  # the shell asks first
        page.get_by_text("No app is installed.").wait_for()
        assert session.get(base + "/api/v1/contacts/").status_code == 401
    finally:
        AppInstallation.objects.filter(tenant__schema_name=tenant.schema_name).delete()
        App.objects.filter(partner=partner).delete()
        partner.delete()
