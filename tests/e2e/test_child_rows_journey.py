"""Line items in the browser: rows added, moved by keyboard and removed in the page, live amounts while
typing, and the server's totals after saving (the test-only orders module, crm_apps/engine/tests/childtest)."""

from __future__ import annotations

import re

import pytest
from django_tenants.utils import tenant_context

from conftest import TEST_PASSWORD, make_user
from tenants.services import tenant_provision

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_order_lines_are_edited_by_keyboard_with_live_totals(live_site, browser, committed):
    admin = make_user(committed.email(), name="Olga Orders")
    tenant = tenant_provision(slug=committed.slug("rows"), name="Rows Co", admin=admin)
    base = f"http://{tenant.schema_name}.localhost:{live_site}"
    page = browser.new_page()
    page.goto(base + "/accounts/login/")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/")

    response = page.goto(base + "/m/childtest_orders/new/")
    assert response is not None and response.status == 200, page.content()[:3000]
    page.locator("#id_name").fill("Spring restock")
    page.get_by_label("Description (row 1)").fill("Widgets")
    page.get_by_label("Quantity (row 1)").fill("3")
    page.get_by_label("Unit price (row 1)").fill("2.50")
    assert page.locator("[data-rows-total]").text_content() == "7.50"

    # "Add row" works in the page (no reload): the new row is focused and labelled "row 2".
    page.get_by_role("button", name="Add row").click()
    page.keyboard.type("Gadgets")
    page.get_by_label("Quantity (row 2)").fill("2")
    page.get_by_label("Unit price (row 2)").fill("10")
    assert page.locator("[data-rows-total]").text_content() == "27.50"

    # Moving by keyboard: focus "Move up (row 2)" and press Enter; the focus stays on the moved row's button.
    page.get_by_role("button", name="Move up (row 2)").focus()
    page.keyboard.press("Enter")
    assert page.get_by_label("Description (row 1)").input_value() == "Gadgets"
    assert page.get_by_label("Description (row 2)").input_value() == "Widgets"

    # A third row, removed again before saving: it is not saved and not counted.
    page.get_by_role("button", name="Add row").click()
    page.keyboard.type("Mistake")
    page.get_by_label("Quantity (row 3)").fill("100")
    page.get_by_label("Unit price (row 3)").fill("1")
    assert page.locator("[data-rows-total]").text_content() == "127.50"
    page.locator('[name="lines-2-DELETE"]').check()
    assert page.locator("[data-rows-total]").text_content() == "27.50"

    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r".*/m/childtest_orders/[0-9a-f-]+/$"))
    rows = page.locator("section:has(h2:text-is('Lines')) tbody tr")
    assert rows.count() == 2
    assert rows.nth(0).locator("td").first.text_content() == "Gadgets"
    assert rows.nth(1).locator("td").first.text_content() == "Widgets"
    assert page.locator("section:has(h2:text-is('Lines')) dd").first.text_content() == "27.50"

    with tenant_context(tenant):
        from crm_apps.engine.tests.childtest.models import SampleOrder

        order = SampleOrder.objects.get(name="Spring restock")
        assert (str(order.subtotal), order.line_count, order.lines.count()) == ("27.50", 2, 2)
