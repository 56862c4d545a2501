"""A salesperson's day in the browser: organisation, contact and deal through the forms, the deal dragged
across the board, a lead converted, and a record found through global search."""

from __future__ import annotations

import re

import pytest
from django_tenants.utils import tenant_context

from conftest import TEST_PASSWORD, make_user
from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from tenants.services import tenant_provision

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_sales_day(live_site, browser, committed):
    admin = make_user(committed.email(), name="Sam Seller")
    tenant = tenant_provision(slug=committed.slug("sales"), name="Sales Co", admin=admin)
    with tenant_context(tenant):
        from crm_apps.access.models import Member

        actor = Member.objects.get(user=admin)
        record_create(
            spec=registry.get("leads"),
            actor=actor,
            data={
                "first_name": "Lisa",
                "last_name": "Simpson",
                "company": "Recycling Ltd",
                "email": "lisa@recycle.example",
            },
        )
    base = f"http://{tenant.schema_name}.localhost:{live_site}"
    page = browser.new_page()
    page.goto(base + "/accounts/login/")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/")

    # An organisation, a contact at it and a deal, through the forms.
    page.goto(base + "/m/organizations/new/")
    page.get_by_label("Organisation name").fill("Globex Corporation")
    page.get_by_label("Website").fill("globex.example")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r".*/m/organizations/[0-9a-f-]+/$"))
    assert page.get_by_role("heading", name="Globex Corporation").is_visible()

    page.goto(base + "/m/contacts/new/")
    page.get_by_label("Last name").fill("Scorpio")
    page.get_by_label("First name").fill("Hank")
    page.locator("#id_organization-ts-control").focus()  # the searchable organisation picker
    page.keyboard.type("Globex")
    page.get_by_role("option", name=re.compile("Globex Corporation")).click()
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r".*/m/contacts/[0-9a-f-]+/$"))
    assert page.get_by_role("link", name="Globex Corporation").is_visible()

    page.goto(base + "/m/deals/new/")
    page.get_by_label("Deal name").fill("Hammock order")
    page.get_by_label("Amount").fill("12500")
    page.get_by_label("Expected close date").fill("2027-03-31")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r".*/m/deals/[0-9a-f-]+/$"))

    # Drag the deal from the first stage to "Qualification" on the board.
    page.goto(base + "/m/deals/board/")
    card = page.locator("[data-card]", has_text="Hammock order")
    target = page.locator("[data-column]", has=page.get_by_role("heading", name="Qualification"))
    card.drag_to(target)
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-column]')].some(c => c.querySelector('h2').textContent"
        " === 'Qualification' && c.textContent.includes('Hammock order'))"
    )
    qualification = page.locator("[data-column]", has=page.get_by_role("heading", name="Qualification"))
    assert qualification.locator("[data-count]").inner_text() == "1"

    # Convert the lead, with a deal.
    page.goto(base + "/m/leads/")
    page.get_by_role("link", name="Simpson").click()
    page.get_by_role("link", name="Convert lead").click()
    page.get_by_label("Also create a deal").check()
    page.get_by_role("button", name="Convert").click()
    page.wait_for_url(re.compile(r".*/m/contacts/[0-9a-f-]+/$"))
    assert page.get_by_role("heading", name="Lisa Simpson").is_visible()

    # Find the contact through the search box in the navigation.
    page.get_by_role("combobox", name="Search everything").fill("scorp")
    page.get_by_role("option", name=re.compile("Search everything for")).click()
    page.wait_for_url(re.compile(r".*/search/\?q=scorp"))
    assert page.get_by_role("link", name="Hank Scorpio").is_visible()
