"""A partner tries a draft app in a sandbox workspace, in Chromium: in the portal the owner registers an
app (its first version waits for review) and creates a sandbox; in the sandbox (labelled as such, the owner
is its administrator) the draft installs through the consent screen without review; the app (requests-
oauthlib over real HTTP) exchanges the code and calls the API. An ordinary workspace refuses the draft."""

from __future__ import annotations

import re
from typing import Any

import pytest
from requests_oauthlib import OAuth2Session

from conftest import TEST_PASSWORD, make_user
from marketplace.apps.models import App, AppInstallation, InstallationState, PartnerSandbox
from marketplace.catalog.tests.test_journey import session_cookie
from marketplace.partners.models import Partner, PartnerMember, PartnerRole
from tenants.models import Tenant
from tenants.services import tenant_delete, tenant_provision
from tests.e2e.conftest import browser, live_site  # noqa: F401  (fixtures)
from tests.e2e.test_oauth_app_journey import CALLBACK, HostAdapter

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_partner_tries_a_draft_app_in_a_sandbox(
    live_site: str,  # noqa: F811
    browser: Any,  # noqa: F811
    committed: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    owner = make_user(committed.email(), name="Sam Sandbox")
    partner = Partner.objects.create(slug=committed.slug("sbx"), name="Sandbox Labs")
    PartnerMember.objects.create(partner=partner, user=owner, role=PartnerRole.OWNER)
    customer_admin = make_user(committed.email())
    customer = tenant_provision(slug=committed.slug("cust"), name="Customer Co", admin=customer_admin)
    portal = f"http://localhost:{live_site}/partner-portal/{partner.slug}"
    try:
        context = browser.new_context()
        context.add_cookies([session_cookie(owner, live_site)])
        page = context.new_page()

        # The owner registers an app: the secret is shown once, the first version waits for review.
        page.goto(f"{portal}/apps/")
        page.get_by_label("Name", exact=True).fill("Draft Maps")
        page.get_by_label("Redirect URIs").fill(CALLBACK)
        page.get_by_label("Read Contacts", exact=True).check()
        page.get_by_role("button", name="Register app").click()
        secret = page.locator("[data-client-secret] code").inner_text().strip()
        client_id = page.locator("[data-client-id]").inner_text().strip()
        assert page.get_by_text("Waiting for review").first.is_visible()
        app = App.objects.get(client_id=client_id)
        assert not app.approved

        # ... and creates a sandbox workspace.
        page.goto(f"{portal}/sandboxes/")
        page.get_by_label("Sandbox name").fill("Trial")
        page.get_by_role("button", name="Create sandbox").click()
        page.get_by_text(re.compile("Sandbox Trial \\(sandbox\\) created")).wait_for(timeout=120_000)
        sandbox = PartnerSandbox.objects.select_related("tenant").get(partner=partner).tenant
        committed.slugs.append(sandbox.schema_name)  # dropped with the test's other workspaces
        assert page.locator(f"[data-sandbox='{sandbox.schema_name}']").is_visible()

        # In the sandbox the draft installs through the consent screen.
        base = f"http://{sandbox.schema_name}.localhost:{live_site}"
        session = OAuth2Session(client_id, redirect_uri=CALLBACK, scope=["contacts:read"], pkce="S256")
        session.mount("http://", HostAdapter())
        authorization_url, state = session.authorization_url(base + "/oauth/authorize/")
        tab = browser.new_page()
        tab.goto(authorization_url)
        tab.get_by_label("Email").fill(owner.email)
        tab.get_by_label("Password").fill(TEST_PASSWORD)
        tab.get_by_role("button", name="Sign in").click()
        tab.get_by_role("heading", name="Install Draft Maps?").wait_for()
        assert tab.locator("[data-sandbox-banner]").is_visible()
        assert "contacts:read" in tab.locator("[data-consent-reads]").inner_text()
        with tab.expect_request(lambda r: r.url.startswith(CALLBACK)) as caught:
            tab.route(CALLBACK + "**", lambda route: route.fulfill(status=200, body="ok"))
            tab.get_by_role("button", name="Allow and install").click()
        callback_url = caught.value.url
        assert f"state={state}" in callback_url

        token = session.fetch_token(base + "/oauth/token/", authorization_response=callback_url, client_secret=secret)
        assert token["scope"] == ["contacts:read"]
        assert session.get(base + "/api/v1/contacts/").status_code == 200
        assert AppInstallation.objects.get(app=app).tenant_id == sandbox.pk
        assert AppInstallation.objects.get(app=app).state == InstallationState.INSTALLED

        # An ordinary workspace does not know the draft: its administrator gets no consent screen.
        elsewhere = OAuth2Session(client_id, redirect_uri=CALLBACK, scope=["contacts:read"], pkce="S256")
        url, _state = elsewhere.authorization_url(
            f"http://{customer.schema_name}.localhost:{live_site}/oauth/authorize/"
        )
        other_tab = browser.new_page()
        other_tab.goto(url)
        other_tab.get_by_label("Email").fill(customer_admin.email)
        other_tab.get_by_label("Password").fill(TEST_PASSWORD)
        other_tab.get_by_role("button", name="Sign in").click()
        other_tab.wait_for_url(re.compile(r".*/oauth/authorize/\?.*"))  # past the sign-in page
        other_tab.wait_for_load_state()
        assert other_tab.get_by_role("heading", name="Install Draft Maps?").count() == 0
        assert not AppInstallation.objects.filter(app=app, tenant=customer).exists()
    finally:
        AppInstallation.objects.filter(app__partner=partner).delete()
        for row in PartnerSandbox.objects.filter(partner=partner).select_related("tenant"):
            tenant: Tenant = row.tenant
            row.delete()
            if tenant.schema_name not in committed.slugs:
                tenant_delete(tenant=tenant, drop_schema=True)
        App.objects.filter(partner=partner).delete()
        partner.delete()
