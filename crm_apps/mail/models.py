"""Email: mailboxes (IMAP in, SMTP out), messages stored once per tenant and threaded, their links to
records, templates, and the mail converter's rules and claims. README.md beside this file explains the
rules; docs/email.md how to use it."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm_apps.engine.models import RecordLink


class Security(models.TextChoices):
    SSL = "ssl", _("SSL/TLS")
    STARTTLS = "starttls", _("STARTTLS")
    # Unencrypted: only where private hosts are allowed (development and tests).
    NONE = "none", _("None (development only)")


class Mailbox(models.Model):
    """One email account: a member's own, or one the workspace shares (support@)."""

    class Kind(models.TextChoices):
        PERSONAL = "personal", _("Personal")
        SHARED = "shared", _("Shared")

    class Sharing(models.TextChoices):
        PRIVATE = "private", _("Private: only me")
        SUBJECT = "subject", _("Others see subject and people only")
        FULL = "full", _("Others see everything")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")

    class Credential(models.TextChoices):
        PASSWORD = "password", _("Password")
        # OAuth providers plug in as a token source (crm_apps/mail/tokens.py); none exists yet.

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.PERSONAL)
    # The member a personal mailbox belongs to; for a shared one, who set it up.
    owner = models.ForeignKey("access.Member", on_delete=models.PROTECT, related_name="+", verbose_name=_("owner"))
    sharing = models.CharField(_("sharing"), max_length=10, choices=Sharing.choices, default=Sharing.SUBJECT)
    email_address = models.EmailField(_("email address"))
    display_name = models.CharField(_("sender name"), max_length=100, blank=True)

    imap_host = models.CharField(_("IMAP host"), max_length=255, blank=True)
    imap_port = models.PositiveIntegerField(_("IMAP port"), default=993)
    imap_security = models.CharField(_("IMAP security"), max_length=10, choices=Security.choices, default=Security.SSL)
    imap_username = models.CharField(_("IMAP user name"), max_length=255, blank=True)
    imap_folder = models.CharField(_("folder"), max_length=200, default="INBOX")
    smtp_host = models.CharField(_("SMTP host"), max_length=255, blank=True)
    smtp_port = models.PositiveIntegerField(_("SMTP port"), default=587)
    smtp_security = models.CharField(
        _("SMTP security"), max_length=10, choices=Security.choices, default=Security.STARTTLS
    )
    smtp_username = models.CharField(_("SMTP user name"), max_length=255, blank=True)
    credential_kind = models.CharField(max_length=20, choices=Credential.choices, default=Credential.PASSWORD)
    # Fernet token (crm_apps/mail/crypto.py) of {"imap_password": ..., "smtp_password": ...}: never shown.
    secret = models.TextField(blank=True, default="", editable=False)

    # Shared mailboxes only: the workspace's default sender, and the mail converter.
    is_default = models.BooleanField(_("default for sending"), default=False)
    converter_enabled = models.BooleanField(_("mail converter"), default=False)

    sync_enabled = models.BooleanField(_("sync incoming mail"), default=True)
    first_sync_days = models.PositiveIntegerField(_("first sync: days back"), default=30)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    uidvalidity = models.BigIntegerField(null=True, blank=True)
    last_uid = models.BigIntegerField(default=0)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    messages_fetched = models.PositiveIntegerField(default=0)
    backlog = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    last_error_at = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True), name="mailbox_one_default"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email_address}>"


class Thread(models.Model):
    """Messages that answer each other (Message-ID / In-Reply-To / References)."""

    subject = models.CharField(max_length=500, blank=True)
    last_message_at = models.DateTimeField(default=timezone.now, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.subject


class Message(models.Model):
    """One email, stored once per workspace (keyed by its Message-ID), received or sent."""

    class Direction(models.TextChoices):
        INBOUND = "in", _("Received")
        OUTBOUND = "out", _("Sent")

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        SCHEDULED = "scheduled", _("Scheduled")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(max_length=3, choices=Direction.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    message_id = models.CharField(max_length=500)
    in_reply_to = models.CharField(max_length=500, blank=True, default="")
    references = models.TextField(blank=True, default="")
    subject = models.CharField(max_length=500, blank=True, default="")
    from_address = models.EmailField(max_length=320, blank=True, default="")
    from_name = models.CharField(max_length=200, blank=True, default="")
    to = models.JSONField(default=list, blank=True)
    cc = models.JSONField(default=list, blank=True)
    bcc = models.JSONField(default=list, blank=True)
    date = models.DateTimeField(default=timezone.now, db_index=True)
    body_text = models.TextField(blank=True, default="")
    # Sanitised with nh3 (crm_apps/mail/html.py) before it is stored: safe to render.
    body_html = models.TextField(blank=True, default="")
    # Outgoing: who sends it, through which mailbox, when; failures and retries.
    sender = models.ForeignKey("access.Member", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    mailbox = models.ForeignKey(Mailbox, null=True, blank=True, on_delete=models.SET_NULL, related_name="sent")
    template = models.ForeignKey("mail.Template", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    send_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Extra MIME headers of an outgoing message (a campaign's List-Unsubscribe and List-Unsubscribe-Post).
    headers = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, default="")
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["date", "id"]
        constraints = [models.UniqueConstraint(fields=["message_id"], name="mail_message_once")]
        indexes = [
            models.Index(fields=["status", "send_at"], name="mail_message_due"),
            models.Index(fields=["thread", "date"], name="mail_message_thread"),
        ]

    def __str__(self) -> str:
        return self.subject or str(_("(no subject)"))

    def addresses(self) -> set[str]:
        return {a.lower() for a in [self.from_address, *self.to, *self.cc, *self.bcc] if a}


class MailboxCopy(models.Model):
    """Where a message sits on a mailbox's server (one message may be in several mailboxes)."""

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="copies")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="copies")
    uidvalidity = models.BigIntegerField(null=True, blank=True)
    uid = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["mailbox", "message"], name="mail_copy_once")]

    def __str__(self) -> str:
        return f"{self.mailbox_id}:{self.uid}"


