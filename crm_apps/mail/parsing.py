"""Raw RFC 5322 bytes -> the parts the CRM stores (headers, sanitised bodies, attachments)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime

from django.utils import timezone

from crm_apps.mail import html as mail_html

MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024
_MSGID = re.compile(r"<[^<>\s]+>")


@dataclass
class ParsedAttachment:
    file_name: str
    content_type: str
    payload: bytes = field(repr=False)


@dataclass
class Parsed:
    message_id: str
    in_reply_to: str
    references: list[str]
    subject: str
    from_address: str
    from_name: str
    to: list[str]
    cc: list[str]
    date: dt.datetime
    body_text: str
    body_html: str
    attachments: list[ParsedAttachment] = field(default_factory=list)
    auto_submitted: bool = False
    # A delivery status notification (bounce): the Message-ID of the message that could not be delivered.
    bounce_of: str = ""


def message_ids(value: str | None) -> list[str]:
    return _MSGID.findall(value or "")


def _addresses(values: list[str]) -> list[tuple[str, str]]:
    found = []
    for name, address in getaddresses([str(v) for v in values if v]):
        address = address.strip().lower()
        if "@" in address and len(address) <= 320:
            found.append((name.strip(), address))
    return found


def _header(msg: EmailMessage, name: str) -> str:
    try:
        value = msg.get(name)
    except Exception:
        return ""
    return " ".join(str(value or "").split())


def parse(raw: bytes) -> Parsed:
    """The stored shape of one message; never raises on malformed input."""
    msg: EmailMessage = BytesParser(policy=policy.default).parsebytes(raw)
    senders = _addresses([_header(msg, "From")])
    try:
        date = parsedate_to_datetime(_header(msg, "Date"))
        if timezone.is_naive(date):
            date = timezone.make_aware(date, dt.UTC)
    except (TypeError, ValueError, IndexError):
        date = timezone.now()
    ids = message_ids(_header(msg, "Message-ID"))
    message_id = ids[0] if ids else "<" + hashlib.sha256(raw[:65536]).hexdigest() + "@no-message-id.invalid>"
    text, html_body, attachments = "", "", []
    for part in msg.walk():
        if part.is_multipart():
            continue
        disposition = part.get_content_disposition()
        ctype = part.get_content_type()
        if disposition == "attachment" or (disposition == "inline" and part.get_filename()):
            payload = _bytes(part.get_payload(decode=True))
            if 0 < len(payload) <= MAX_ATTACHMENT_BYTES:
                attachments.append(ParsedAttachment(part.get_filename() or "attachment", ctype, payload))
            continue
        if ctype == "text/plain" and not text:
            text = _content(part)
        elif ctype == "text/html" and not html_body:
            html_body = _content(part)
    safe_html = mail_html.sanitize(html_body) if html_body else mail_html.from_text(text)
    return Parsed(
        message_id=message_id[:500],
        in_reply_to=(message_ids(_header(msg, "In-Reply-To")) or [""])[0][:500],
        references=message_ids(_header(msg, "References"))[-50:],
        subject=_header(msg, "Subject")[:500],
        from_address=senders[0][1] if senders else "",
        from_name=(senders[0][0] if senders else "")[:200],
        to=[a for _n, a in _addresses([_header(msg, "To")])][:100],
        cc=[a for _n, a in _addresses([_header(msg, "Cc")])][:100],
        date=date,
        body_text=(text or mail_html.to_text(html_body))[:200_000],
        body_html=safe_html[:500_000],
        attachments=attachments,
        auto_submitted=_header(msg, "Auto-Submitted").lower() not in ("", "no"),
        bounce_of=_bounced_id(msg),
    )


def _bounced_id(msg: EmailMessage) -> str:
    """The Message-ID of the returned message of a delivery status notification (RFC 3464), else ""."""
    if msg.get_content_type() != "multipart/report" or msg.get_param("report-type") != "delivery-status":
        return ""
    from email.parser import HeaderParser

    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/rfc822":
            inner = part.get_payload()
            first = inner[0] if isinstance(inner, list) and inner else None
            if first is not None and hasattr(first, "get"):
                ids = message_ids(str(first.get("Message-ID", "")))
                if ids:
                    return ids[0][:500]
        elif ctype == "text/rfc822-headers":
            headers = HeaderParser().parsestr(_content(part))
            ids = message_ids(str(headers.get("Message-ID", "")))
            if ids:
                return ids[0][:500]
    return ""


def _content(part: EmailMessage) -> str:
    try:
        return str(part.get_content())
    except (LookupError, UnicodeError, AssertionError):
        return _bytes(part.get_payload(decode=True)).decode("utf-8", "replace")


def _bytes(payload: object) -> bytes:
    return payload if isinstance(payload, bytes) else b""


def format_address(address: str, name: str = "") -> str:
    if not name:
        return address
    user, _sep, domain = address.partition("@")
    return str(Address(display_name=name, username=user, domain=domain))
