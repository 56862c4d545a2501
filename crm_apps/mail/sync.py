"""Incoming mail: poll a mailbox's folder over IMAP and keep what is new.

Bookkeeping: the folder's UIDVALIDITY and the highest UID kept. A run asks for UIDs above it (the
first run, and a run after UIDVALIDITY changed, for messages SINCE `first_sync_days` ago), fetches them
in batches of `MAIL_SYNC_BATCH` (sizes first; bodies of messages over the attachment limit are not
fetched, only their headers) and commits `last_uid` after each batch, so a run that dies resumes where
it stopped and memory stays bounded. At most `MAIL_SYNC_MAX_PER_RUN` messages per run; the rest is the
backlog, taken by the next run. Messages already kept (same Message-ID) are not stored twice, which is
also what makes a UIDVALIDITY reset safe. A run that fails records the error; after
`MAIL_SYNC_MAX_FAILURES` failures in a row the mailbox is paused and its owner notified.
"""

from __future__ import annotations

import datetime as dt
import imaplib
import logging
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from crm_apps.mail import parsing
from crm_apps.mail.models import Mailbox, Message
from crm_apps.mail.store import message_store
from crm_apps.mail.transport import MailError, _errors, _quote, imap_connect
from tenants.runtime import current_schema

log = logging.getLogger(__name__)
_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")
_FETCH_UID = re.compile(rb"UID (\d+)")
_FETCH_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
LOCK_SECONDS = 15 * 60


@dataclass
class SyncResult:
    fetched: int = 0
    stored: int = 0
    backlog: int = 0
    error: str = ""
    new_messages: list[int] | None = None


def _uidvalidity(conn: imaplib.IMAP4, folder: str) -> int | None:
    typ, data = conn.response("UIDVALIDITY")
    if typ == "UIDVALIDITY" and data and data[0]:
        return int(data[0])
    _typ, data = conn.status(_quote(folder), "(UIDVALIDITY)")
    for line in data or []:
        found = _UIDVALIDITY.search(line if isinstance(line, bytes) else b"")
        if found:
            return int(found.group(1))
    return None


def _search(conn: imaplib.IMAP4, mailbox: Mailbox) -> list[int]:
    if mailbox.last_uid:
        typ, data = conn.uid("SEARCH", f"UID {mailbox.last_uid + 1}:*")
    else:
        since = (timezone.now() - dt.timedelta(days=mailbox.first_sync_days)).strftime("%d-%b-%Y")
        typ, data = conn.uid("SEARCH", f"SINCE {since}")
    if typ != "OK":
        raise MailError("protocol", "SEARCH failed")
    uids = sorted({int(u) for u in (data[0] or b"").split()})
    # "n:*" always returns the highest UID, even when it is not above n.
    return [u for u in uids if u > mailbox.last_uid]


def _fetch(conn: imaplib.IMAP4, uids: list[int], what: str) -> dict[int, bytes]:
    typ, data = conn.uid("FETCH", ",".join(str(u) for u in uids), what)
    if typ != "OK":
        raise MailError("protocol", "FETCH failed")
    found: dict[int, bytes] = {}
    for item in data or []:
        if isinstance(item, tuple) and len(item) == 2:
            uid = _FETCH_UID.search(item[0])
            if uid:
                found[int(uid.group(1))] = item[1]
    return found


def _sizes(conn: imaplib.IMAP4, uids: list[int]) -> dict[int, int]:
    _typ, data = conn.uid("FETCH", ",".join(str(u) for u in uids), "(UID RFC822.SIZE)")
    sizes: dict[int, int] = {}
    for line in data or []:
        raw = line[0] if isinstance(line, tuple) else line
        if not isinstance(raw, bytes):
            continue
        uid, size = _FETCH_UID.search(raw), _FETCH_SIZE.search(raw)
        if uid and size:
            sizes[int(uid.group(1))] = int(size.group(1))
    return sizes


def _lock_key(mailbox: Mailbox) -> str:
    return f"mail:sync:{current_schema()}:{mailbox.pk}"


