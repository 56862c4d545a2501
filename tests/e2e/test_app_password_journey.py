"""A member makes an app password for their phone on the profile page, sees it once, and revokes it."""

from __future__ import annotations

import os

import pytest

from conftest import TEST_PASSWORD, make_user
from tenants.services import tenant_provision

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_member_creates_and_revokes_an_app_password(live_site, browser, committed):
    admin = make_user(committed.email(), name="Ada Admin")
    tenant = tenant_provision(slug=committed.slug("sync"), name="Sync Co", admin=admin)
    base = f"http://{tenant.schema_name}.localhost:{live_site}"
    page = browser.new_page()

    page.goto(base + "/accounts/login/")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/")
    page.goto(base + "/settings/profile/")
    page.get_by_label("Device or program").fill("My phone")
    page.get_by_role("button", name="Create app password").click()

    shown = page.locator("code.token").first.inner_text()
    if os.environ.get("DAV_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["DAV_SCREENSHOTS"], "created.png"), full_page=True)
    assert len(shown) == 19  # four groups of four, with dashes
    assert page.get_by_text(f"{base}/dav/").first.is_visible()
    page.get_by_role("link", name="Done").click()
    page.wait_for_url(base + "/settings/profile/")
    row = page.locator("tr", has_text="My phone")
    assert row.get_by_text(f"{shown[:4]}…").is_visible()
    if os.environ.get("DAV_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["DAV_SCREENSHOTS"], "profile.png"), full_page=True)
    row.get_by_role("button", name="Revoke").click()
    page.wait_for_url(base + "/settings/profile/")
    # The revoke POST redirects back to the page we are on, so the URL alone does not say the answer arrived.
    page.get_by_text("No app passwords yet.").wait_for(state="visible")
    assert page.get_by_text("No app passwords yet.").is_visible()
    assert shown not in page.content()
