"""Email in the browser: open a contact, write an email from a template, see it in the thread; the
customer's reply arrives on the IMAP server, is synced and shows on the contact's timeline."""

from __future__ import annotations

import os
import re

import pytest
from django_tenants.utils import tenant_context

from conftest import make_user
from crm_apps.access.models import Member
from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from crm_apps.mail.models import Message, Template
from crm_apps.mail.tests import conftest as mail_servers
from crm_apps.mail.tests.servers import raw_email
from tenants.services import tenant_provision
from tests.e2e.test_calls_documents_journey import signed_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The real IMAP (dovecot) and SMTP (aiosmtpd) servers of the mail tests.
dovecot = mail_servers.dovecot
sink = mail_servers.sink


def test_write_from_a_template_and_see_the_reply_on_the_timeline(
    live_site, browser, committed, dovecot, sink, settings, media_root
):
    from crm_apps.mail.mailboxes import mailbox_create
    from crm_apps.mail.models import Security
    from crm_apps.mail.sync import mailbox_sync
    from crm_apps.mail.tests.servers import PASSWORD

    settings.MAIL_ALLOW_PRIVATE = True
    admin = make_user(committed.email(), name="Mia Mail")
    tenant = tenant_provision(slug=committed.slug("mail"), name="Mail Co", admin=admin)
    folder = f"Journey{os.getpid()}"
    conn = dovecot.imap("bob")
    conn.create(folder)
    conn.logout()
    with tenant_context(tenant):
        actor = Member.objects.get(user=admin)
        mailbox = mailbox_create(
            actor=actor,
            data={
                "name": "Mia",
                "email_address": "bob@crm-mail.test",
                "imap_host": "127.0.0.1",
                "imap_port": dovecot.port,
                "imap_security": Security.NONE,
                "imap_username": "bob",
                "imap_folder": folder,
                "smtp_host": "127.0.0.1",
                "smtp_port": sink.port,
                "smtp_security": Security.NONE,
                "sharing": "full",
            },
            passwords={"imap_password": PASSWORD},
        )
        contact = record_create(
            spec=registry.get("contacts"),
            actor=actor,
            data={"first_name": "Ada", "last_name": "Lovelace", "email": "ada@engine.test"},
        )
        Template.objects.create(
            name="Follow-up",
            module="contacts",
            subject="Next steps, {{ contact.first_name }}",
            body_html="<p>Dear {{ contact.first_name }}, thanks for your time. {{ sender.name }}</p>",
            owner=actor,
        )
    base = f"http://{tenant.schema_name}.localhost:{live_site}"
    page = signed_in(browser, base, admin.email)

    page.goto(f"{base}/m/contacts/{contact.pk}/")
    # the email value is a compose link, and the Emails panel offers "Write an email"
    assert page.locator('a[href*="/mail/compose/?to=ada%40engine.test"]').count() >= 1
    page.locator("[data-record-emails]").get_by_role("link", name="Write an email").click()
    page.wait_for_url(re.compile(r".*/mail/compose/.*"))
    assert page.get_by_label("To", exact=True).input_value() == "ada@engine.test"
    page.get_by_label("Template", exact=True).select_option(label="Follow-up")
    page.wait_for_function("() => document.querySelector('#mail-subject').value === 'Next steps, Ada'")
    assert "Dear Ada" in page.locator("[data-mail-editor]").inner_text()
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(f"{base}/m/contacts/{contact.pk}/")
    panel = page.locator("[data-record-emails]")
    assert "Next steps, Ada" in panel.text_content()
    [received] = sink.messages()
    assert received["Subject"] == "Next steps, Ada"
    with tenant_context(tenant):
        sent = Message.objects.get(subject="Next steps, Ada")

    # Ada answers; the mailbox syncs
    dovecot.append(
        "bob",
        raw_email(
            subject="Re: Next steps, Ada",
            sender="Ada Lovelace <ada@engine.test>",
            to="bob@crm-mail.test",
            message_id=f"<reply.{os.getpid()}@engine.test>",
            in_reply_to=sent.message_id,
            references=sent.message_id,
            body="Sounds good, see you Tuesday.",
        ),
        folder,
    )
    with tenant_context(tenant):
        assert mailbox_sync(mailbox_id=str(mailbox.pk)).stored == 1
        assert Message.objects.get(message_id=f"<reply.{os.getpid()}@engine.test>").thread_id == sent.thread_id
    page.reload()
    thread = page.locator("[data-record-emails] [data-thread]")
    assert thread.count() == 1
    assert "Sounds good, see you Tuesday." in thread.first.text_content()
    timeline = page.locator("#activity .timeline")
    assert "Re: Next steps, Ada" in timeline.text_content()
    thread.first.get_by_role("link", name=re.compile("Next steps")).click()
    page.wait_for_url(re.compile(r".*/mail/threads/\d+/"))
    assert page.locator("[data-message]").count() == 2
    # the reply's line on the timeline opens the thread at that message
    page.go_back()
    timeline.get_by_role("link", name=re.compile("Re: Next steps, Ada")).first.click()
    page.wait_for_url(re.compile(r".*/mail/threads/\d+/#message-\d+"))
    assert page.locator("[data-message]").count() == 2

    # the email screens pass axe-core's checks (WCAG 2.1 A/AA and best practices)
    from tests.e2e.test_shell_journey import AXE, axe_violations

    failures = {}
    assert AXE.exists(), "npm install brings axe-core (make install)"
    for path in [
        "/mail/",
        "/mail/compose/",
        "/mail/mailboxes/",
        f"/mail/mailboxes/{mailbox.pk}/",
        f"/mail/mailboxes/{mailbox.pk}/edit/",
        "/mail/templates/",
        "/mail/templates/new/",
        f"/mail/threads/{sent.thread_id}/",
    ]:
        page.goto(base + path)
        found = axe_violations(page)
        if found:
            failures[path] = found
    assert failures == {}
