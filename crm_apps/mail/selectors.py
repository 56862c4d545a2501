"""Reads of email, always scoped to what the reader may see.

Who sees a message (`message_access`): its sender; the owner of a personal mailbox it is in; every member
for a shared mailbox's messages; other members as the personal mailbox's sharing says ("subject": the
subject, date and people, not the body or files; "private": nothing). On a record, a reader sees the
messages linked to that record only if they may see the record itself (the engine's visibility filter,
`access_record`). The most open of a message's mailboxes wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from crm_apps.access.models import Member
from crm_apps.engine import registry
from crm_apps.engine.selectors import access_record
from crm_apps.mail.models import Mailbox, MailboxCopy, Message, MessageLink, Template

FULL = "full"
SUBJECT = "subject"


def _open_mailbox_q(*, actor: Member, prefix: str = "") -> Q:
    """A mailbox (reached through `prefix`) that lets `actor` see at least a message's subject."""
    return (
        Q(**{f"{prefix}kind": Mailbox.Kind.SHARED})
        | Q(**{f"{prefix}owner": actor, f"{prefix}kind": Mailbox.Kind.PERSONAL})
        | Q(**{f"{prefix}sharing__in": [Mailbox.Sharing.SUBJECT, Mailbox.Sharing.FULL]})
    )


def visible_q(*, actor: Member) -> Q:
    """Messages `actor` may at least see the subject of. The other mailboxes a message sits in are
    tested with EXISTS, not joined, so the condition never repeats a message (no DISTINCT needed)."""
    copies = MailboxCopy.objects.filter(message=OuterRef("pk"))
    return (
        Q(sender=actor)
        | _open_mailbox_q(actor=actor, prefix="mailbox__")
        | Exists(copies.filter(_open_mailbox_q(actor=actor, prefix="mailbox__")))
        | (Q(mailbox__isnull=True) & ~Exists(copies) & Q(sender__isnull=True))
    )


def message_access(*, actor: Member, message: Message) -> str | None:
    """FULL, SUBJECT or None (see the module docstring). Uses prefetched copies when present."""
    if message.sender_id == actor.pk:
        return FULL
    mailboxes = [c.mailbox for c in message.copies.all()]
    if message.mailbox is not None:
        mailboxes.append(message.mailbox)
    if not mailboxes:
        return FULL if message.sender_id is None else None
    level = None
    for mailbox in mailboxes:
        if mailbox.kind == Mailbox.Kind.SHARED or mailbox.owner_id == actor.pk:
            return FULL
        if mailbox.sharing == Mailbox.Sharing.FULL:
            return FULL
        if mailbox.sharing == Mailbox.Sharing.SUBJECT:
            level = SUBJECT
    return level


def _messages() -> QuerySet[Message]:
    return Message.objects.select_related("mailbox", "sender__user").prefetch_related(
        Prefetch("copies", queryset=MailboxCopy.objects.select_related("mailbox")), "attachments"
    )


@dataclass
class Shown:
    message: Message
    level: str

    @property
    def full(self) -> bool:
        return self.level == FULL


def access_message(*, actor: Member, message_id: Any) -> Shown | None:
    """One message as `actor` may see it; None for missing and forbidden alike."""
    try:
        message = _messages().filter(visible_q(actor=actor)).distinct().get(pk=int(message_id))
    except (Message.DoesNotExist, ValueError, TypeError):
        return None
    level = message_access(actor=actor, message=message)
    return Shown(message, level) if level else None


def record_messages(*, actor: Member, module: str, record_id: Any, limit: int = 100) -> list[Shown] | None:
    """The messages linked to a record, newest first, as `actor` may see them; None when the record is
    not visible to `actor` (or does not exist)."""
    try:
        spec = registry.get(module)
    except registry.UnknownModule:
        return None
    record = access_record(spec=spec, actor=actor, record_id=record_id)
    if record is None:
        return None
    return messages_of_visible_record(actor=actor, module=spec.key, record_id=record.pk, limit=limit)