class MessageLink(RecordLink):
    """A message on a record's page: matched by address, or linked by hand, the converter or a send."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="links")

    class Meta(RecordLink.Meta):
        constraints = [models.UniqueConstraint(fields=["message", "module", "record_id"], name="mail_link_once")]


class Attachment(models.Model):
    """A file of a message, kept as a document (crm_apps/modules/documents)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    document_id = models.UUIDField()
    file_name = models.CharField(max_length=255)
    size = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.file_name


class Template(models.Model):
    """A reusable email with merge fields ({{ contact.first_name }}), for one module or any."""

    name = models.CharField(_("name"), max_length=150)
    module = models.CharField(_("module"), max_length=64, blank=True, default="")
    language = models.CharField(_("language"), max_length=8, blank=True, default="")
    subject = models.CharField(_("subject"), max_length=500)
    body_html = models.TextField(_("body"))
    shared = models.BooleanField(_("shared with everyone"), default=True)
    owner = models.ForeignKey("access.Member", on_delete=models.CASCADE, related_name="+", verbose_name=_("owner"))
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class ConverterRule(models.Model):
    """One rule of a shared mailbox's mail converter (vtiger's Mail Scanner), tried in `position` order."""

    class Field(models.TextChoices):
        FROM = "from", _("From")
        TO = "to", _("To")
        SUBJECT = "subject", _("Subject")
        BODY = "body", _("Body")

    class Operator(models.TextChoices):
        CONTAINS = "contains", _("contains")
        EQUALS = "equals", _("equals")
        REGEX = "regex", _("matches the pattern")

    class Action(models.TextChoices):
        CREATE_LEAD = "create_lead", _("Create a lead")
        CREATE_CONTACT = "create_contact", _("Create a contact")
        COMMENT_NUMBER = "comment_number", _("Comment on the record whose number is in the subject")
        LINK = "link", _("Link to the matching records")
        # The support module (crm_apps/modules/tickets): a new ticket from the message, unless the message
        # answers a ticket already (its thread, or "[TT12]" from the ticket's contact), which it joins.
        CREATE_TICKET = "create_ticket", _("Create a ticket (or add to the ticket it answers)")

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="rules")
    position = models.PositiveIntegerField(default=0)
    name = models.CharField(_("name"), max_length=100)
    field = models.CharField(_("field"), max_length=10, choices=Field.choices)
    operator = models.CharField(_("condition"), max_length=10, choices=Operator.choices)
    value = models.CharField(_("value"), max_length=300)
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    # Move the message to this server folder afterwards (empty: leave it).
    move_to = models.CharField(_("move to folder"), max_length=200, blank=True, default="")
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class ConverterClaim(models.Model):
    """The converter's log and claim: one row per (mailbox, message), inserted before processing, so a
    second worker that fetched the same message finds it taken and does nothing."""

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="claims")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="claims")
    rule = models.ForeignKey(ConverterRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    outcome = models.CharField(max_length=20, default="claimed")
    records = models.JSONField(default=list, blank=True)
    detail = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["mailbox", "message"], name="mail_claim_once")]

    def __str__(self) -> str:
        return f"{self.message_id}: {self.outcome}"


class CampaignSend(models.Model):
    """A template sent to a campaign's members: one recipient row each, sent in batches at the plan's rate."""

    class Status(models.TextChoices):
        SENDING = "sending", _("Sending")
        DONE = "done", _("Done")

    campaign_id = models.UUIDField(db_index=True)
    template = models.ForeignKey(Template, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SENDING)
    created_by = models.ForeignKey("access.Member", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    # Open and click tracking are off by default (and not built yet): statuses come from sends, bounces
    # and unsubscribes.
    tracking = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.campaign_id}: {self.template_id}"


class CampaignRecipient(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        BOUNCED = "bounced", _("Bounced")
        OPENED = "opened", _("Opened")
        CLICKED = "clicked", _("Clicked")
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
        SKIPPED = "skipped", _("Skipped (opted out or no address)")
        FAILED = "failed", _("Failed")

    send = models.ForeignKey(CampaignSend, on_delete=models.CASCADE, related_name="recipients")
    module = models.CharField(max_length=64)
    record_id = models.UUIDField()
    email = models.EmailField(max_length=320, blank=True)
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.QUEUED)
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The secret of the one-click unsubscribe link (RFC 8058).
    token = models.CharField(max_length=64, unique=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["send", "status"], name="mail_recipient_status")]

    def __str__(self) -> str:
        return f"{self.email}: {self.status}"
