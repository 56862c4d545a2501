"""Lists and boards in the browser: columns picked on a list survive a reload, a cell is edited by
keyboard, and on the board a card moves to another stage and its amount is edited on the card."""

from __future__ import annotations

import re

import pytest
from django_tenants.utils import tenant_context

from conftest import TEST_PASSWORD, make_user
from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from tenants.services import tenant_provision

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _signed_in(live_site, browser, committed):
    admin = make_user(committed.email(), name="Lena List")
    tenant = tenant_provision(slug=committed.slug("lists"), name="Lists Co", admin=admin)
    with tenant_context(tenant):
        from crm_apps.access.models import Member

        actor = Member.objects.get(user=admin)
        contacts = registry.get("contacts")
        for name, phone in (("Adams", "111"), ("Baker", "222")):
            record_create(spec=contacts, actor=actor, data={"last_name": name, "phone": phone})
        deal = record_create(
            spec=registry.get("deals"),
            actor=actor,
            data={"name": "Hammock order", "close_date": "2027-03-31", "amount": "100", "currency": "USD"},
        )
    base = f"http://{tenant.schema_name}.localhost:{live_site}"
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(base + "/accounts/login/")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/")
    return tenant, base, page, deal


def test_columns_inline_edit_and_board(live_site, browser, committed):
    tenant, base, page, deal = _signed_in(live_site, browser, committed)

    # Pick columns: drop "First name", move "Office phone" to the front, add "Mailing city"; reload keeps them.
    page.goto(base + "/m/contacts/")
    assert not page.locator("[data-bulk-bar]").is_visible()  # nothing selected yet
    page.get_by_text("Columns and rows").click()
    picker = page.locator("[data-column-list]")
    picker.get_by_role("checkbox", name="First name", exact=True).uncheck()
    picker.get_by_role("checkbox", name="Mailing city", exact=True).check()
    for _ in range(4):
        page.get_by_role("button", name="Move Office phone up").click()
    page.get_by_label("Compact").check()
    page.get_by_role("button", name="Save layout").click()
    page.wait_for_url(base + "/m/contacts/")
    # The POST redirects back to this list: wait for the saved layout's page before reloading it.
    page.locator("[data-records].records--compact").wait_for()
    page.reload()
    headers = page.locator("thead th[data-col]").all_inner_texts()
    expected = ["Office phone", "Last name", "Organisation", "Email", "Owner", "Mailing city"]
    assert [h.strip() for h in headers] == expected
    assert "records--compact" in (page.locator("[data-records]").get_attribute("class") or "")

    # Widen the email column by keyboard (its header's resize handle, → three times); kept after reload.
    handle = page.locator("th[data-col=email] [data-col-resize]")
    handle.focus()
    with page.expect_response(lambda r: r.url.endswith("/m/contacts/layout/")):
        for _ in range(3):
            page.keyboard.press("ArrowRight")
    page.reload()
    assert "width:" in (page.locator("th[data-col=email]").get_attribute("style") or "")
    page.locator("body").click(position={"x": 5, "y": 5})

    # The bulk bar appears once a row is selected (x on the focused row).
    page.locator("body").press("j")
    page.keyboard.press("x")
    assert page.locator("[data-bulk-bar]").is_visible()

    # Keyboard: j to the second row, → to its first editable cell, Enter, type, Enter saves.
    page.keyboard.press("j")
    page.keyboard.press("ArrowRight")
    focused = page.evaluate("document.activeElement.dataset.col")
    assert focused == "phone"
    page.keyboard.press("Enter")
    editor = page.locator("td[data-col=phone] input[name=phone]")
    editor.wait_for()
    editor.fill("+1 555 0199")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.body.textContent.includes('+1 555 0199')")
    with tenant_context(tenant):
        phones = sorted(registry.get("contacts").model.objects.values_list("phone", flat=True))
    assert "+1 555 0199" in phones

    # Board: move the deal to "Qualification" with its stage menu, then edit its amount on the card.
    page.goto(base + "/m/deals/board/")
    card = page.locator("[data-card]", has_text="Hammock order")
    card.get_by_label("Move to").select_option(label="Qualification")
    page.wait_for_url(re.compile(r".*/m/deals/board/.*"))
    qualification = page.locator("[data-column]", has=page.get_by_role("heading", name="Qualification"))
    qualification.locator("[data-card]", has_text="Hammock order").wait_for()
    amount = qualification.locator("[data-card-field=amount]")
    amount.focus()
    page.keyboard.press("Enter")
    field = amount.locator("input[name=amount]")
    field.wait_for()
    field.fill("2500")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-card-field=amount]')].some(e => e.textContent.includes('2,500.00'))"
    )
    with tenant_context(tenant):
        stored = registry.get("deals").model.objects.select_related("stage").get(pk=deal.pk)
    assert (stored.stage.name, str(stored.amount)) == ("Qualification", "2500.00")