def messages_of_visible_record(*, actor: Member, module: str, record_id: Any, limit: int = 100) -> list[Shown]:
    """The messages of a record the caller already checked `actor` may see (a record page's panel): one
    query when there are none."""
    ids = MessageLink.objects.filter(module=module, record_id=record_id).values("message_id")
    messages = _messages().filter(pk__in=ids).filter(visible_q(actor=actor)).order_by("-date", "-id")
    return _shown(actor, messages[:limit])


# What the email panel of a record page shows of a message (mail/_emails_panel.html), and what
# `message_access` reads of it and of the mailboxes it sits in.
_ACCESS_FIELDS = ("mailbox__kind", "mailbox__owner", "mailbox__sharing")
_PANEL_FIELDS = (
    "thread",
    "direction",
    "status",
    "subject",
    "from_address",
    "from_name",
    "date",
    "body_text",
    "sender",
    "mailbox",
    *_ACCESS_FIELDS,
)


def record_panel_messages(*, actor: Member, module: str, record_id: Any, limit: int = 50) -> list[Shown]:
    """`messages_of_visible_record` with only what the record page's panel shows (no sender, attachments
    or headers): one query when there are none, two otherwise."""
    ids = MessageLink.objects.filter(module=module, record_id=record_id).values("message_id")
    copies = MailboxCopy.objects.select_related("mailbox").only("message", "mailbox", *_ACCESS_FIELDS)
    messages = (
        Message.objects.filter(pk__in=ids)
        .filter(visible_q(actor=actor))
        .select_related("mailbox")
        .only(*_PANEL_FIELDS)
        .prefetch_related(Prefetch("copies", queryset=copies))
        .order_by("-date", "-id")
    )
    return _shown(actor, messages[:limit])


def _shown(actor: Member, messages: QuerySet[Message]) -> list[Shown]:
    return [Shown(m, level) for m in messages if (level := message_access(actor=actor, message=m))]


def thread_messages(*, actor: Member, thread_id: Any) -> list[Shown]:
    """A thread's messages in order, as `actor` may see them."""
    messages = _messages().filter(thread_id=thread_id).filter(visible_q(actor=actor)).distinct().order_by("date", "id")
    return [Shown(m, lvl) for m in messages if (lvl := message_access(actor=actor, message=m))]


def threads_of(shown: list[Shown]) -> list[list[Shown]]:
    """Group messages by thread, threads ordered by their newest message."""
    groups: dict[int, list[Shown]] = {}
    for item in shown:
        groups.setdefault(item.message.thread_id, []).append(item)
    ordered = sorted(groups.values(), key=lambda g: max(s.message.date for s in g), reverse=True)
    return [sorted(g, key=lambda s: (s.message.date, s.message.pk)) for g in ordered]


def templates_for(*, actor: Member, module: str | None = None) -> QuerySet[Template]:
    """Templates `actor` may use: shared ones and their own, for `module` (or any module)."""
    qs = Template.objects.filter(Q(shared=True) | Q(owner=actor))
    if module:
        qs = qs.filter(Q(module="") | Q(module=module))
    return qs.order_by("name", "id")


def access_template(*, actor: Member, template_id: Any) -> Template | None:
    try:
        return templates_for(actor=actor).get(pk=int(template_id))
    except (Template.DoesNotExist, ValueError, TypeError):
        return None


def sending_mailbox(*, actor: Member) -> Mailbox | None:
    """Where `actor`'s mail goes out: their own mailbox with SMTP, else the workspace's default."""
    own = (
        Mailbox.objects.filter(owner=actor, kind=Mailbox.Kind.PERSONAL)
        .exclude(smtp_host="")
        .order_by("created_at")
        .first()
    )
    if own is not None:
        return own
    return Mailbox.objects.filter(kind=Mailbox.Kind.SHARED, is_default=True).exclude(smtp_host="").first()
