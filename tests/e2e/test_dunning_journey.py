"""A workspace whose trial ended unpaid long ago: the member meets a clear "suspended" page; the admin
signs in, follows the link to the billing page (the one page that still works), on a phone-sized
screen too."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from billing.dunning import dunning_run
from billing.models import Subscription
from conftest import TEST_PASSWORD, make_user
from crm_apps.access.services import member_create
from tenants.models import Tenant, TenantStatus
from tenants.services import tenant_provision

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def sign_in(page, base: str, email: str) -> None:
    page.goto(base + "/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_a_suspended_workspace_leaves_the_billing_page_open_for_its_admin(live_site, browser, committed):
    admin = make_user(committed.email(), name="Ada Admin")
    tenant = tenant_provision(slug=committed.slug("dun"), name="Dunning Co", admin=admin)
    colleague = make_user(committed.email(), name="Carl Colleague")
    with tenant_context(tenant):
        member_create(tenant=tenant, user=colleague)
    Subscription.objects.filter(tenant=tenant).update(trial_end=timezone.now() - timedelta(days=40))
    dunning_run(now=timezone.now())
    assert Tenant.objects.get(pk=tenant.pk).status == TenantStatus.SUSPENDED
    base = f"http://{tenant.schema_name}.localhost:{live_site}"

    member_page = browser.new_page()
    sign_in(member_page, base, colleague.email)
    member_page.wait_for_url(base + "/")
    assert member_page.get_by_role("heading", name="Workspace suspended").is_visible()
    assert member_page.get_by_text("Please ask an administrator").is_visible()

    admin_page = browser.new_page(viewport={"width": 390, "height": 844})
    sign_in(admin_page, base, admin.email)
    admin_page.wait_for_url(base + "/")
    link = admin_page.get_by_role("link", name="Open the billing page")
    link.focus()
    admin_page.keyboard.press("Enter")
    admin_page.wait_for_url(base + "/settings/billing/")
    assert admin_page.get_by_text("This workspace is suspended until the overdue payment is made.").is_visible()
    assert admin_page.get_by_role("heading", name="Billing").first.is_visible()
