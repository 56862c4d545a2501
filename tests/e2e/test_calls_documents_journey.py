"""Calls and documents in the browser: log a call from a contact (and see a ringing call pop up), upload a
document on a deal and a new version of it, then download the first version."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from conftest import TEST_PASSWORD, make_user
from crm_apps.access.models import Member
from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from tenants.services import tenant_provision

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def signed_in(browser, base: str, email: str):
    page = browser.new_page()
    page.goto(base + "/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/")
    return page


def test_log_a_call_from_a_contact_and_see_an_incoming_call(live_site, browser, committed):
    from crm_apps.modules.calls.services import CallEvent, telephony_event_apply
    from crm_apps.modules.calls.settings_store import telephony_member_set

    admin = make_user(committed.email(), name="Carla Calls")
    tenant = tenant_provision(slug=committed.slug("calls"), name="Calls Co", admin=admin)
    with tenant_context(tenant):
        actor = Member.objects.get(user=admin)
        contact = record_create(
            spec=registry.get("contacts"),
            actor=actor,
            data={"first_name": "Ada", "last_name": "Lovelace", "phone": "+1 415 555 0132"},
        )
        telephony_member_set(actor=actor, member=actor, extension="201")
    base = f"http://{tenant.schema_name}.localhost:{live_site}"
    page = signed_in(browser, base, admin.email)

    page.goto(f"{base}/m/contacts/{contact.pk}/")
    assert page.locator('a[href="tel:+14155550132"]').count() >= 1  # click-to-call on the phone field
    page.get_by_text("Log a call").click()
    page.get_by_label("Status").select_option("Answered")
    page.get_by_label("Duration (seconds)").fill("240")
    page.get_by_label("Notes").fill("Agreed to a demo next week.")
    page.get_by_role("button", name="Save call").click()
    page.wait_for_url(re.compile(rf".*/m/contacts/{contact.pk}/.*"))
    calls = page.locator("[data-record-calls] [data-call]")
    calls.first.wait_for()  # the POST redirects back to this contact's page: wait for the page with the call
    assert calls.count() == 1
    assert "Agreed to a demo next week." in calls.first.text_content()

    with tenant_context(tenant):
        telephony_event_apply(
            event=CallEvent(
                call_id="e2e-1",
                status="ringing",
                timestamp=timezone.now(),
                from_number="(415) 555-0132",
                to_number="4155550100",
                extension="201",
            )
        )
    popup = page.locator(".call-popup__card")
    popup.wait_for(timeout=15_000)
    assert "Ada Lovelace" in popup.text_content()
    popup.get_by_role("link", name=re.compile("Ada Lovelace")).click()
    page.wait_for_url(f"{base}/m/contacts/{contact.pk}/")


def test_upload_a_document_on_a_deal_then_a_new_version(live_site, browser, committed, tmp_path):
    admin = make_user(committed.email(), name="Dora Docs")
    tenant = tenant_provision(slug=committed.slug("docs"), name="Docs Co", admin=admin)
    with tenant_context(tenant):
        actor = Member.objects.get(user=admin)
        deal = record_create(spec=registry.get("deals"), actor=actor, data=dict(registry.get("deals").example))
    base = f"http://{tenant.schema_name}.localhost:{live_site}"
    first, second = tmp_path / "proposal.txt", tmp_path / "proposal-v2.txt"
    first.write_text("Proposal, first draft\n")
    second.write_text("Proposal, signed\n")
    page = signed_in(browser, base, admin.email)

    page.goto(f"{base}/m/deals/{deal.pk}/")
    page.get_by_text("Upload a document").click()
    page.locator("#doc-file").set_input_files(str(first))
    page.get_by_label("Title").fill("Proposal")
    page.locator("[data-record-documents]").get_by_role("button", name="Upload", exact=True).click()
    page.locator("[data-record-documents]").get_by_role("link", name="Proposal", exact=True).click()
    page.wait_for_url(re.compile(r".*/m/documents/[0-9a-f-]+/$"))

    page.get_by_label("Upload a new version").set_input_files(str(second))
    page.locator("#document-versions").get_by_role("button", name="Upload", exact=True).click()
    page.wait_for_url(re.compile(r".*/m/documents/[0-9a-f-]+/$"))
    rows = page.locator("#document-versions tbody tr")
    rows.nth(1).wait_for()  # the POST redirects back to this document's page: wait for the page with both versions
    assert rows.count() == 2
    assert rows.first.get_attribute("data-version") == "2"

    with page.expect_download() as download:
        page.locator("#document-versions tr[data-version='1'] a").click()
    saved = tmp_path / "downloaded.txt"
    download.value.save_as(saved)
    assert saved.read_text() == "Proposal, first draft\n"
