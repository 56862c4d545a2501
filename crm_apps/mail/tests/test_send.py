"""Sending through a real SMTP server (aiosmtpd sink): MIME parts, attachments, threading headers,
scheduled sends, failures and retry, opt-out in bulk sends."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_tenants.utils import tenant_context

from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from crm_apps.mail import services
from crm_apps.mail.models import Mailbox, Message, MessageLink, Template


def _contact(actor: Any, email: str, **extra: Any) -> Any:
    return record_create(
        spec=registry.get("contacts"),
        actor=actor,
        data={"last_name": "Stone", "first_name": "Ann", "email": email, **extra},
    )


def test_send_with_attachment_reaches_the_sink_as_multipart(
    tenant_a, admin_of, make_mailbox, sink, media_root, django_capture_on_commit_callbacks
):
    admin = admin_of(tenant_a)
    make_mailbox(tenant_a, admin, smtp_port=sink.port)
    with tenant_context(tenant_a):
        from crm_apps.modules.documents.services import Upload, document_create

        contact = _contact(admin, "ann@customer.test")
        pdf = b"%PDF-1.4\n%%EOF\n"
        document = document_create(
            actor=admin, data={"title": "Price list"}, upload=Upload(io.BytesIO(pdf), "prices.pdf", len(pdf))
        )
        with django_capture_on_commit_callbacks(execute=True):
            message = services.email_send(
                actor=admin,
                to=["ann@customer.test"],
                cc=["boss@customer.test"],
                bcc=["archive@crm-mail.test"],
                subject="Your prices",
                body_html='<p onclick="x()">Hello <b>Ann</b><script>alert(1)</script></p>',
                related_to=[f"contacts:{contact.pk}"],
                attachment_ids=[document.pk],
            )
        message.refresh_from_db()
        assert (message.status, message.attempts, message.error) == (Message.Status.SENT, 1, "")
        assert MessageLink.objects.filter(message=message, module="contacts", record_id=contact.pk).count() == 1
    [received] = sink.received
    assert sorted(received["to"]) == ["ann@customer.test", "archive@crm-mail.test", "boss@customer.test"]
    [mime] = sink.messages()
    assert mime["Subject"] == "Your prices" and mime["Message-ID"] == message.message_id
    assert "Bcc" not in mime and mime["Cc"] == "boss@customer.test"
    parts = {p.get_content_type(): p for p in mime.walk() if not p.is_multipart()}
    assert set(parts) == {"text/plain", "text/html", "application/pdf"}
    assert parts["text/plain"].get_payload(decode=True).decode().strip() == "Hello Ann"
    html = parts["text/html"].get_payload(decode=True).decode()
    assert "<b>Ann</b>" in html and "script" not in html and "onclick" not in html
    assert parts["application/pdf"].get_filename() == "prices.pdf"
    assert parts["application/pdf"].get_payload(decode=True) == pdf


def test_reply_carries_thread_headers_and_joins_the_thread(
    tenant_a, admin_of, make_mailbox, sink, django_capture_on_commit_callbacks
):
    admin = admin_of(tenant_a)
    make_mailbox(tenant_a, admin, smtp_port=sink.port)
    with tenant_context(tenant_a), django_capture_on_commit_callbacks(execute=True):
        first = services.email_send(actor=admin, to=["ann@customer.test"], subject="Hello", body_html="<p>1</p>")
        reply = services.email_send(
            actor=admin, to=["ann@customer.test"], subject="Re: Hello", body_html="<p>2</p>", reply_to_id=first.pk
        )
    assert reply.thread_id == first.thread_id
    second = sink.messages()[1]
    assert second["In-Reply-To"] == first.message_id and second["References"] == first.message_id


def test_scheduled_send_waits_for_its_time(tenant_a, admin_of, make_mailbox, sink, django_capture_on_commit_callbacks):
    admin = admin_of(tenant_a)
    make_mailbox(tenant_a, admin, smtp_port=sink.port)
    with tenant_context(tenant_a):
        later = timezone.now() + dt.timedelta(hours=1)
        with django_capture_on_commit_callbacks(execute=True):
            message = services.email_send(
                actor=admin, to=["ann@customer.test"], subject="Later", body_html="x", send_at=later
            )
        assert message.status == Message.Status.SCHEDULED and services.emails_send_due() == 0 and sink.received == []
        Message.objects.filter(pk=message.pk).update(send_at=timezone.now() - dt.timedelta(seconds=1))
        assert services.emails_send_due() == 1
        assert Message.objects.get(pk=message.pk).status == Message.Status.SENT
    assert len(sink.received) == 1


def test_failed_send_is_kept_visible_and_can_be_retried(
    tenant_a, admin_of, make_mailbox, sink, django_capture_on_commit_callbacks
):
    admin = admin_of(tenant_a)
    mailbox = make_mailbox(tenant_a, admin, smtp_port=sink.port)
    with tenant_context(tenant_a):
        Mailbox.objects.filter(pk=mailbox.pk).update(smtp_port=1)  # nothing listens there
        with django_capture_on_commit_callbacks(execute=True):
            message = services.email_send(actor=admin, to=["ann@customer.test"], subject="Oops", body_html="x")
        message.refresh_from_db()
        assert message.status == Message.Status.FAILED and "cannot be reached" in message.error
        Mailbox.objects.filter(pk=mailbox.pk).update(smtp_port=sink.port)
        with django_capture_on_commit_callbacks(execute=True):
            services.email_retry(actor=admin, message_id=message.pk)
        message.refresh_from_db()
        assert (message.status, message.attempts) == (Message.Status.SENT, 2)
        with pytest.raises(ValidationError):
            services.email_retry(actor=admin, message_id=message.pk)
    assert len(sink.received) == 1


def test_bulk_send_from_a_template_skips_opted_out_records(
    tenant_a, admin_of, make_mailbox, sink, django_capture_on_commit_callbacks
):
    admin = admin_of(tenant_a)
    make_mailbox(tenant_a, admin, smtp_port=sink.port)
    with tenant_context(tenant_a):
        keen = _contact(admin, "keen@customer.test", first_name="Kim")
        out = _contact(admin, "out@customer.test", email_opt_out=True)
        none = record_create(spec=registry.get("contacts"), actor=admin, data={"last_name": "No address"})
        template = Template.objects.create(
            name="Hi",
            subject="Hi {{ contact.first_name }}",
            body_html="<p>Dear {{ contact.first_name }}</p>",
            owner=admin,
        )
        with django_capture_on_commit_callbacks(execute=True):
            counts = services.email_send_bulk(
                actor=admin, module="contacts", record_ids=[keen.pk, out.pk, none.pk], template_id=template.pk
            )
    assert counts == {"sent": 1, "skipped": 2}
    [mime] = sink.messages()
    assert mime["To"] == "keen@customer.test" and mime["Subject"] == "Hi Kim"


def test_bad_input_is_a_field_error_and_writes_nothing(tenant_a, admin_of, make_mailbox, sink):
    admin = admin_of(tenant_a)
    make_mailbox(tenant_a, admin, smtp_port=sink.port)
    with tenant_context(tenant_a):
        before = Message.objects.count()
        cases: tuple[tuple[dict[str, Any], str], ...] = (
            ({"to": ["not-an-address"], "subject": "x"}, "to"),
            ({"to": [], "subject": "x"}, "to"),
            ({"to": ["a@b.test"], "subject": ""}, "subject"),
            (
                {"to": ["a@b.test"], "subject": "x", "related_to": ["contacts:00000000-0000-0000-0000-000000000000"]},
                "related_to",
            ),
            (
                {"to": ["a@b.test"], "subject": "x", "attachment_ids": ["00000000-0000-0000-0000-000000000000"]},
                "attachments",
            ),
        )
        for kwargs, field in cases:
            with pytest.raises(ValidationError) as caught:
                services.email_send(actor=admin, **kwargs)
            assert field in caught.value.message_dict
        assert Message.objects.count() == before


def test_without_a_mailbox_sending_is_refused_clearly(tenant_a, member):
    someone = member(tenant_a)
    with tenant_context(tenant_a), pytest.raises(ValidationError) as caught:
        services.email_send(actor=someone, to=["a@b.test"], subject="x")
    assert "mailbox" in caught.value.message_dict
