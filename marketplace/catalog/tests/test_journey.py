"""Browser journey in Debian's Chromium: a partner publishes an extension in the portal, an operator
approves it in the console, a tenant admin installs it and sees its field on the deal form."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from conftest import TEST_PASSWORD, make_user
from marketplace.catalog.models import Licence, Listing
from marketplace.catalog.tests.conftest import manifest_of
from marketplace.partners.models import Partner, PartnerMember
from tenants.services import tenant_provision
from tests.e2e.conftest import browser, live_site  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def cleanup_marketplace(committed: Any) -> Iterator[list[str]]:
    slugs: list[str] = []
    yield slugs
    Licence.objects.filter(listing__partner__slug__in=slugs).delete()
    Listing.objects.filter(partner__slug__in=slugs).delete()
    Partner.objects.filter(slug__in=slugs).delete()


def session_cookie(user: Any, port: str) -> dict[str, Any]:
    client = Client(HTTP_HOST="localhost")
    client.force_login(user, backend="tenants.auth.EmailBackend")
    return {
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": f"http://localhost:{port}",
    }


def test_publish_approve_install(live_site, browser, committed, cleanup_marketplace):  # noqa: F811
    partner_slug = committed.slug("pub")
    cleanup_marketplace.append(partner_slug)
    partner = Partner.objects.create(slug=partner_slug, name="Journey Apps")
    developer = make_user(committed.email(), name="Dev Eloper")
    PartnerMember.objects.create(partner=partner, user=developer, role="developer")
    operator = make_user(committed.email(), name="Olga Operator")
    operator.is_staff = True
    operator.is_superuser = True
    operator.save()
    admin = make_user(committed.email(), name="Tina Tenant")
    tenant = tenant_provision(slug=committed.slug("buyer"), name="Buyer Co", admin=admin)
    base = f"http://localhost:{live_site}"

    # The partner's developer creates the listing and uploads the manifest.
    partner_context = browser.new_context()
    partner_context.add_cookies([session_cookie(developer, live_site)])
    page = partner_context.new_page()
    page.goto(f"{base}/partner-portal/{partner_slug}/extensions/")
    page.get_by_label("Name", exact=True).fill("SaaS sales kit")
    page.get_by_label("Address name").fill("saas-sales-kit")
    page.get_by_label("Summary").fill("Fields and a pipeline for subscription sales")
    page.get_by_label("Description (Markdown)").fill("Adds **ARR** to deals.")
    page.get_by_label("Category").select_option("sales")
    page.get_by_label("Support address").fill("https://help.journey.example")
    page.get_by_label("Pricing").select_option("free")
    page.get_by_role("button", name="Create listing").click()
    page.wait_for_url(re.compile(r".*/extensions/saas-sales-kit/$"))
    page.get_by_label("…or paste the manifest").fill(json.dumps(manifest_of("saas-sales-kit")))
    page.get_by_role("button", name="Submit for review").click()
    page.get_by_text("Version 1.1.0 is submitted for review.").wait_for()

    # The operator approves it in the console.
    console = browser.new_context()
    console.add_cookies([session_cookie(operator, live_site)])
    op = console.new_page()
    op.goto(f"{base}/admin/catalog/version/?state__exact=submitted")
    op.get_by_role("link", name=re.compile("SaaS sales kit")).first.click()
    op.get_by_label("Decision").select_option("approve")
    op.get_by_label("Review notes").fill("Looks good.")
    op.get_by_role("button", name="Save", exact=True).click()
    op.get_by_text(re.compile("was changed successfully")).wait_for()
    assert op.get_by_text("Approved").first.is_visible()

    # The tenant admin installs it and sees the field on the deal form.
    tenant_base = f"http://{tenant.schema_name}.localhost:{live_site}"
    shop = browser.new_page()
    shop.goto(tenant_base + "/accounts/login/")
    shop.get_by_label("Email").fill(admin.email)
    shop.get_by_label("Password").fill(TEST_PASSWORD)
    shop.get_by_role("button", name="Sign in").click()
    shop.wait_for_url(tenant_base + "/")
    shop.get_by_role("link", name="Extensions").click()
    shop.get_by_role("link", name="SaaS sales kit").click()
    shop.get_by_text("Field “Annual recurring revenue” (currency) on deals").wait_for()
    shop.get_by_role("button", name="Install").click()
    shop.get_by_text("SaaS sales kit 1.1.0 is installed.").wait_for()
    shop.goto(tenant_base + "/m/deals/new/")
    shop.get_by_label("Annual recurring revenue").wait_for()
    assert shop.get_by_label("Plan tier").is_visible()
