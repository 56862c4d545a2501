"""Sync against a real IMAP server (dovecot): from scratch, incrementally, UIDVALIDITY change, threads,
matching, attachments, failures and pausing."""

from __future__ import annotations

import os
from typing import Any

from django_tenants.utils import tenant_context

from crm_apps.engine import registry
from crm_apps.engine.models import TimelineEntry
from crm_apps.engine.services import record_create
from crm_apps.mail.models import Attachment, Mailbox, MailboxCopy, Message, MessageLink
from crm_apps.mail.sync import mailbox_sync
from crm_apps.mail.tests.servers import raw_email
from crm_apps.notifications.models import Notification


def _contact(tenant: Any, actor: Any, email: str, last: str = "Customer") -> Any:
    with tenant_context(tenant):
        return record_create(spec=registry.get("contacts"), actor=actor, data={"last_name": last, "email": email})


def _mid(name: str) -> str:
    return f"<{name}.{os.getpid()}@customer.test>"


def test_sync_from_scratch_then_incrementally_keeps_each_message_once(
    tenant_a, admin_of, make_mailbox, dovecot, media_root
):
    # given a mailbox with two messages on the server, one from a known contact
    admin = admin_of(tenant_a)
    contact = _contact(tenant_a, admin, "ann@customer.test", "Ann")
    mailbox = make_mailbox(tenant_a, admin)
    folder = mailbox.imap_folder
    dovecot.append(
        "alice",
        raw_email(
            subject="Quote please", sender="Ann <ann@customer.test>", to="alice@crm-mail.test", message_id=_mid("q1")
        ),
        folder,
    )
    dovecot.append(
        "alice",
        raw_email(subject="Newsletter", sender="news@elsewhere.test", to="alice@crm-mail.test", message_id=_mid("n1")),
        folder,
    )
    with tenant_context(tenant_a):
        # when it syncs for the first time
        first = mailbox_sync(mailbox_id=str(mailbox.pk))
        # then both are kept, the contact's is linked and on its timeline
        assert (first.fetched, first.stored, first.error) == (2, 2, "")
        mailbox.refresh_from_db()
        assert mailbox.last_uid == max(dovecot.uids("alice", folder))
        assert mailbox.uidvalidity is not None and mailbox.messages_fetched == 2 and mailbox.backlog == 0
        assert mailbox.last_success_at is not None and mailbox.failures == 0
        quote = Message.objects.get(message_id=_mid("q1"))
        assert list(MessageLink.objects.filter(message=quote).values_list("module", "record_id")) == [
            ("contacts", contact.pk)
        ]
        entry = TimelineEntry.objects.get(module="contacts", record_id=contact.pk, kind="related", data__email=quote.pk)
        assert "Quote please" in entry.data["label"]
        # when a third message arrives and it syncs again
        dovecot.append(
            "alice",
            raw_email(
                subject="Re: Quote please",
                sender="ann@customer.test",
                to="alice@crm-mail.test",
                message_id=_mid("q2"),
                in_reply_to=_mid("q1"),
            ),
            folder,
        )
        second = mailbox_sync(mailbox_id=str(mailbox.pk))
        # then only the new one is fetched, and it joins the thread of the message it answers
        assert (second.fetched, second.stored) == (1, 1)
        reply = Message.objects.get(message_id=_mid("q2"))
        assert reply.thread_id == quote.thread_id
        assert Message.objects.filter(message_id__in=[_mid("q1"), _mid("q2"), _mid("n1")]).count() == 3
        # and a sync with nothing new fetches nothing
        assert mailbox_sync(mailbox_id=str(mailbox.pk)).fetched == 0


def test_uidvalidity_change_resyncs_without_duplicates(tenant_a, admin_of, make_mailbox, dovecot, media_root):
    admin = admin_of(tenant_a)
    mailbox = make_mailbox(tenant_a, admin)
    folder = mailbox.imap_folder
    raw = raw_email(subject="Kept once", sender="x@customer.test", to="alice@crm-mail.test", message_id=_mid("v1"))
    dovecot.append("alice", raw, folder)
    with tenant_context(tenant_a):
        assert mailbox_sync(mailbox_id=str(mailbox.pk)).stored == 1
        before = Mailbox.objects.get(pk=mailbox.pk).uidvalidity
        # the server's folder is recreated (a new UIDVALIDITY) and the same message is there again
        dovecot.recreate("alice", folder)
        dovecot.append("alice", raw, folder)
        dovecot.append(
            "alice",
            raw_email(subject="New one", sender="x@customer.test", to="alice@crm-mail.test", message_id=_mid("v2")),
            folder,
        )
        result = mailbox_sync(mailbox_id=str(mailbox.pk))
        mailbox.refresh_from_db()
        assert mailbox.uidvalidity != before
        assert (result.fetched, result.stored) == (2, 1)
        assert Message.objects.filter(message_id=_mid("v1")).count() == 1
        assert (
            MailboxCopy.objects.get(mailbox=mailbox, message__message_id=_mid("v1")).uidvalidity == mailbox.uidvalidity
        )


