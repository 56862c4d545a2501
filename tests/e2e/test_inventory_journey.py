"""Issue 19's journey: products in the catalogue, a quote created from a deal with three lines and a
discount, converted to a sales order and an invoice, its PDF downloaded, a payment recorded."""

from __future__ import annotations

import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django_tenants.utils import tenant_context

from conftest import TEST_PASSWORD, make_user
from tenants.services import tenant_provision

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_quote_from_a_deal_to_a_paid_invoice(live_site, browser, committed):
    from pypdf import PdfReader

    from crm_apps.access.models import Member
    from crm_apps.engine import registry
    from crm_apps.engine.services import record_create

    admin = make_user(committed.email(), name="Quinn Quotes")
    tenant = tenant_provision(slug=committed.slug("inv"), name="Hammocks Co", admin=admin)
    with tenant_context(tenant):
        actor = Member.objects.get(user=admin)
        from crm_apps.finance.models import Tax

        Tax.objects.create(name="VAT", percent=Decimal("20"))
        for name, price in (("Hammock", "120.00"), ("Rope", "9.99")):
            record_create(spec=registry.get("products"), actor=actor, data={"name": name, "unit_price": price})
        organization = record_create(
            spec=registry.get("organizations"), actor=actor, data={"name": "Globex", "billing_city": "Springfield"}
        )
        deal = record_create(
            spec=registry.get("deals"),
            actor=actor,
            data={
                "name": "Garden hammocks",
                "close_date": "2027-06-30",
                "organization": str(organization.pk),
                "currency": "EUR",
            },
        )
    base = f"http://{tenant.schema_name}.localhost:{live_site}"
    page = browser.new_page(accept_downloads=True)
    page.goto(base + "/accounts/login/")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/")

    # The deal's page: "Create quote" makes a quote prefilled from the deal.
    page.goto(f"{base}/m/deals/{deal.pk}/")
    page.get_by_role("button", name="Create quote").click()
    page.wait_for_url(re.compile(r".*/m/quotes/[0-9a-f-]+/$"))
    quote_url = page.url
    assert "Garden hammocks" in page.content()

    # Three lines and a 10 % discount in the edit form.
    page.goto(quote_url + "edit/")
    for row, (description, quantity, price) in enumerate(
        (("Hammock, blue", "2", "120"), ("Rope, 10 m", "3", "9.99"), ("Installation", "1", "50")), start=1
    ):
        # The quote made from the deal has no lines yet: each one is added.
        page.locator('button[value="lines:add"]').click()
        page.get_by_label(f"Description (row {row})").fill(description)
        page.get_by_label(f"Quantity (row {row})").fill(quantity)
        page.get_by_label(f"List price (row {row})").fill(price)
    # A fourth line picks a product from the catalogue by typing (its price comes from the product) and
    # is taxed at the workspace's VAT, chosen in the line's taxes list.
    page.locator('button[value="lines:add"]').click()
    page.locator("#id_lines-3-product-ts-control").click()
    page.keyboard.type("Hamm", delay=30)
    page.get_by_role("option", name=re.compile("Hammock")).click()
    page.get_by_label("Quantity (row 4)").fill("1")
    page.get_by_label("Taxes (row 4)").select_option(label="VAT 20 %")
    page.locator("#id_discount_percent").fill("10")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(quote_url)
    # 240 + 29.97 + 50 + 120 = 439.97; 10 % = 44.00; VAT on the hammock line 120 x 20 % = 24.00 (free-text
    # lines carry no tax; individual mode taxes each line's net); total 439.97 - 44.00 + 24.00 = 419.97
    assert "419.97" in page.content()

    page.get_by_role("button", name="Create sales order").click()
    page.wait_for_url(re.compile(r".*/m/sales-orders/[0-9a-f-]+/$"))
    assert "419.97" in page.content()
    page.get_by_role("button", name="Create invoice").click()
    page.wait_for_url(re.compile(r".*/m/invoices/[0-9a-f-]+/$"))
    invoice_url = page.url

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download PDF").click()
    download = download_info.value
    assert download.suggested_filename.startswith("INV")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(Path(download.path()).read_bytes())).pages)
    assert "Hammock, blue" in text and "Installation" in text and "419.97" in text

    assert page.locator("#payment-amount").input_value() == "419.97"  # the balance, proposed
    page.locator("#payment-amount").fill("419.97")
    page.get_by_role("button", name="Record payment").click()
    # The POST redirects back to the same address, so the URL alone does not say the answer arrived.
    page.get_by_text("Payment recorded.").wait_for()
    assert page.url == invoice_url
    with tenant_context(tenant):
        from crm_apps.modules.invoices.models import Invoice

        invoice = Invoice.objects.get()
        assert (invoice.payment_status, invoice.balance, invoice.status) == ("paid", Decimal("0.00"), "Paid")
