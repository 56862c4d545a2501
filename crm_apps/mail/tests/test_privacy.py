"""Who sees which message: per-mailbox sharing, record visibility, other tenants; the Emails API."""

from __future__ import annotations

from typing import Any

import pytest
from django_tenants.utils import tenant_context

from crm_apps.engine import registry
from crm_apps.engine.models import TimelineEntry
from crm_apps.engine.services import record_create
from crm_apps.mail.models import Mailbox
from crm_apps.mail.parsing import parse
from crm_apps.mail.store import message_store
from crm_apps.mail.tests.servers import raw_email


def _received(tenant: Any, mailbox: Mailbox, subject: str, sender: str) -> Any:
    raw = raw_email(
        subject=subject,
        sender=sender,
        to=mailbox.email_address,
        message_id=f"<{subject.replace(' ', '')}-{mailbox.pk}@c.test>",
        body="Secret body text",
    )
    with tenant_context(tenant):
        return message_store(parsed=parse(raw), mailbox=mailbox, uid=None, uidvalidity=None)[0]


@pytest.mark.parametrize(
    ("sharing", "other_sees", "on_timeline"),
    [("private", None, False), ("subject", "subject", True), ("full", "full", True)],
)
def test_personal_mailbox_sharing_decides_what_others_see(
    tenant_a, member, admin_of, make_mailbox, client_for, sharing, other_sees, on_timeline
):
    owner, colleague = member(tenant_a), member(tenant_a)
    with tenant_context(tenant_a):
        contact = record_create(
            spec=registry.get("contacts"),
            actor=admin_of(tenant_a),
            data={"last_name": "Shared", "email": "cust@c.test"},
        )
    mailbox = make_mailbox(tenant_a, owner, sharing=sharing)
    message = _received(tenant_a, mailbox, f"Deal talk {sharing}", "cust@c.test")
    url = f"/api/v1/emails/?record=contacts:{contact.pk}"
    mine = client_for(tenant_a, owner).get(url).json()
    assert [(m["id"], m["visibility"], m["body_text"].strip()) for m in mine] == [
        (message.pk, "full", "Secret body text")
    ]
    theirs = client_for(tenant_a, colleague).get(url).json()
    if other_sees is None:
        assert theirs == []
        assert client_for(tenant_a, colleague).get(f"/api/v1/emails/{message.pk}/").status_code == 404
    else:
        assert [(m["id"], m["visibility"]) for m in theirs] == [(message.pk, other_sees)]
        if other_sees == "subject":
            assert (
                theirs[0]["body_text"] is None
                and theirs[0]["body_html"] is None
                and theirs[0]["subject"] == message.subject
            )
            assert (
                "Secret body text"
                not in client_for(tenant_a, colleague).get(f"/api/v1/emails/{message.pk}/").content.decode()
            )
    with tenant_context(tenant_a):
        assert (
            TimelineEntry.objects.filter(module="contacts", record_id=contact.pk, data__email=message.pk).exists()
            is on_timeline
        )
    # the record page shows the panel to the owner with the message
    page = client_for(tenant_a, owner).get(f"/m/contacts/{contact.pk}/")
    assert page.status_code == 200 and message.subject in page.content.decode()
    # the timeline line opens the email's thread (for those who may see it), not the record itself
    thread_link = f'href="/mail/threads/{message.thread_id}/#message-{message.pk}"'
    assert (thread_link in page.content.decode()) is on_timeline
    seen_by_colleague = client_for(tenant_a, colleague).get(f"/m/contacts/{contact.pk}/").content.decode()
    assert (thread_link in seen_by_colleague) is on_timeline


def test_other_tenants_get_404_for_records_and_messages(tenant_a, tenant_b, member, admin_of, make_mailbox, client_for):
    owner = member(tenant_a)
    mailbox = make_mailbox(tenant_a, owner, sharing="full")
    with tenant_context(tenant_a):
        contact = record_create(
            spec=registry.get("contacts"), actor=admin_of(tenant_a), data={"last_name": "A", "email": "a@c.test"}
        )
    message = _received(tenant_a, mailbox, "Tenant A only", "a@c.test")
    stranger = client_for(tenant_b, member(tenant_b))
    assert stranger.get(f"/api/v1/emails/?record=contacts:{contact.pk}").status_code == 404
    assert stranger.get(f"/api/v1/emails/{message.pk}/").status_code == 404
    assert stranger.get(f"/mail/threads/{message.thread_id}/").status_code == 404
    assert client_for(tenant_a).get(f"/api/v1/emails/?record=contacts:{contact.pk}").status_code in (401, 403)


