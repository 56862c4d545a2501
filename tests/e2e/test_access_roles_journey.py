"""An admin reorganises the role hierarchy in the browser: drags a role onto another one, then moves it
back with the keyboard path ("Move under…" select and button). The tree is redrawn in place."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from billing.models import Plan, Subscription
from conftest import TEST_PASSWORD, make_user
from crm_apps.access.models import Role
from tenants.models import Tenant
from tenants.services import tenant_provision

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_admin_drags_a_role_under_another_role(live_site, browser, committed):
    admin = make_user(committed.email(), name="Ada Admin")
    tenant = tenant_provision(slug=committed.slug("roles"), name="Roles Co", admin=admin)
    # Roles and sharing rules are a feature of the Business plan (signups start on Starter).
    Subscription.objects.filter(tenant=tenant).update(plan=Plan.objects.get(code="business"))
    Tenant.objects.filter(pk=tenant.pk).update(plan_code="business")
    with tenant_context(tenant):
        ceo = Role.objects.get(name="CEO")
        vp = Role.objects.get(name="Vice President")
        person = Role.objects.get(name="Sales Person")
    base = f"http://{tenant.schema_name}.localhost:{live_site}"
    page = browser.new_page()
    page.goto(base + "/accounts/login/")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/")

    settings_nav = page.get_by_role("navigation", name="Workspace settings")
    settings_nav.get_by_role("link", name="Access control").click()
    page.get_by_role("link", name="Roles", exact=True).first.click()
    page.wait_for_url(base + "/settings/access/roles/")
    page.evaluate("window.__same_page = true")
    assert page.locator(f"#role-{vp.pk} #role-{person.pk}").count() == 1

    handle = page.locator(f"#role-{person.pk} > .role-tree__row [data-role-handle]")
    handle.drag_to(page.locator(f"#role-{ceo.pk} > .role-tree__row"))

    page.wait_for_selector(f"#role-{ceo.pk} > ul > #role-{person.pk}")
    assert page.locator(f"#role-{vp.pk} #role-{person.pk}").count() == 0
    assert (
        "“Sales Person” now reports to “CEO”." in page.locator(".message[role=status]").inner_text()
    )  # (the call popup is another, empty, live region)
    assert page.evaluate("window.__same_page") is True  # no page load
    with tenant_context(tenant):
        assert Role.objects.get(pk=person.pk).parent_id == ceo.pk

    # The keyboard path: choose the new parent in the role's select and press its button.
    page.locator(f"#move-{person.pk}").select_option(str(vp.pk))
    page.locator(f"#move-{person.pk}").focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")

    page.wait_for_selector(f"#role-{vp.pk} > ul > #role-{person.pk}")
    assert page.evaluate("document.activeElement.id") == f"role-name-{person.pk}"
    assert page.evaluate("window.__same_page") is True
    with tenant_context(tenant):
        assert Role.objects.get(pk=person.pk).parent_id == vp.pk
