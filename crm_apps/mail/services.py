"""Email writes: compose and send (now or later), retry, templates, and a lead or contact from an
unmatched message. Mailboxes are in mailboxes.py, storing fetched mail in store.py."""

from __future__ import annotations

import datetime as dt
import logging
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.access.privileges import Privilege
from crm_apps.engine import registry
from crm_apps.engine.selectors import access_record
from crm_apps.engine.services import record_create
from crm_apps.mail import html as mail_html
from crm_apps.mail import matching, merge, selectors
from crm_apps.mail.models import Attachment, Mailbox, Message, Template, Thread
from crm_apps.mail.parsing import format_address
from crm_apps.mail.store import links_add
from crm_apps.mail.transport import MailError, smtp_connect

log = logging.getLogger(__name__)
MAX_RECIPIENTS = 100


def _addresses(field: str, values: list[str]) -> list[str]:
    cleaned = []
    for raw in values or []:
        value = str(raw).strip().lower()
        if not value:
            continue
        try:
            validate_email(value)
        except ValidationError:
            raise ValidationError({field: [_("%(value)s is not an email address.") % {"value": raw}]}) from None
        if value not in cleaned:
            cleaned.append(value)
    if len(cleaned) > MAX_RECIPIENTS:
        raise ValidationError({field: [_("At most %(n)s addresses.") % {"n": MAX_RECIPIENTS}]})
    return cleaned


def related_records(*, actor: Member, refs: list[str]) -> list[tuple[Any, Any]]:
    """`module:id` references -> (spec, record) the actor may see; a ValidationError for any other."""
    found = []
    for ref in refs or []:
        module, _sep, record_id = str(ref).partition(":")
        try:
            spec = registry.get(module)
        except registry.UnknownModule:
            raise ValidationError({"related_to": [_("Unknown module in %(ref)s.") % {"ref": ref}]}) from None
        record = (
            access_record(spec=spec, actor=actor, record_id=record_id)
            if visibility.can_view_module(actor=actor, spec=spec)
            else None
        )
        if record is None:
            raise ValidationError({"related_to": [_("Choose an existing record: %(ref)s.") % {"ref": ref}]})
        found.append((spec, record))
    return found


def template_render(*, actor: Member, template: Template, spec: Any = None, record: Any = None) -> tuple[str, str, str]:
    """(subject, sanitised HTML, plain text) of a template for a record (or with no record)."""
    values = merge.record_values(spec=spec, record=record, actor=actor)
    subject = " ".join(merge.render(template.subject, values).split())
    body = mail_html.sanitize(merge.render(template.body_html, values, html=True))
    return subject, body, mail_html.to_text(body)


