"""Serializers of the email API. Secrets are write-only: no response ever carries a password."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from crm_apps.mail.models import Mailbox, Message, Template
from crm_apps.mail.selectors import Shown


class MailboxSerializer(serializers.ModelSerializer[Mailbox]):
    imap_password = serializers.CharField(
        write_only=True, required=False, allow_blank=True, style={"input_type": "password"}
    )
    smtp_password = serializers.CharField(
        write_only=True, required=False, allow_blank=True, style={"input_type": "password"}
    )
    test = serializers.BooleanField(write_only=True, required=False, default=True)

    class Meta:
        model = Mailbox
        fields = [
            "id",
            "name",
            "kind",
            "sharing",
            "email_address",
            "display_name",
            "imap_host",
            "imap_port",
            "imap_security",
            "imap_username",
            "imap_folder",
            "smtp_host",
            "smtp_port",
            "smtp_security",
            "smtp_username",
            "is_default",
            "converter_enabled",
            "sync_enabled",
            "first_sync_days",
            "status",
            "imap_password",
            "smtp_password",
            "test",
        ]
        read_only_fields = ["id", "status"]


class MailboxStatusSerializer(serializers.ModelSerializer[Mailbox]):
    class Meta:
        model = Mailbox
        fields = [
            "id",
            "status",
            "last_sync_at",
            "last_success_at",
            "messages_fetched",
            "backlog",
            "last_error",
            "last_error_at",
            "failures",
            "uidvalidity",
            "last_uid",
        ]


class EmailSendSerializer(serializers.Serializer[Any]):
    to = serializers.ListField(child=serializers.CharField(max_length=320), required=False, default=list)
    cc = serializers.ListField(child=serializers.CharField(max_length=320), required=False, default=list)
    bcc = serializers.ListField(child=serializers.CharField(max_length=320), required=False, default=list)
    subject = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    body_html = serializers.CharField(max_length=500_000, required=False, allow_blank=True, default="")
    template = serializers.IntegerField(required=False, allow_null=True, default=None)
    related_to = serializers.ListField(
        child=serializers.CharField(max_length=120), required=False, default=list, help_text="module:record id"
    )
    attachments = serializers.ListField(child=serializers.UUIDField(), required=False, default=list)
    send_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    reply_to = serializers.IntegerField(required=False, allow_null=True, default=None)


class EmailSerializer(serializers.Serializer[Any]):
    """A message as the reader may see it: `visibility` "subject" leaves out the body and attachments."""

    id = serializers.IntegerField()
    thread = serializers.IntegerField()
    direction = serializers.CharField()
    status = serializers.CharField()
    visibility = serializers.CharField()
    subject = serializers.CharField()
    from_address = serializers.CharField()
    from_name = serializers.CharField()
    to = serializers.ListField(child=serializers.CharField())
    cc = serializers.ListField(child=serializers.CharField())
    date = serializers.DateTimeField()
    send_at = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField()
    body_html = serializers.CharField(allow_null=True)
    body_text = serializers.CharField(allow_null=True)
    attachments = serializers.ListField(child=serializers.DictField(), allow_null=True)

    def to_representation(self, instance: Shown) -> dict[str, Any]:
        m: Message = instance.message
        full = instance.full
        return {
            "id": m.pk,
            "thread": m.thread_id,
            "direction": m.direction,
            "status": m.status,
            "visibility": instance.level,
            "subject": m.subject,
            "from_address": m.from_address,
            "from_name": m.from_name,
            "to": m.to,
            "cc": m.cc,
            "date": serializers.DateTimeField().to_representation(m.date),
            "send_at": serializers.DateTimeField().to_representation(m.send_at) if m.send_at else None,
            "error": m.error if full else "",
            "body_html": m.body_html if full else None,
            "body_text": m.body_text if full else None,
            "attachments": [
                {"document": str(a.document_id), "file_name": a.file_name, "size": a.size} for a in m.attachments.all()
            ]
            if full
            else None,
        }


class TemplateSerializer(serializers.ModelSerializer[Template]):
    class Meta:
        model = Template
        fields = ["id", "name", "module", "language", "subject", "body_html", "shared", "owner", "updated_at"]
        read_only_fields = ["id", "owner", "updated_at"]


class RenderRequestSerializer(serializers.Serializer[Any]):
    record = serializers.CharField(max_length=120, required=False, allow_blank=True, default="", help_text="module:id")


class RenderResultSerializer(serializers.Serializer[Any]):
    subject = serializers.CharField()
    body_html = serializers.CharField()
    body_text = serializers.CharField()
