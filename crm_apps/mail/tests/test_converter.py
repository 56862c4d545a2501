"""The mail converter on a shared mailbox: ordered rules, actions, the log, moving on the server, and
exactly-once processing with two workers."""

from __future__ import annotations

import os
import threading
from typing import Any

from django_tenants.utils import tenant_context

from crm_apps.engine import registry
from crm_apps.engine.models import Comment
from crm_apps.engine.services import record_create
from crm_apps.mail.converter import message_convert
from crm_apps.mail.models import ConverterClaim, ConverterRule, Message
from crm_apps.mail.sync import mailbox_sync
from crm_apps.mail.tests.servers import raw_email


def _rule(mailbox: Any, position: int, **fields: Any) -> ConverterRule:
    return ConverterRule.objects.create(
        mailbox=mailbox, position=position, name=fields.pop("name", f"r{position}"), **fields
    )


def test_rules_run_in_order_on_sync_and_each_message_is_logged(tenant_a, admin_of, make_mailbox, dovecot, media_root):
    admin = admin_of(tenant_a)
    mailbox = make_mailbox(
        tenant_a, admin, user="support", kind="shared", converter_enabled=True, email_address="support@crm-mail.test"
    )
    with tenant_context(tenant_a):
        deal_org = record_create(spec=registry.get("organizations"), actor=admin, data={"name": "Numbered"})
        number = deal_org.number
        _rule(
            mailbox,
            1,
            field="subject",
            operator="regex",
            value=r"\b[A-Z]+-?\d+\b",
            action="comment_number",
            name="numbers",
        )
        _rule(
            mailbox,
            2,
            field="subject",
            operator="contains",
            value="pricing",
            action="create_lead",
            name="leads",
            move_to="Leads",
        )
        _rule(
            mailbox, 3, field="from", operator="equals", value="known@c.test", action="create_contact", name="contacts"
        )
    pid = os.getpid()
    folder = mailbox.imap_folder
    dovecot.append(
        "support",
        raw_email(
            subject=f"Question on {number}",
            sender="x@c.test",
            to="support@crm-mail.test",
            message_id=f"<c1.{pid}@c.test>",
            body="Body one",
        ),
        folder,
    )
    dovecot.append(
        "support",
        raw_email(
            subject="Pricing for 10 seats",
            sender="Pat Buyer <pat@buyer.test>",
            to="support@crm-mail.test",
            message_id=f"<c2.{pid}@c.test>",
        ),
        folder,
    )
    dovecot.append(
        "support",
        raw_email(subject="hello", sender="known@c.test", to="support@crm-mail.test", message_id=f"<c3.{pid}@c.test>"),
        folder,
    )
    dovecot.append(
        "support",
        raw_email(
            subject="nothing", sender="nobody@c.test", to="support@crm-mail.test", message_id=f"<c4.{pid}@c.test>"
        ),
        folder,
    )
    with tenant_context(tenant_a):
        assert mailbox_sync(mailbox_id=str(mailbox.pk)).stored == 4
        log = {
            c.message.message_id: c
            for c in ConverterClaim.objects.filter(mailbox=mailbox).select_related("message", "rule")
        }
        assert {k: (v.rule.name if v.rule else None, v.outcome) for k, v in log.items()} == {
            f"<c1.{pid}@c.test>": ("numbers", "done"),
            f"<c2.{pid}@c.test>": ("leads", "done"),
            f"<c3.{pid}@c.test>": ("contacts", "done"),
            f"<c4.{pid}@c.test>": (None, "no_rule"),
        }
        comment = Comment.objects.get(module="organizations", record_id=deal_org.pk)
        assert "Body one" in comment.body and log[f"<c1.{pid}@c.test>"].records == [f"organizations:{deal_org.pk}"]
        lead_ref = log[f"<c2.{pid}@c.test>"].records[0]
        lead = registry.get("leads").model.objects.get(pk=lead_ref.split(":")[1])
        assert (lead.first_name, lead.last_name, lead.email, lead.company) == (
            "Pat",
            "Buyer",
            "pat@buyer.test",
            "buyer.test",
        )
        contact_ref = log[f"<c3.{pid}@c.test>"].records[0]
        assert registry.get("contacts").model.objects.get(pk=contact_ref.split(":")[1]).email == "known@c.test"
        assert log[f"<c2.{pid}@c.test>"].detail == ""
    # the lead's message was moved to the "Leads" folder on the server
    assert len(dovecot.uids("support", "Leads")) >= 1
    assert len(dovecot.uids("support", folder)) == 3


def test_a_message_is_converted_once_even_by_two_workers(committed, dovecot, media_root, settings):
    from django.db import connections

    from conftest import make_user
    from crm_apps.access.models import Member
    from crm_apps.mail.mailboxes import mailbox_create
    from crm_apps.mail.models import Security
    from crm_apps.mail.parsing import parse
    from crm_apps.mail.store import message_store
    from crm_apps.mail.tests.servers import PASSWORD
    from tenants.services import tenant_provision

    settings.MAIL_ALLOW_PRIVATE = True
    tenant = tenant_provision(slug=committed.slug("mail"), name="Mail", admin=make_user(committed.email()))
    with tenant_context(tenant):
        admin = Member.objects.get(is_admin=True)
        mailbox = mailbox_create(
            actor=admin,
            data={
                "name": "Support",
                "kind": "shared",
                "email_address": "support@crm-mail.test",
                "imap_host": "127.0.0.1",
                "imap_port": dovecot.port,
                "imap_security": Security.NONE,
                "imap_username": "support",
                "imap_folder": "INBOX",
            },
            passwords={"imap_password": PASSWORD},
        )
        _rule(mailbox, 1, field="subject", operator="contains", value="demo", action="create_lead")
        raw = raw_email(
            subject="Book a demo",
            sender="Dee Lead <dee@race.test>",
            to="support@crm-mail.test",
            message_id=f"<race.{os.getpid()}@c.test>",
        )
        message, _created = message_store(parsed=parse(raw), mailbox=mailbox, uid=None, uidvalidity=None)
    barrier = threading.Barrier(2)
    results: list[Any] = []
    errors: list[BaseException] = []

    def worker() -> None:
        with tenant_context(tenant):
            barrier.wait()
            try:
                results.append(message_convert(mailbox=mailbox, message=Message.objects.get(pk=message.pk)))
            except BaseException as exc:  # reported by the assertion below
                errors.append(exc)
            finally:
                connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(r is None for r in results) == [False, True]
    with tenant_context(tenant):
        assert ConverterClaim.objects.filter(message_id=message.pk).count() == 1
        assert registry.get("leads").model.objects.filter(email="dee@race.test").count() == 1


def test_regex_rules_run_in_linear_time_and_refuse_what_re2_cannot_do():
    from crm_apps.mail.converter import rule_matches, rule_pattern

    nested = ConverterRule(field="subject", operator="regex", value=r"^(a+)+$")
    crafted = Message(subject="a" * 50_000 + "!")  # Python's re would backtrack here for longer than anyone waits

    assert rule_matches(nested, crafted) is False
    assert rule_matches(nested, Message(subject="aaaa")) is True
    assert rule_matches(
        ConverterRule(field="subject", operator="regex", value=r"invoice \d+"), Message(subject="INVOICE 7")
    )
    assert rule_pattern(r"(a)\1") is None  # back-references are not RE2
