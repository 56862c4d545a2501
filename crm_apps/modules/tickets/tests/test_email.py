"""A public reply is emailed to the ticket's contact (the test SMTP sink) and the customer's answer,
fetched from the test IMAP server, threads back into the ticket and reopens it."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from crm_apps.engine import registry
from crm_apps.engine.services import record_update
from crm_apps.mail.models import MessageLink
from crm_apps.mail.sync import mailbox_sync
from crm_apps.mail.tests.servers import raw_email
from crm_apps.modules.tickets.models import Ticket, TicketReply
from crm_apps.modules.tickets.services import ticket_reply
from crm_apps.modules.tickets.tests.helpers import contact, ticket

pytestmark = pytest.mark.django_db


def test_public_reply_is_emailed_and_the_customer_answer_threads_back_and_reopens(
    tenant_a, admin_of, make_mailbox, sink, dovecot, django_capture_on_commit_callbacks
):
    admin = admin_of(tenant_a)
    mailbox = make_mailbox(tenant_a, admin, user="support", smtp_port=sink.port)
    person = contact(tenant_a, admin, email="ann@customer.test")
    record = ticket(tenant_a, admin, title="Printer E42", contact=str(person.pk))
    with tenant_context(tenant_a), django_capture_on_commit_callbacks(execute=True):
        reply = ticket_reply(actor=admin, ticket=record, body="Please restart it.\nThen tell us.", public=True)
    [sent] = sink.messages()
    with tenant_context(tenant_a):
        record = record_update(
            spec=registry.get("tickets"),
            actor=admin,
            record=Ticket.objects.get(pk=record.pk),
            data={"status": "Wait For Response"},
        )
        waiting = record.sla_status

    dovecot.append(
        "support",
        raw_email(
            subject=f"Re: [{record.number}] Printer E42",
            sender="Ann Stone <ann@customer.test>",
            to=mailbox.email_address,
            message_id="<answer-1@customer.test>",
            in_reply_to=sent["Message-ID"],
            references=sent["Message-ID"],
            body="Restarted, still E42.",
        ),
        folder=mailbox.imap_folder,
    )
    with tenant_context(tenant_a):
        mailbox_sync(mailbox_id=str(mailbox.pk))
        mailbox_sync(mailbox_id=str(mailbox.pk))  # a second run keeps one reply
        record.refresh_from_db()
        conversation = list(TicketReply.objects.filter(ticket=record).values_list("kind", "body", "from_address"))
        links = MessageLink.objects.filter(module="tickets", record_id=record.pk).count()

    assert sent["To"] == "ann@customer.test"
    assert sent["Subject"] == f"[{record.number}] Printer E42"
    assert "Please restart it." in sent.get_body(("plain",)).get_content()
    assert reply.email_id is not None and reply.kind == "reply"
    assert waiting == ""  # no SLA policy: no SLA figures
    assert conversation == [
        ("reply", "Please restart it.\nThen tell us.", ""),
        ("customer", "Restarted, still E42.", "ann@customer.test"),
    ]
    assert links == 2  # the reply sent and the answer received
    assert record.status == "Open"
    assert record.first_response_at is not None


def test_an_answer_naming_the_ticket_number_threads_back_from_its_contact_only(
    tenant_a, admin_of, make_mailbox, dovecot
):
    admin = admin_of(tenant_a)
    mailbox = make_mailbox(tenant_a, admin, user="support")
    person = contact(tenant_a, admin, email="ann@customer.test")
    record = ticket(tenant_a, admin, contact=str(person.pk))
    for sender, message_id in (("ann@customer.test", "<n1@customer.test>"), ("eve@elsewhere.test", "<n2@x.test>")):
        dovecot.append(
            "support",
            raw_email(
                subject=f"About [{record.number}]",
                sender=sender,
                to=mailbox.email_address,
                message_id=message_id,
                body=f"from {sender}",
            ),
            folder=mailbox.imap_folder,
        )
    with tenant_context(tenant_a):
        mailbox_sync(mailbox_id=str(mailbox.pk))
        bodies = list(TicketReply.objects.filter(ticket=record).values_list("body", flat=True))

    assert bodies == ["from ann@customer.test"]


def test_the_mail_converter_opens_a_ticket_and_threads_the_next_answer_into_it(
    tenant_a, admin_of, make_mailbox, dovecot
):
    from crm_apps.mail.models import ConverterRule

    admin = admin_of(tenant_a)
    mailbox = make_mailbox(
        tenant_a, admin, user="support", kind="shared", converter_enabled=True, email_address="support@crm-mail.test"
    )
    person = contact(tenant_a, admin, email="ann@customer.test")
    with tenant_context(tenant_a):
        ConverterRule.objects.create(
            mailbox=mailbox,
            position=1,
            name="tickets",
            field="to",
            operator="contains",
            value="support@",
            action="create_ticket",
        )
    first = raw_email(
        subject="Scanner is offline",
        sender="Ann Stone <ann@customer.test>",
        to="support@crm-mail.test",
        message_id="<conv-1@customer.test>",
        body="It stopped this morning.",
    )
    follow_up = raw_email(
        subject="Re: Scanner is offline",
        sender="Ann Stone <ann@customer.test>",
        to="support@crm-mail.test",
        message_id="<conv-2@customer.test>",
        in_reply_to="<conv-1@customer.test>",
        body="Now it works again.",
    )
    dovecot.append("support", first, folder=mailbox.imap_folder)
    with tenant_context(tenant_a):
        mailbox_sync(mailbox_id=str(mailbox.pk))
    dovecot.append("support", follow_up, folder=mailbox.imap_folder)
    with tenant_context(tenant_a):
        mailbox_sync(mailbox_id=str(mailbox.pk))
        [opened] = Ticket.objects.all()
        replies = list(TicketReply.objects.filter(ticket=opened).values_list("kind", "body"))

    assert (opened.title, opened.channel, opened.contact_id) == ("Scanner is offline", "Email", person.pk)
    assert opened.description == "It stopped this morning."
    assert replies == [("customer", "Now it works again.")]


def test_a_ticket_rule_is_refused_without_the_tickets_app(monkeypatch):
    from crm_apps.mail import converter

    monkeypatch.setattr(converter, "_action_handlers", {})

    assert converter.action_available("create_ticket") is False
    assert converter.action_available("create_lead") is True


def test_a_failure_to_update_the_ticket_never_loses_the_message(tenant_a, admin_of, make_mailbox, dovecot):
    from unittest import mock

    from crm_apps.mail.models import Message

    admin = admin_of(tenant_a)
    mailbox = make_mailbox(tenant_a, admin, user="support")
    person = contact(tenant_a, admin, email="ann@customer.test")
    record = ticket(tenant_a, admin, contact=str(person.pk))
    dovecot.append(
        "support",
        raw_email(
            subject=f"About [{record.number}]",
            sender="ann@customer.test",
            to=mailbox.email_address,
            message_id="<broken-1@customer.test>",
        ),
        folder=mailbox.imap_folder,
    )
    with (
        tenant_context(tenant_a),
        mock.patch("crm_apps.modules.tickets.services.ticket_customer_reply", side_effect=RuntimeError("boom")),
    ):
        mailbox_sync(mailbox_id=str(mailbox.pk))
        kept = Message.objects.filter(message_id="<broken-1@customer.test>").count()

    assert kept == 1