@transaction.atomic
def email_send(
    *,
    actor: Member,
    to: list[str],
    cc: list[str] | None = None,
    bcc: list[str] | None = None,
    subject: str = "",
    body_html: str = "",
    template_id: Any = None,
    related_to: list[str] | None = None,
    attachment_ids: list[Any] | None = None,
    send_at: dt.datetime | None = None,
    reply_to_id: Any = None,
    headers: dict[str, str] | None = None,
    deliver: bool = True,
) -> Message:
    """Compose a message from `actor` and queue it (at once, or at `send_at`): sanitised HTML with a
    plain-text alternative, documents the actor may see as attachments, linked to the related records
    and to every record its addresses match, in the thread it answers."""
    to_list, cc_list, bcc_list = _addresses("to", to), _addresses("cc", cc or []), _addresses("bcc", bcc or [])
    if not (to_list or cc_list or bcc_list):
        raise ValidationError({"to": [_("Add at least one recipient.")]})
    related = related_records(actor=actor, refs=related_to or [])
    if template_id not in (None, ""):
        template = selectors.access_template(actor=actor, template_id=template_id)
        if template is None:
            raise ValidationError({"template": [_("Choose an existing template.")]})
        spec, record = related[0] if related else (None, None)
        t_subject, t_body, _text = template_render(actor=actor, template=template, spec=spec, record=record)
        subject = subject or t_subject
        body_html = body_html or t_body
    else:
        template = None
    subject = " ".join((subject or "").split())[:500]
    if not subject:
        raise ValidationError({"subject": [_("Enter a subject.")]})
    body = mail_html.sanitize(body_html or "")
    mailbox = selectors.sending_mailbox(actor=actor)
    if mailbox is None:
        raise ValidationError(
            {"mailbox": [_("Set up your mailbox (or ask an administrator for a default one) before sending.")]}
        )
    documents = _documents(actor=actor, ids=attachment_ids or [])
    now = timezone.now()
    if send_at is not None and send_at < now - dt.timedelta(minutes=5):
        raise ValidationError({"send_at": [_("Choose a time in the future.")]})
    parent = None
    if reply_to_id not in (None, ""):
        shown = selectors.access_message(actor=actor, message_id=reply_to_id)
        if shown is None or not shown.full:
            raise ValidationError({"reply_to": [_("Choose a message you may read.")]})
        parent = shown.message
    domain = mailbox.email_address.rsplit("@", 1)[-1]
    message_id = make_msgid(domain=domain)
    references = [*parent.references.split(), parent.message_id][-50:] if parent else []
    thread = parent.thread if parent else Thread.objects.create(subject=subject)
    message = Message.objects.create(
        thread=thread,
        direction=Message.Direction.OUTBOUND,
        status=Message.Status.SCHEDULED if send_at and send_at > now else Message.Status.SENDING,
        message_id=message_id,
        in_reply_to=parent.message_id if parent else "",
        references=" ".join(references),
        subject=subject,
        from_address=mailbox.email_address.lower(),
        from_name=mailbox.display_name or (actor.user.name if mailbox.kind == Mailbox.Kind.PERSONAL else ""),
        to=to_list,
        cc=cc_list,
        bcc=bcc_list,
        date=send_at if send_at and send_at > now else now,
        body_html=body,
        body_text=mail_html.to_text(body),
        sender=actor,
        mailbox=mailbox,
        template=template,
        send_at=send_at,
        headers=headers or {},
    )
    Thread.objects.filter(pk=thread.pk).update(last_message_at=message.date)
    for document in documents:
        Attachment.objects.create(
            message=message, document_id=document.pk, file_name=document.file_name, size=document.file_size
        )
    refs = [(spec.key, record.pk) for spec, record in related]
    refs += [r for r in matching.records_for(to_list + cc_list + bcc_list) if r not in refs]
    links_add(message=message, records=refs, actor=actor)
    if message.status == Message.Status.SENDING and deliver:
        from crm_apps.mail.tasks import email_deliver_task

        transaction.on_commit(lambda: email_deliver_task.delay(message.pk))
    return message


def uploads_store(*, actor: Member, files: list[Any], related: list[tuple[str, Any]]) -> list[Any]:
    """Uploaded attachments kept as documents (linked to the related records); their ids."""
    from crm_apps.modules.documents.services import Upload, document_create

    ids = []
    for upload in files[:10]:
        document = document_create(
            actor=actor, data={}, upload=Upload(stream=upload, name=upload.name, size=upload.size), links=related
        )
        ids.append(document.pk)
    return ids


def _documents(*, actor: Member, ids: list[Any]) -> list[Any]:
    from crm_apps.modules.documents.selectors import access_document

    found = []
    for document_id in ids:
        document = access_document(actor=actor, document_id=document_id)
        if document is None or not document.file_name:
            raise ValidationError({"attachments": [_("Choose documents you may see.")]})
        found.append(document)
    return found


def build_mime(message: Message) -> EmailMessage:
    """The MIME message: plain text with an HTML alternative, then the attachments."""
    from crm_apps.modules.documents import files
    from crm_apps.modules.documents.models import Document

    # Headers are not folded into encoded words below 998 characters: a List-Unsubscribe URL must stay readable.
    mime = EmailMessage(policy=email_policy.SMTP.clone(max_line_length=998))
    mime["Subject"] = message.subject
    mime["From"] = format_address(message.from_address, message.from_name)
    if message.to:
        mime["To"] = ", ".join(message.to)
    if message.cc:
        mime["Cc"] = ", ".join(message.cc)
    mime["Date"] = format_datetime(message.sent_at or timezone.now())
    mime["Message-ID"] = message.message_id
    for name, value in (message.headers or {}).items():
        mime[name] = value
    if message.in_reply_to:
        mime["In-Reply-To"] = message.in_reply_to
    if message.references:
        mime["References"] = message.references
    mime.set_content(message.body_text or " ")
    mime.add_alternative(message.body_html or mail_html.from_text(message.body_text), subtype="html")
    for attachment in message.attachments.all():
        document = Document.objects.filter(pk=attachment.document_id).first()
        version = document.versions.order_by("-number").first() if document else None
        if version is None:
            continue
        with files.open_stored(version.storage_name) as fh:
            payload = fh.read()
        maintype, _sep, subtype = (version.content_type or "application/octet-stream").partition("/")
        mime.add_attachment(
            payload, maintype=maintype, subtype=subtype or "octet-stream", filename=attachment.file_name
        )
    return mime