def test_sync_in_batches_leaves_a_backlog_and_resumes(tenant_a, admin_of, make_mailbox, dovecot, settings, media_root):
    settings.MAIL_SYNC_BATCH = 2
    settings.MAIL_SYNC_MAX_PER_RUN = 3
    admin = admin_of(tenant_a)
    mailbox = make_mailbox(tenant_a, admin)
    for n in range(5):
        dovecot.append(
            "alice",
            raw_email(subject=f"B{n}", sender="b@customer.test", to="alice@crm-mail.test", message_id=_mid(f"b{n}")),
            mailbox.imap_folder,
        )
    with tenant_context(tenant_a):
        first = mailbox_sync(mailbox_id=str(mailbox.pk))
        assert (first.stored, Mailbox.objects.get(pk=mailbox.pk).backlog) == (3, 2)
        second = mailbox_sync(mailbox_id=str(mailbox.pk))
        assert (second.stored, Mailbox.objects.get(pk=mailbox.pk).backlog) == (2, 0)


def test_attachments_become_documents_and_organisations_match_by_domain(
    tenant_a, admin_of, make_mailbox, dovecot, media_root
):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        org = record_create(
            spec=registry.get("organizations"),
            actor=admin,
            data={"name": "Globex", "website": "https://www.globex-corp.test"},
        )
    mailbox = make_mailbox(tenant_a, admin)
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    dovecot.append(
        "alice",
        raw_email(
            subject="Contract",
            sender="legal@globex-corp.test",
            to="alice@crm-mail.test",
            message_id=_mid("a1"),
            attachment=("contract.pdf", pdf),
        ),
        mailbox.imap_folder,
    )
    with tenant_context(tenant_a):
        mailbox_sync(mailbox_id=str(mailbox.pk))
        message = Message.objects.get(message_id=_mid("a1"))
        assert [(a.file_name, a.size) for a in Attachment.objects.filter(message=message)] == [
            ("contract.pdf", len(pdf))
        ]
        assert list(message.links.values_list("module", "record_id")) == [("organizations", org.pk)]


def test_members_addresses_never_match_records(tenant_a, admin_of, make_mailbox, dovecot, media_root):
    admin = admin_of(tenant_a)
    _contact(tenant_a, admin, admin.user.email, "Same address as a member")
    mailbox = make_mailbox(tenant_a, admin)
    dovecot.append(
        "alice",
        raw_email(subject="Internal", sender=admin.user.email, to="alice@crm-mail.test", message_id=_mid("m1")),
        mailbox.imap_folder,
    )
    with tenant_context(tenant_a):
        mailbox_sync(mailbox_id=str(mailbox.pk))
        assert not MessageLink.objects.filter(message__message_id=_mid("m1")).exists()


def test_failing_mailbox_is_paused_and_its_owner_notified(tenant_a, member, make_mailbox, dovecot, settings):
    settings.MAIL_SYNC_MAX_FAILURES = 2
    owner = member(tenant_a)
    mailbox = make_mailbox(tenant_a, owner)
    with tenant_context(tenant_a):
        Mailbox.objects.filter(pk=mailbox.pk).update(imap_port=1)  # nothing listens there
        first = mailbox_sync(mailbox_id=str(mailbox.pk))
        mailbox.refresh_from_db()
        assert "cannot be reached" in first.error and mailbox.status == Mailbox.Status.ACTIVE and mailbox.failures == 1
        assert mailbox.last_error_at is not None
        mailbox_sync(mailbox_id=str(mailbox.pk))
        mailbox.refresh_from_db()
        assert mailbox.status == Mailbox.Status.PAUSED
        assert Notification.objects.filter(recipient=owner, kind="mailbox_paused", record_id=mailbox.pk).count() == 1
        # a paused mailbox is not polled
        assert (
            mailbox_sync(mailbox_id=str(mailbox.pk)).fetched == 0 and Mailbox.objects.get(pk=mailbox.pk).failures == 2
        )
