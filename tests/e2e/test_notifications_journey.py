"""A mention reaches the colleague's bell: one browser writes "@colleague" in a comment, the colleague's
browser sees the unread count on the bell, opens the list, marks the notification read, and the count goes."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from conftest import TEST_PASSWORD, make_user
from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from tenants.services import tenant_provision

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _sign_in(page: Any, base: str, email: str) -> None:
    page.goto(base + "/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/")


def test_a_mention_shows_on_the_bell_and_is_marked_read(live_site, browser, committed):
    admin = make_user(committed.email(), name="Sam Seller")
    colleague = make_user(committed.email(), name="Mia Colleague")
    tenant = tenant_provision(slug=committed.slug("bell"), name="Bell Co", admin=admin)
    with tenant_context(tenant):
        from crm_apps.access.models import Member
        from crm_apps.access.services import member_create

        actor = Member.objects.get(user=admin)
        member_create(tenant=tenant, user=colleague)
        contact = record_create(spec=registry.get("contacts"), actor=actor, data={"last_name": "Lovelace"})
    base = f"http://{tenant.schema_name}.localhost:{live_site}"

    # Sam mentions Mia in a comment on a contact.
    sam = browser.new_context().new_page()
    _sign_in(sam, base, admin.email)
    sam.goto(f"{base}/m/contacts/{contact.pk}/")
    sam.get_by_label("Add a comment").fill(f"Could you call her, @{colleague.email}?")
    sam.get_by_role("button", name="Comment").click()
    sam.wait_for_url(re.compile(r".*/m/contacts/[0-9a-f-]+/#comments$"))  # the comment is saved

    # Mia's bell shows one unread notification, her list shows it, and marking it read clears the bell.
    mia = browser.new_context().new_page()
    _sign_in(mia, base, colleague.email)
    count = mia.locator("[data-bell-count]")
    count.wait_for()
    assert count.inner_text() == "1"
    mia.locator("[data-bell]").click()
    mia.wait_for_url(base + "/notifications/")
    item = mia.locator("[data-notification]", has_text="Sam Seller mentioned you on Lovelace")
    assert item.is_visible()
    assert "Could you call her" in item.inner_text()
    item.get_by_role("button", name="Mark read").click()
    # The POST redirects back to this same list: wait for the list without the button, not for the URL.
    item.get_by_role("button", name="Mark read").wait_for(state="detached")
    mia.wait_for_url(base + "/notifications/")
    mia.wait_for_selector("[data-bell]")
    mia.wait_for_load_state("networkidle")
    assert mia.locator("[data-bell-count]").count() == 0
    assert mia.locator(".notification--unread").count() == 0


def test_the_home_page_is_one_column_on_a_phone(live_site, browser, committed):
    admin = make_user(committed.email(), name="Pat Phone")
    tenant = tenant_provision(slug=committed.slug("phone"), name="Phone Co", admin=admin)
    base = f"http://{tenant.schema_name}.localhost:{live_site}"
    page = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True).new_page()

    _sign_in(page, base, admin.email)

    widgets = page.locator("[data-widget]")
    boxes = [widgets.nth(i).bounding_box() for i in range(widgets.count())]
    assert len(boxes) >= 6
    assert len({round(b["x"]) for b in boxes if b}) == 1  # stacked, not side by side
    assert all(b and b["x"] + b["width"] <= 390 for b in boxes)  # nothing wider than the screen
    assert page.get_by_text("None of your open deals is expected to close in").is_visible()