def test_emails_api_sends_and_lists_a_records_thread(
    tenant_a, admin_of, make_mailbox, sink, client_for, django_capture_on_commit_callbacks
):
    admin = admin_of(tenant_a)
    make_mailbox(tenant_a, admin, smtp_port=sink.port)
    with tenant_context(tenant_a):
        contact = record_create(
            spec=registry.get("contacts"),
            actor=admin,
            data={"last_name": "Api", "first_name": "Ada", "email": "ada@c.test"},
        )
    client = client_for(tenant_a, admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/emails/",
            {
                "to": ["ada@c.test"],
                "subject": "Hello Ada",
                "body_html": "<p>Hi</p>",
                "related_to": [f"contacts:{contact.pk}"],
            },
            content_type="application/json",
        )
    assert response.status_code == 201, response.content
    listed = client.get(f"/api/v1/emails/?record=contacts:{contact.pk}").json()
    assert [(m["subject"], m["direction"], m["status"]) for m in listed] == [("Hello Ada", "out", "sent")]
    bad = client.post("/api/v1/emails/", {"to": ["nope"], "subject": "x"}, content_type="application/json")
    assert bad.status_code == 400 and "to" in bad.json()
    assert client.get("/api/v1/emails/").status_code == 400
    assert client.get("/api/v1/emails/?record=contacts:00000000-0000-0000-0000-000000000000").status_code == 404


@pytest.mark.parametrize(("sharing", "kept"), [("private", False), ("subject", False), ("full", True)])
def test_deleting_a_personal_mailbox_never_opens_its_mail_to_others(
    tenant_a, member, admin_of, make_mailbox, client_for, sharing, kept
):
    from crm_apps.mail.mailboxes import mailbox_delete
    from crm_apps.mail.models import Message

    owner, colleague = member(tenant_a), member(tenant_a)
    with tenant_context(tenant_a):
        contact = record_create(
            spec=registry.get("contacts"), actor=admin_of(tenant_a), data={"last_name": "Kept", "email": "cust@c.test"}
        )
    mailbox = make_mailbox(tenant_a, owner, sharing=sharing)
    message = _received(tenant_a, mailbox, f"Confidential {sharing}", "cust@c.test")
    with tenant_context(tenant_a):
        mailbox_delete(actor=owner, mailbox=mailbox)
        assert Message.objects.filter(pk=message.pk).exists() is kept

    theirs = client_for(tenant_a, colleague).get(f"/api/v1/emails/?record=contacts:{contact.pk}").json()
    if kept:
        assert [m["id"] for m in theirs] == [message.pk]
    else:
        assert theirs == []
        assert client_for(tenant_a, colleague).get(f"/api/v1/emails/{message.pk}/").status_code == 404


@pytest.mark.parametrize(
    ("own_sharing", "copies", "colleague_sees"),
    [
        ("private", [], None),
        ("private", ["private"], None),
        ("private", ["subject"], "subject"),
        ("private", ["subject", "full"], "full"),
        ("subject", ["shared", "full", "subject"], "full"),
    ],
)
def test_a_message_in_several_mailboxes_is_shown_once_as_the_most_open_allows(
    tenant_a, member, admin_of, client_for, own_sharing, copies, colleague_sees
):
    """The other mailboxes a message sits in are tested with EXISTS (no join, no DISTINCT): a message in
    several mailboxes is listed once, at the level of the most open one, on the record page and in the API."""
    from crm_apps.mail import selectors
    from crm_apps.mail.models import MailboxCopy, Message, MessageLink, Thread

    owner, colleague = member(tenant_a), member(tenant_a)
    with tenant_context(tenant_a):
        contact = record_create(spec=registry.get("contacts"), actor=admin_of(tenant_a), data={"last_name": "Copies"})
        own = Mailbox.objects.create(name="Own", kind=Mailbox.Kind.PERSONAL, owner=owner, sharing=own_sharing)
        message = Message.objects.create(
            thread=Thread.objects.create(subject="Copied"),
            direction="in",
            message_id=f"<copied-{own_sharing}-{len(copies)}@c.test>",
            subject="Copied around",
            body_text="Copied body",
            mailbox=own,
        )
        for i, sharing in enumerate(copies):
            kind = Mailbox.Kind.SHARED if sharing == "shared" else Mailbox.Kind.PERSONAL
            box = Mailbox.objects.create(
                name=f"Box {i}", kind=kind, owner=owner, sharing="private" if kind == "shared" else sharing
            )
            MailboxCopy.objects.create(mailbox=box, message=message)
        MessageLink.objects.create(message=message, module="contacts", record_id=contact.pk)
        panel = selectors.record_panel_messages(actor=colleague, module="contacts", record_id=contact.pk)
        api_list = selectors.record_messages(actor=colleague, module="contacts", record_id=contact.pk)

    page = client_for(tenant_a, colleague).get(f"/m/contacts/{contact.pk}/").content.decode()

    assert [(s.message.pk, s.level) for s in panel] == ([(message.pk, colleague_sees)] if colleague_sees else [])
    assert [(s.message.pk, s.level) for s in api_list or []] == [(s.message.pk, s.level) for s in panel]
    assert ("Copied around" in page) is (colleague_sees is not None)
    assert ("Copied body" in page) is (colleague_sees == "full")
