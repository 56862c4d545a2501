"""Issue 23's self-service journey: a contact signs in to the customer portal and opens a ticket; a member
answers it publicly in the CRM; the contact sees the answer in the portal (never the internal note)."""

from __future__ import annotations

import os
import re

import pytest
from django_tenants.utils import tenant_context

from conftest import make_user
from crm_apps.access.models import Member
from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from crm_apps.mail.tests import conftest as mail_servers
from tenants.services import tenant_provision
from tests.e2e.test_calls_documents_journey import signed_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

dovecot = mail_servers.dovecot
sink = mail_servers.sink
PASSWORD = "portal-Secret-1984"


def test_contact_opens_a_ticket_a_member_replies_the_contact_reads_it(
    live_site, browser, committed, dovecot, sink, settings
):
    from crm_apps.mail.mailboxes import mailbox_create
    from crm_apps.mail.models import Security
    from crm_apps.mail.tests.servers import PASSWORD as IMAP_PASSWORD
    from crm_apps.portal import services as portal

    settings.MAIL_ALLOW_PRIVATE = True
    admin = make_user(committed.email(), name="Pat Portal")
    tenant = tenant_provision(slug=committed.slug("portal"), name="Portal Co", admin=admin)
    folder = f"Portal{os.getpid()}"
    conn = dovecot.imap("support")
    conn.create(folder)
    conn.logout()
    with tenant_context(tenant):
        actor = Member.objects.get(user=admin)
        mailbox_create(
            actor=actor,
            data={
                "name": "Support",
                "email_address": "support@crm-mail.test",
                "imap_host": "127.0.0.1",
                "imap_port": dovecot.port,
                "imap_security": Security.NONE,
                "imap_username": "support",
                "imap_folder": folder,
                "smtp_host": "127.0.0.1",
                "smtp_port": sink.port,
                "smtp_security": Security.NONE,
            },
            passwords={"imap_password": IMAP_PASSWORD},
        )
        contact = record_create(
            spec=registry.get("contacts"),
            actor=actor,
            data={"first_name": "Grace", "last_name": "Hopper", "email": "grace@navy.test"},
        )
        portal.settings_save(actor=actor, data={"title": "Portal Co support", "welcome_text": "Welcome aboard."})
        account = portal.portal_invite(actor=actor, contact_id=contact.pk)
        portal.password_set(account=account, password=PASSWORD, confirm=PASSWORD)
    base = f"http://{tenant.schema_name}.localhost:{live_site}"

    # The contact signs in and opens a ticket.
    customer = browser.new_context().new_page()
    customer.goto(base + "/portal/")
    customer.get_by_label("Email").fill("grace@navy.test")
    customer.get_by_label("Password").fill(PASSWORD)
    customer.get_by_role("button", name="Sign in").click()
    customer.get_by_role("heading", name="Hello, Grace").wait_for()
    assert "Welcome aboard." in customer.content()
    customer.get_by_role("link", name="Open a ticket").click()
    customer.get_by_label("Title").fill("Compiler crashes on startup")
    customer.get_by_label("Describe the problem").fill("It happens every morning.")
    customer.get_by_role("button", name="Open the ticket").click()
    customer.wait_for_url(re.compile(r".*/portal/tickets/[0-9a-f-]+/(#new)?$"))
    found = re.search(r"/portal/tickets/([0-9a-f-]+)/", customer.url)
    assert found is not None
    ticket_id = found.group(1)
    portal_ticket_url = f"{base}/portal/tickets/{ticket_id}/"
    assert "It happens every morning." in customer.content()

    # A member answers publicly (and writes an internal note) in the CRM.
    member = signed_in(browser, base, admin.email)
    member.goto(f"{base}/m/tickets/{ticket_id}/")
    assert "Compiler crashes on startup" in member.content()
    member.get_by_label("Reply or note").fill("Internal: check the nightly build")
    member.get_by_role("button", name="Send").click()
    member.wait_for_url(re.compile(r".*#conversation$"))
    member.get_by_label("Reply or note").fill("Could you send us the log file?")
    member.get_by_label("Public reply, emailed to grace@navy.test").check()
    member.get_by_role("button", name="Send").click()
    member.wait_for_url(re.compile(r".*#conversation$"))
    member.get_by_text("Could you send us the log file?").first.wait_for()

    # The contact sees the public answer, never the note.
    customer.goto(portal_ticket_url)
    conversation = customer.locator(".portal__conversation").inner_text()
    assert "Could you send us the log file?" in conversation
    assert "nightly build" not in customer.content()
    customer.get_by_label("Your message").fill("Here it is: segfault at 0x0")
    customer.get_by_role("button", name="Send").click()
    customer.locator(".portal__conversation").get_by_text("segfault at 0x0").wait_for()

    # The portal session never opens the CRM.
    customer.goto(base + "/m/tickets/")
    assert "/accounts/login/" in customer.url
