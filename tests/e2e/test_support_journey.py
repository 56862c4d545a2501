"""Issue 20's support journey: open a ticket from a contact, reply to the customer by email, close it with
a solution and turn it into an FAQ entry."""

from __future__ import annotations

import os
import re
import time

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


def test_ticket_from_a_contact_to_an_faq_entry(live_site, browser, committed, dovecot, sink, settings):
    from crm_apps.mail.mailboxes import mailbox_create
    from crm_apps.mail.models import Security
    from crm_apps.mail.tests.servers import PASSWORD
    from crm_apps.modules.tickets.models import Ticket

    settings.MAIL_ALLOW_PRIVATE = True
    admin = make_user(committed.email(), name="Sam Support")
    tenant = tenant_provision(slug=committed.slug("desk"), name="Help Desk Co", admin=admin)
    folder = f"Desk{os.getpid()}"
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
            passwords={"imap_password": PASSWORD},
        )
        contact = record_create(
            spec=registry.get("contacts"),
            actor=actor,
            data={"first_name": "Grace", "last_name": "Hopper", "email": "grace@navy.test"},
        )
    base = f"http://{tenant.schema_name}.localhost:{live_site}"
    page = signed_in(browser, base, admin.email)

    # The contact's page offers "Open a ticket"; the new ticket belongs to the contact.
    page.goto(f"{base}/m/contacts/{contact.pk}/")
    page.get_by_role("link", name="Open a ticket").click()
    page.get_by_label("Title").fill("Compiler crashes on startup")
    page.get_by_role("button", name="Open ticket").click()
    page.wait_for_url(re.compile(r".*/m/tickets/[0-9a-f-]+/$"))
    ticket_url = page.url
    assert "Compiler crashes on startup" in page.content()

    # A public reply is emailed to the contact and shown in the conversation.
    page.get_by_label("Reply or note").fill("Could you send us the log file?")
    page.get_by_label("Public reply, emailed to grace@navy.test").check()
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(ticket_url + "#conversation")
    assert "Could you send us the log file?" in page.locator("#conversation").inner_text()
    for _ in range(50):
        if sink.received:
            break
        time.sleep(0.1)
    [sent] = sink.messages()
    assert sent["To"] == "grace@navy.test" and "Compiler crashes on startup" in sent["Subject"]

    # Closing asks for the solution.
    page.get_by_role("link", name="Close with solution").first.click()
    page.get_by_role("button", name="Close ticket").click()
    # The refused POST answers on the same address: wait for its error, not for a URL.
    page.get_by_text("Enter the solution before closing the ticket.").wait_for()
    page.get_by_label("Solution").fill("Upgrade to version 2.1; the crash is fixed there.")
    page.get_by_role("button", name="Close ticket").click()
    page.wait_for_url(ticket_url)
    with tenant_context(tenant):
        ticket = Ticket.objects.get()
        assert (ticket.status, ticket.contact_id) == ("Closed", contact.pk)

    # The solved ticket becomes a draft FAQ entry.
    page.get_by_role("button", name="Turn into FAQ").click()
    page.wait_for_url(re.compile(r".*/m/faq/[0-9a-f-]+/$"))
    assert "Compiler crashes on startup" in page.content()
    assert "Upgrade to version 2.1; the crash is fixed there." in page.content()
    page.close()