def email_deliver(*, message_id: int) -> bool:
    """Send one queued message through its mailbox's SMTP server exactly once (the row is locked and
    marked); a failure is kept on the message, visible and retryable. True when sent."""
    with transaction.atomic():
        message = (
            Message.objects.select_for_update(skip_locked=True)
            .filter(pk=message_id, status__in=[Message.Status.SENDING, Message.Status.SCHEDULED])
            .first()
        )
        if message is None or message.mailbox_id is None:
            return False
        if message.status == Message.Status.SCHEDULED and message.send_at and message.send_at > timezone.now():
            return False
        message.attempts += 1
        mailbox = Mailbox.objects.get(pk=message.mailbox_id)
        message.sent_at = timezone.now()
        try:
            mime = build_mime(message)
            with smtp_connect(mailbox) as smtp:
                smtp.send_message(mime, from_addr=mailbox.email_address, to_addrs=message.to + message.cc + message.bcc)
        except MailError as exc:
            message.status, message.error = Message.Status.FAILED, exc.message
            message.sent_at = None
            message.save(update_fields=["status", "error", "attempts", "sent_at"])
            log.info("email %s not sent: %s", message.pk, exc.code)
            return False
        message.status, message.error, message.date = Message.Status.SENT, "", message.sent_at
        message.save(update_fields=["status", "error", "attempts", "sent_at", "date"])
    return True


@transaction.atomic
def email_retry(*, actor: Member, message_id: Any) -> Message:
    """Queue a failed message again (its sender, or an administrator for a shared mailbox's)."""
    shown = selectors.access_message(actor=actor, message_id=message_id)
    if shown is None or not shown.full:
        raise Message.DoesNotExist
    message = shown.message
    if message.sender_id != actor.pk and not visibility.has_privilege(actor=actor, privilege=Privilege.MANAGE_SETTINGS):
        raise PermissionDenied
    if message.status != Message.Status.FAILED:
        raise ValidationError({"status": [_("Only a failed message can be sent again.")]})
    Message.objects.filter(pk=message.pk).update(status=Message.Status.SENDING, error="", send_at=None)
    from crm_apps.mail.tasks import email_deliver_task

    transaction.on_commit(lambda: email_deliver_task.delay(message.pk))
    message.refresh_from_db()
    return message


def emails_send_due() -> int:
    """Deliver the scheduled messages whose time has come; how many were sent."""
    due = Message.objects.filter(status=Message.Status.SCHEDULED, send_at__lte=timezone.now()).values_list(
        "pk", flat=True
    )
    return sum(1 for pk in list(due[:200]) if email_deliver(message_id=pk))


def email_send_bulk(
    *, actor: Member, module: str, record_ids: list[Any], template_id: Any, send_at: dt.datetime | None = None
) -> dict[str, int]:
    """One message per selected record from a template, to the record's email; records that opted out
    (`email_opt_out`) or have no address are skipped. Counts of sent and skipped."""
    try:
        spec = registry.get(module)
    except registry.UnknownModule:
        raise ValidationError({"module": [_("Unknown module.")]}) from None
    names = matching.email_fields(spec)
    sent = skipped = 0
    for record_id in record_ids[:500]:
        record = access_record(spec=spec, actor=actor, record_id=record_id)
        address = next((str(getattr(record, n)) for n in names if record is not None and getattr(record, n, None)), "")
        if record is None or not address or getattr(record, "email_opt_out", False):  # opted out: never mailed
            skipped += 1
            continue
        email_send(
            actor=actor, to=[address], template_id=template_id, related_to=[f"{spec.key}:{record.pk}"], send_at=send_at
        )
        sent += 1
    return {"sent": sent, "skipped": skipped}


# --- Templates -------------------------------------------------------------------------------------

TEMPLATE_FIELDS = ("name", "module", "language", "subject", "body_html", "shared")


def _template_apply(template: Template, data: dict[str, Any]) -> None:
    for name in TEMPLATE_FIELDS:
        if name in data:
            setattr(template, name, data[name])
    if template.module:
        try:
            registry.get(template.module)
        except registry.UnknownModule:
            raise ValidationError({"module": [_("Unknown module.")]}) from None
    template.body_html = mail_html.sanitize(template.body_html or "")
    template.updated_at = timezone.now()
    try:
        template.full_clean(exclude=["owner"])
    except ValidationError as exc:
        raise ValidationError(exc.message_dict) from None


