"""Keeping a message: once per workspace (by Message-ID), in its thread, linked to the records its
addresses match, its attachments as documents, and on those records' timelines."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q

from crm_apps.access.models import Member
from crm_apps.engine.models import TimelineEntry
from crm_apps.mail import matching
from crm_apps.mail.models import Attachment, Mailbox, MailboxCopy, Message, MessageLink, Thread
from crm_apps.mail.parsing import Parsed

log = logging.getLogger(__name__)

# Called with each newly stored message, inside the storing transaction, after its links are made: other
# apps act on received mail (the tickets app threads a customer's answer back into its ticket).
StoredListener = Callable[[Message], None]
_stored_listeners: list[StoredListener] = []


def stored_listener_add(listener: StoredListener) -> None:
    if listener not in _stored_listeners:
        _stored_listeners.append(listener)


def thread_for(*, message_id: str, in_reply_to: str, references: list[str], subject: str) -> Thread:
    """The thread of the message this one answers (In-Reply-To, then References newest first), or of a
    stored reply to this one; else a new thread."""
    parents = [p for p in [in_reply_to, *reversed(references)] if p]
    if parents:
        found = dict(Message.objects.filter(message_id__in=parents).values_list("message_id", "thread_id"))
        for parent in parents:
            if parent in found:
                return Thread.objects.get(pk=found[parent])
    child = Message.objects.filter(Q(in_reply_to=message_id)).values_list("thread_id", flat=True).first()
    if child is not None:
        return Thread.objects.get(pk=child)
    return Thread.objects.create(subject=subject[:500])


def timeline_note(*, message: Message, records: list[tuple[str, Any]], actor: Member | None) -> None:
    """A line on each record's timeline, unless the message is private (a personal mailbox that shares
    nothing: its owner finds it in the record's Emails panel)."""
    if not records or not shows_on_timeline(message):
        return
    arrow = "←" if message.direction == Message.Direction.INBOUND else "→"
    TimelineEntry.objects.bulk_create(
        [
            TimelineEntry(
                module=module,
                record_id=pk,
                kind=TimelineEntry.Kind.RELATED,
                actor=actor,
                created_at=message.date,
                data={
                    "module": module,
                    "id": str(pk),
                    "number": f"✉ {arrow}",
                    "label": f"{message.subject or '—'} ({message.from_address})",
                    "email": message.pk,
                },
            )
            for module, pk in records
        ]
    )


def shows_on_timeline(message: Message) -> bool:
    """Timelines are read by everyone who sees the record: only messages others may at least see the
    subject of go there."""
    mailboxes = [c.mailbox for c in message.copies.select_related("mailbox")]
    if message.mailbox is not None:
        mailboxes.append(message.mailbox)
    if not mailboxes:
        return True
    return any(m.kind == Mailbox.Kind.SHARED or m.sharing != Mailbox.Sharing.PRIVATE for m in mailboxes)


def links_add(*, message: Message, records: list[tuple[str, Any]], actor: Member | None) -> list[tuple[str, Any]]:
    """Link the message to records (once each); the (module, id) pairs that were new."""
    new = []
    for module, pk in records:
        _row, created = MessageLink.objects.get_or_create(message=message, module=module, record_id=pk)
        if created:
            new.append((module, pk))
    timeline_note(message=message, records=new, actor=actor)
    return new


def _attachments_store(*, message: Message, parsed: Parsed, actor: Member, records: list[tuple[str, Any]]) -> None:
    from crm_apps.modules.documents.services import Upload, document_create

    for item in parsed.attachments:
        try:
            with transaction.atomic():
                document = document_create(
                    actor=actor,
                    data={"title": item.file_name, "description": f"{message.subject}"[:500]},
                    upload=Upload(stream=io.BytesIO(item.payload), name=item.file_name, size=len(item.payload)),
                    links=records if shows_on_timeline(message) else [],
                )
        except (ValidationError, PermissionDenied) as exc:
            # A refused file type or a full plan: the message is kept, the file is not.
            log.info("attachment of message %s not stored: %s", message.pk, exc.__class__.__name__)
            continue
        Attachment.objects.create(
            message=message, document_id=document.pk, file_name=item.file_name[:255], size=len(item.payload)
        )


def message_store(
    *, parsed: Parsed, mailbox: Mailbox, uid: int | None, uidvalidity: int | None
) -> tuple[Message, bool]:
    """Keep a fetched message (once per workspace; a copy row per mailbox); (message, created)."""
    with transaction.atomic():
        existing = Message.objects.filter(message_id=parsed.message_id).first()
        if existing is None:
            try:
                with transaction.atomic():
                    message = _create(parsed=parsed, mailbox=mailbox)
                created = True
            except IntegrityError:  # another mailbox's sync stored it a moment ago
                message, created = Message.objects.get(message_id=parsed.message_id), False
        else:
            message, created = existing, False
        MailboxCopy.objects.update_or_create(
            mailbox=mailbox, message=message, defaults={"uid": uid, "uidvalidity": uidvalidity}
        )
        records = matching.records_for(message.addresses())
        links_add(message=message, records=records, actor=None)
        if created and parsed.bounce_of:
            from crm_apps.mail.campaigns import bounce_record

            bounce_record(original_message_id=parsed.bounce_of)
        if created and parsed.attachments:
            _attachments_store(message=message, parsed=parsed, actor=mailbox.owner, records=records)
        if created:
            for listener in _stored_listeners:
                listener(message)
    return message, created


def _create(*, parsed: Parsed, mailbox: Mailbox) -> Message:
    thread = thread_for(
        message_id=parsed.message_id,
        in_reply_to=parsed.in_reply_to,
        references=parsed.references,
        subject=parsed.subject,
    )
    outbound = parsed.from_address == mailbox.email_address.lower()
    message = Message.objects.create(
        thread=thread,
        direction=Message.Direction.OUTBOUND if outbound else Message.Direction.INBOUND,
        status=Message.Status.SENT if outbound else Message.Status.RECEIVED,
        message_id=parsed.message_id,
        in_reply_to=parsed.in_reply_to,
        references=" ".join(parsed.references),
        subject=parsed.subject,
        from_address=parsed.from_address,
        from_name=parsed.from_name,
        to=parsed.to,
        cc=parsed.cc,
        date=parsed.date,
        body_text=parsed.body_text,
        body_html=parsed.body_html,
    )
    if parsed.date > thread.last_message_at or thread.messages.count() == 1:
        Thread.objects.filter(pk=thread.pk).update(last_message_at=parsed.date)
    return message
