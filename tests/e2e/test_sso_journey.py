"""An administrator sets up OpenID Connect single sign-on on the settings page; a new colleague then signs in
with "Sign in with <provider>" through a real provider (django-oauth-toolkit in its own process) and lands
in the workspace as a member created in the chosen role."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from conftest import TEST_PASSWORD, make_user
from crm_apps.sso.tests.idp import IDP_PASSWORD, OidcProvider
from tenants.models import User
from tenants.services import tenant_provision

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_admin_sets_up_oidc_and_a_colleague_signs_in_through_the_provider(live_site, browser, committed, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True  # the test provider listens on 127.0.0.1
    admin = make_user(committed.email(), name="Ada Admin")
    tenant = tenant_provision(slug=committed.slug("sso"), name="Single Co", admin=admin)
    base = f"http://{tenant.schema_name}.localhost:{live_site}"
    colleague = committed.email()  # removed with the test's other committed data
    provider = OidcProvider(
        users=[{"username": "jane", "email": colleague, "name": "Jane Journey", "password": IDP_PASSWORD}],
        clients=[
            {
                "client_id": "kestrel-journey",
                "client_secret": "journey-secret-0123456789",
                "redirect_uri": base + "/sso/oidc/callback/",
            }
        ],
    )
    try:
        context = browser.new_context()
        page = context.new_page()
        page.goto(base + "/accounts/login/")
        assert page.get_by_text("Sign in with").count() == 0
        page.get_by_label("Email").fill(admin.email)
        page.get_by_label("Password").fill(TEST_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(base + "/")

        page.goto(base + "/settings/sso/")
        page.get_by_label("OpenID Connect", exact=True).check()
        page.get_by_label("Provider name").fill("JourneyID")
        page.get_by_label("Show “Sign in with …” on this workspace's sign-in page").check()
        page.get_by_label("OpenID Connect discovery URL").fill(provider.discovery_url)
        page.get_by_label("Client ID").fill("kestrel-journey")
        page.get_by_label("Client secret").fill("journey-secret-0123456789")
        page.get_by_label("Create a member at their first sign-in").focus()
        page.keyboard.press("Space")  # checkboxes work from the keyboard
        page.get_by_label("Role of members created at sign-in").select_option(index=1)
        page.get_by_label("Provider name").focus()
        page.keyboard.press("Enter")  # and the form submits from the keyboard
        page.get_by_text("Single sign-on settings saved.").wait_for()
        assert "journey-secret" not in page.content()
        context.close()

        # A colleague who has never been here signs in through the provider.
        context = browser.new_context()
        page = context.new_page()
        page.goto(base + "/accounts/login/")
        page.get_by_role("link", name="Sign in with JourneyID").click()
        page.wait_for_url(f"{provider.base}/accounts/login/**")
        page.get_by_label("Username").fill("jane")
        page.get_by_label("Password").fill(IDP_PASSWORD)
        page.get_by_role("button", name="Log in to IdP").click()
        page.wait_for_url(base + "/")
        assert page.get_by_text("Jane Journey").count() >= 1
        context.close()
    finally:
        provider.stop()

    from crm_apps.access.models import Member

    user = User.objects.get(email=colleague)
    with schema_context(tenant.schema_name):
        member = Member.objects.get(user=user)
        assert member.active and not member.is_admin and member.role is not None