def template_create(*, actor: Member, data: dict[str, Any]) -> Template:
    """A template owned by `actor`; shared ones need the settings privilege."""
    template = Template(owner=actor)
    _template_apply(template, data)
    if template.shared and not visibility.has_privilege(actor=actor, privilege=Privilege.MANAGE_SETTINGS):
        raise ValidationError({"shared": [_("Only administrators share templates; keep it private.")]})
    template.save()
    return template


def _may_change(actor: Member, template: Template) -> bool:
    return template.owner_id == actor.pk or visibility.has_privilege(actor=actor, privilege=Privilege.MANAGE_SETTINGS)


def template_update(*, actor: Member, template: Template, data: dict[str, Any]) -> Template:
    if not _may_change(actor, template):
        raise PermissionDenied
    _template_apply(template, data)
    if template.shared and not visibility.has_privilege(actor=actor, privilege=Privilege.MANAGE_SETTINGS):
        raise ValidationError({"shared": [_("Only administrators share templates; keep it private.")]})
    template.save()
    return template


def template_delete(*, actor: Member, template: Template) -> None:
    if not _may_change(actor, template):
        raise PermissionDenied
    template.delete()


# --- From an unmatched message ----------------------------------------------------------------------


@transaction.atomic
def record_from_message(*, actor: Member, message_id: Any, module: str) -> Any:
    """A lead or contact made from a received message's sender (names from the display name), linked to
    the message and every other message from that address."""
    if module not in ("leads", "contacts"):
        raise ValidationError({"module": [_("Choose a lead or a contact.")]})
    shown = selectors.access_message(actor=actor, message_id=message_id)
    if shown is None:
        raise Message.DoesNotExist
    message = shown.message
    if not message.from_address:
        raise ValidationError({"from": [_("The message has no sender address.")]})
    spec = registry.get(module)
    name = (message.from_name or message.from_address.split("@")[0]).strip()
    first, _sep, last = name.rpartition(" ")
    data: dict[str, Any] = {"first_name": first, "last_name": last or name, "email": message.from_address}
    if module == "leads":
        data["company"] = message.from_address.rsplit("@", 1)[1]
    record = record_create(spec=spec, actor=actor, data=data)
    others = Message.objects.filter(from_address=message.from_address)
    for other in others:
        links_add(message=other, records=[(spec.key, record.pk)], actor=actor)
    return record


# --- Default templates -------------------------------------------------------------------------------

DEFAULT_TEMPLATES = (
    (
        gettext_noop("Follow-up after a call"),
        "contacts",
        gettext_noop("Following up, {{ contact.first_name }}"),
        gettext_noop(
            '<p>Dear {{ contact.first_name|default:"customer" }},</p><p>Thank you for your time today. As promised, '
            "here is a short summary of what we discussed.</p>"
            "<p>Best regards,<br>{{ sender.name }}<br>{{ company.name }}</p>"
        ),
    ),
    (
        gettext_noop("Meeting request"),
        "",
        gettext_noop("Could we meet next week?"),
        gettext_noop(
            '<p>Hello {{ record.first_name|default:"there" }},</p><p>Would you have half an hour next week to talk '
            "about your plans? Tell me a time that suits you.</p><p>{{ sender.name }}, {{ company.name }}</p>"
        ),
    ),
    (
        gettext_noop("Thank you for your interest"),
        "leads",
        gettext_noop("Thank you for your interest, {{ lead.first_name }}"),
        gettext_noop(
            '<p>Dear {{ lead.first_name|default:"customer" }},</p><p>Thank you for contacting {{ company.name }}. '
            "I will be your contact person and will get back to you shortly.</p><p>{{ sender.name }}</p>"
        ),
    ),
)


def default_templates_install(*, actor: Member) -> int:
    """The workspace's starter templates, shared, in English and Russian (once: skipped when any exists)."""
    from django.utils import translation

    if Template.objects.exists():
        return 0
    made = []
    for language in ("en", "ru"):
        with translation.override(language):
            for name, module, subject, body in DEFAULT_TEMPLATES:
                made.append(
                    Template(
                        name=f"{_(name)} ({language})",
                        module=module,
                        language=language,
                        subject=_(subject),
                        body_html=mail_html.sanitize(_(body)),
                        shared=True,
                        owner=actor,
                    )
                )
    Template.objects.bulk_create(made)
    return len(made)