def mailbox_sync(*, mailbox_id: str) -> SyncResult:
    """One polling run of one mailbox (see the module docstring); never two at once for a mailbox."""
    mailbox = Mailbox.objects.select_related("owner__user").filter(pk=mailbox_id).first()
    result = SyncResult(new_messages=[])
    if mailbox is None or not mailbox.imap_host or not mailbox.sync_enabled:
        return result
    if mailbox.status == Mailbox.Status.PAUSED:
        return result
    key = _lock_key(mailbox)
    if not cache.add(key, "1", LOCK_SECONDS):
        return result
    try:
        _run(mailbox, result)
    except MailError as exc:
        result.error = exc.message
        _failed(mailbox, exc)
    finally:
        cache.delete(key)
    return result


def _run(mailbox: Mailbox, result: SyncResult) -> None:
    batch = int(getattr(settings, "MAIL_SYNC_BATCH", 50))
    per_run = int(getattr(settings, "MAIL_SYNC_MAX_PER_RUN", 500))
    with imap_connect(mailbox) as conn, _errors("imap", mailbox.imap_host):
        typ, _data = conn.select(_quote(mailbox.imap_folder), readonly=True)
        if typ != "OK":
            raise MailError("protocol", f"The folder {mailbox.imap_folder} does not exist.")
        validity = _uidvalidity(conn, mailbox.imap_folder)
        if validity != mailbox.uidvalidity:
            # A new folder generation: UIDs mean nothing any more; Message-IDs keep this from duplicating.
            mailbox.uidvalidity, mailbox.last_uid = validity, 0
            Mailbox.objects.filter(pk=mailbox.pk).update(uidvalidity=validity, last_uid=0)
        uids = _search(conn, mailbox)
        take = uids[:per_run]
        for start in range(0, len(take), batch):
            chunk = take[start : start + batch]
            sizes = _sizes(conn, chunk)
            small = [u for u in chunk if sizes.get(u, 0) <= parsing.MAX_ATTACHMENT_BYTES * 2]
            bodies = _fetch(conn, small, "(UID BODY.PEEK[])") if small else {}
            big = [u for u in chunk if u not in bodies]
            if big:
                bodies.update(_fetch(conn, big, "(UID BODY.PEEK[HEADER])"))
            for uid in chunk:
                raw = bodies.get(uid)
                if raw is None:
                    continue
                message, created = message_store(
                    parsed=parsing.parse(raw), mailbox=mailbox, uid=uid, uidvalidity=validity
                )
                result.fetched += 1
                if created:
                    result.stored += 1
                    assert result.new_messages is not None
                    result.new_messages.append(message.pk)
            mailbox.last_uid = max(chunk)
            result.backlog = len(uids) - start - len(chunk)
            with transaction.atomic():
                Mailbox.objects.filter(pk=mailbox.pk).update(
                    last_uid=mailbox.last_uid,
                    backlog=result.backlog,
                    messages_fetched=models_f("messages_fetched") + len(chunk),
                    last_sync_at=timezone.now(),
                )
    now = timezone.now()
    Mailbox.objects.filter(pk=mailbox.pk).update(
        last_sync_at=now, last_success_at=now, failures=0, backlog=max(0, len(uids) - len(take))
    )
    if mailbox.converter_enabled and mailbox.kind == Mailbox.Kind.SHARED and result.new_messages:
        from crm_apps.mail.converter import messages_convert

        messages_convert(mailbox=mailbox, message_ids=result.new_messages)


def models_f(name: str) -> F:
    return F(name)


def _failed(mailbox: Mailbox, exc: MailError) -> None:
    """Record the failure; pause and notify after too many in a row."""
    limit = int(getattr(settings, "MAIL_SYNC_MAX_FAILURES", 5))
    now = timezone.now()
    failures = mailbox.failures + 1
    paused = failures >= limit
    Mailbox.objects.filter(pk=mailbox.pk).update(
        failures=failures,
        last_error=exc.message[:2000],
        last_error_at=now,
        last_sync_at=now,
        status=Mailbox.Status.PAUSED if paused else Mailbox.Status.ACTIVE,
    )
    log.info("mailbox sync failed (%s), %s in a row", exc.code, failures)
    if paused:
        from crm_apps.mail.hooks import notify_paused

        notify_paused(mailbox=mailbox, error=exc.message)


def messages_unmatched(*, mailbox: Mailbox, limit: int = 50) -> list[Message]:
    """Received messages of the mailbox that no record matched (for "create a lead / contact")."""
    return list(
        Message.objects.filter(
            copies__mailbox=mailbox, links__isnull=True, direction=Message.Direction.INBOUND
        ).order_by("-date")[:limit]
    )
