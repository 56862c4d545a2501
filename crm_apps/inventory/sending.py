"""Email a document's PDF from the record (Django's mail backend), logged on the document's timeline and in
the audit trail. The request only checks and records: a Celery task renders the PDF and talks to the SMTP
server, and tells the sender when that fails. A member may send at most `INVENTORY_SENDS_PER_HOUR` PDFs an
hour (a counter in the tenant-prefixed cache, failing open when the cache is down)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.audit import services as audit
from crm_apps.engine.models import TimelineEntry
from crm_apps.engine.spec import ModuleSpec
from crm_apps.inventory.pdf import pdf_filename, pdf_for
from saas.throttle import throttle_exceeded, throttle_hit

MAX_RECIPIENTS = 10
SENDS_PER_HOUR = 30


def _send_key(actor: Member) -> str:
    return f"inventory-pdf-sends:{actor.pk}"


def default_recipient(record: Any) -> str:
    contact = record.contact if getattr(record, "contact_id", None) else None
    if contact is not None and contact.email:
        return str(contact.email)
    vendor = record.vendor if getattr(record, "vendor_id", None) else None
    return str(vendor.email or "") if vendor is not None else ""


def document_send(
    *, spec: ModuleSpec, record: Any, actor: Member, to: Any, subject: str, message: str, language: str
) -> list[str]:
    """Send the PDF to the addresses in `to` (a list or a comma-separated string) after commit."""
    if not visibility.can_edit(actor=actor, spec=spec, record=record):
        raise PermissionDenied
    raw = to if isinstance(to, list) else str(to or "").replace(";", ",").split(",")
    recipients = [str(a).strip() for a in raw if str(a).strip()]
    errors: dict[str, list[str]] = {}
    if not recipients:
        errors["to"] = [_("Enter at least one email address.")]
    elif len(recipients) > MAX_RECIPIENTS:
        errors["to"] = [_("At most %(n)d recipients.") % {"n": MAX_RECIPIENTS}]
    else:
        for address in recipients:
            try:
                validate_email(address)
            except ValidationError:
                errors["to"] = [_("“%(address)s” is not an email address.") % {"address": address[:100]}]
                break
    subject = (subject or "").strip()
    if not subject:
        errors["subject"] = [_("This field is required.")]
    elif len(subject) > 200 or "\n" in subject or "\r" in subject:
        errors["subject"] = [_("Use one line of at most 200 characters.")]
    if len(message or "") > 20_000:
        errors["message"] = [_("At most 20,000 characters.")]
    limit = int(getattr(settings, "INVENTORY_SENDS_PER_HOUR", SENDS_PER_HOUR))
    if not errors and throttle_exceeded([_send_key(actor)], limit=limit):
        errors["to"] = [_("You have sent %(n)d documents in the last hour; try again later.") % {"n": limit}]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        TimelineEntry.objects.create(
            module=spec.key,
            record_id=record.pk,
            kind=TimelineEntry.Kind.UPDATED,
            actor=actor,
            data={"changes": {"emailed_to": ["", ", ".join(recipients)]}},
        )
        audit.audit_log(
            action=audit.RECORD_UPDATED,
            actor=actor,
            module=spec.key,
            record_id=record.pk,
            record_label=str(record),
            details={"emailed_pdf": {"to": recipients, "subject": subject}},
        )
        throttle_hit([_send_key(actor)], window=3600)
        job = {
            "module": spec.key,
            "record_id": str(record.pk),
            "actor_id": actor.pk,
            "recipients": recipients,
            "subject": subject,
            "message": message or "",
            "language": language,
        }
        from crm_apps.inventory.tasks import document_send_task

        transaction.on_commit(lambda: document_send_task.delay(**job))
    return recipients


def document_deliver(
    *, spec: ModuleSpec, record: Any, actor: Member, recipients: list[str], subject: str, message: str, language: str
) -> None:
    """Render the PDF as `actor` sees it and hand the message to the mail backend (raises on failure)."""
    pdf = pdf_for(spec=spec, record=record, actor=actor, language=language)
    email = EmailMessage(
        subject=subject,
        body=message,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
        reply_to=[actor.user.email] if actor.user.email else None,
    )
    email.attach(pdf_filename(record), pdf, "application/pdf")
    email.send(fail_silently=False)
