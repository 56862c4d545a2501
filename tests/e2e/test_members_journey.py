"""An admin manages the team: the row updates in place (htmx), without a page load."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from conftest import TEST_PASSWORD, make_user
from crm_apps.access.services import member_create
from tenants.services import tenant_provision

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_admin_deactivates_a_member_in_place(live_site, browser, committed):
    admin = make_user(committed.email(), name="Ada Admin")
    tenant = tenant_provision(slug=committed.slug("team"), name="Team Co", admin=admin)
    colleague = make_user(committed.email(), name="Carl Colleague")
    with tenant_context(tenant):
        member_create(tenant=tenant, user=colleague)
    base = f"http://{tenant.schema_name}.localhost:{live_site}"
    page = browser.new_page()

    page.goto(base + "/accounts/login/")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/")
    settings_nav = page.get_by_role("navigation", name="Workspace settings")
    settings_nav.get_by_role("link", name="Members").click()
    page.wait_for_url(base + "/settings/members/")  # mark the members page, not the page the click left
    page.evaluate("window.__same_page = true")
    row = page.locator("tr", has_text="Carl Colleague")
    row.get_by_role("button", name="Deactivate").click()

    row.get_by_role("status").wait_for()
    assert "Carl Colleague can no longer sign in here." in row.get_by_role("status").inner_text()
    assert row.get_by_text("Deactivated").is_visible()
    assert row.get_by_role("button", name="Reactivate").is_visible()
    assert page.evaluate("window.__same_page") is True  # no navigation happened
