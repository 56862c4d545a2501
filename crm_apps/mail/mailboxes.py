"""Mailbox writes: create, change and delete (credentials encrypted, the connection tested on save),
sync requests, and who may manage which mailbox."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from crm_apps.access.decorators import may_administer
from crm_apps.access.models import Member
from crm_apps.access.privileges import Privilege
from crm_apps.mail import crypto
from crm_apps.mail.models import Mailbox, Message, Security
from crm_apps.mail.transport import MailError, mailbox_check

log = logging.getLogger(__name__)

EDITABLE = (
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
)
# Which field a connection failure is reported on.
_ERROR_FIELD = {"auth": "password", "tls": "security", "unreachable": "host", "unsafe": "host", "protocol": "host"}


def may_manage(*, actor: Member, mailbox: Mailbox) -> bool:
    """A personal mailbox is its owner's alone; shared ones are the administrators' (settings privilege)."""
    if mailbox.kind == Mailbox.Kind.PERSONAL:
        return mailbox.owner_id == actor.pk
    return may_administer(actor, Privilege.MANAGE_SETTINGS)


def mailboxes_managed(*, actor: Member) -> Any:
    """The mailboxes `actor` may see and manage: their own, and the shared ones for administrators."""
    qs = Mailbox.objects.select_related("owner__user")
    if may_administer(actor, Privilege.MANAGE_SETTINGS):
        return qs.filter(owner=actor) | qs.filter(kind=Mailbox.Kind.SHARED)
    return qs.filter(owner=actor, kind=Mailbox.Kind.PERSONAL)


def access_mailbox(*, actor: Member, mailbox_id: Any) -> Mailbox | None:
    """The mailbox if `actor` may manage it; None for missing and forbidden alike."""
    try:
        return mailboxes_managed(actor=actor).get(pk=mailbox_id)
    except (Mailbox.DoesNotExist, ValidationError, ValueError):
        return None


def _server(mailbox: Mailbox, side: str) -> tuple[Any, ...]:
    return tuple(getattr(mailbox, f"{side}_{part}") for part in ("host", "port", "username"))


def _apply(mailbox: Mailbox, data: dict[str, Any], passwords: dict[str, str | None]) -> None:
    before = {side: _server(mailbox, side) for side in ("imap", "smtp")}
    for name in EDITABLE:
        if name in data:
            setattr(mailbox, name, data[name])
    if mailbox.kind == Mailbox.Kind.PERSONAL:
        mailbox.is_default = False
        mailbox.converter_enabled = False
    try:
        stored = crypto.decrypt(mailbox.secret) if mailbox.secret else {}
    except crypto.SecretUnreadable:
        stored = {}  # the key that sealed it is gone: the passwords entered now replace it
    errors: dict[str, list[str]] = {}
    for side in ("imap", "smtp"):
        key = f"{side}_password"
        value = passwords.get(key)
        if value:  # blank keeps the stored password...
            stored[key] = value
        elif mailbox.pk and stored.get(key) and _server(mailbox, side) != before[side]:
            # ...but never for another server or account: it would hand the saved password to it.
            errors[key] = [_("Enter the password again: the server or user name changed.")]
    mailbox.secret = crypto.encrypt(stored) if stored else ""
    if not mailbox.imap_host and not mailbox.smtp_host:
        errors["imap_host"] = [_("Enter an IMAP server, an SMTP server or both.")]
    for side in ("imap", "smtp"):
        if getattr(mailbox, f"{side}_security") not in Security.values:
            errors[f"{side}_security"] = [_("Choose SSL/TLS, STARTTLS or none.")]
    if mailbox.first_sync_days > 3650:
        errors["first_sync_days"] = [_("At most 3650 days.")]
    if errors:
        raise ValidationError(errors)
    try:
        mailbox.full_clean(exclude=["owner", "secret"])
    except ValidationError as exc:
        raise ValidationError(exc.message_dict) from None


def _test(mailbox: Mailbox) -> None:
    """Connect with the new settings: a ValidationError naming the failing side when they do not work."""
    try:
        mailbox_check(mailbox)
    except MailError as exc:
        log.info("mailbox connection test failed: %s (%s)", exc.code, mailbox.pk)
        raise ValidationError({"connection": [exc.message], "code": [exc.code]}) from None


@transaction.atomic
def mailbox_create(
    *, actor: Member, data: dict[str, Any], passwords: dict[str, str | None], test: bool = True
) -> Mailbox:
    """A new mailbox: personal for any member, shared for administrators; tested before it is saved."""
    mailbox = Mailbox(owner=actor)
    _apply(mailbox, data, passwords)
    if not may_manage(actor=actor, mailbox=mailbox):
        raise PermissionDenied
    if test:
        _test(mailbox)
    if mailbox.is_default:
        Mailbox.objects.filter(is_default=True).update(is_default=False)
    mailbox.save()
    return mailbox


@transaction.atomic
def mailbox_update(
    *, actor: Member, mailbox: Mailbox, data: dict[str, Any], passwords: dict[str, str | None], test: bool = True
) -> Mailbox:
    """Change a mailbox (blank passwords keep the stored ones); tested again; a paused one resumes."""
    if not may_manage(actor=actor, mailbox=mailbox):
        raise PermissionDenied
    before = (mailbox.imap_host, mailbox.imap_port, mailbox.imap_username, mailbox.imap_folder)
    _apply(mailbox, data, passwords)
    if not may_manage(actor=actor, mailbox=mailbox):
        raise PermissionDenied
    if test:
        _test(mailbox)
    if before != (mailbox.imap_host, mailbox.imap_port, mailbox.imap_username, mailbox.imap_folder):
        mailbox.uidvalidity, mailbox.last_uid = None, 0  # another server or folder: start over
    mailbox.status, mailbox.failures = Mailbox.Status.ACTIVE, 0
    if mailbox.is_default:
        Mailbox.objects.filter(is_default=True).exclude(pk=mailbox.pk).update(is_default=False)
    mailbox.save()
    return mailbox


@transaction.atomic
@transaction.atomic
def mailbox_delete(*, actor: Member, mailbox: Mailbox) -> None:
    """Remove the mailbox. Sent messages keep their history. Received mail of a shared or fully shared
    mailbox stays on the records (everyone could read it already); received mail that only a private or
    subject-only personal mailbox held is deleted with it, so deleting never makes it readable to
    others (a message in no mailbox, sent by nobody, is otherwise visible to every member)."""
    from django.db.models import Count

    if not may_manage(actor=actor, mailbox=mailbox):
        raise PermissionDenied
    if mailbox.kind == Mailbox.Kind.PERSONAL and mailbox.sharing != Mailbox.Sharing.FULL:
        held_only_here = (
            Message.objects.filter(copies__mailbox=mailbox, sender__isnull=True, mailbox__isnull=True)
            .annotate(held=Count("copies"))
            .filter(held=1)
            .values_list("pk", flat=True)
        )
        Message.objects.filter(pk__in=list(held_only_here)).delete()
    mailbox.delete()


def mailbox_sync_request(*, actor: Member, mailbox: Mailbox) -> None:
    """ "Sync now": resume a paused mailbox and queue its sync after the commit."""
    from crm_apps.mail.tasks import mailbox_sync_task

    if not may_manage(actor=actor, mailbox=mailbox):
        raise PermissionDenied
    Mailbox.objects.filter(pk=mailbox.pk).update(status=Mailbox.Status.ACTIVE, failures=0)
    transaction.on_commit(lambda: mailbox_sync_task.delay(str(mailbox.pk)))


def keys_rotate() -> int:
    """Re-encrypt every mailbox secret of the current schema with the newest key; the count."""
    count = 0
    for mailbox in Mailbox.objects.exclude(secret="").only("pk", "secret"):
        try:
            secret = crypto.rotate(mailbox.secret)
        except crypto.SecretUnreadable:
            continue  # no key opens it: left as it is (its owner enters the password again)
        Mailbox.objects.filter(pk=mailbox.pk).update(secret=secret)
        count += 1
    return count
