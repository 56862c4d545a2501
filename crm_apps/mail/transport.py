"""Connections to a mailbox's IMAP and SMTP servers, with the checks and the errors people can act on.

Hosts must resolve only to public addresses (like extensions' webhooks, marketplace/installs/webhooks.py)
unless `MAIL_ALLOW_PRIVATE` is on (development and tests); the socket goes to the address that was
checked, while TLS verifies the certificate against the host name, so a DNS answer that changes between
check and connect cannot redirect it. Unencrypted connections are allowed only where private hosts are.
Every failure becomes a `MailError` whose `code` is "unsafe", "unreachable", "tls", "auth" or
"protocol" and whose text never contains a credential.
"""

from __future__ import annotations

import imaplib
import ipaddress
import smtplib
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from crm_apps.mail import crypto
from crm_apps.mail.models import Mailbox, Security
from crm_apps.mail.tokens import source_for


class MailError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _address_allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


def resolve(host: str, port: int, security: str) -> str:
    """The address to connect to for `host`, or MailError("unsafe"/"unreachable")."""
    if not host:
        raise MailError("unreachable", _("Enter the server's host name."))
    private_ok = bool(getattr(settings, "MAIL_ALLOW_PRIVATE", False))
    if security == Security.NONE and not private_ok:
        raise MailError("unsafe", _("Unencrypted connections are not allowed: choose SSL/TLS or STARTTLS."))
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise MailError("unreachable", _("The host %(host)s cannot be found.") % {"host": host}) from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise MailError("unreachable", _("The host %(host)s cannot be found.") % {"host": host})
    if not private_ok and not all(_address_allowed(a) for a in addresses):
        raise MailError("unsafe", _("The host %(host)s is a private or local address.") % {"host": host})
    return addresses[0]


def _timeout() -> float:
    return float(getattr(settings, "MAIL_TIMEOUT_SECONDS", 20))


class _PinnedIMAP(imaplib.IMAP4):
    def __init__(self, address: str, host: str, port: int, timeout: float) -> None:
        self._address = address
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        return socket.create_connection((self._address, self.port), timeout)


class _PinnedIMAPSSL(imaplib.IMAP4_SSL, _PinnedIMAP):
    def __init__(self, address: str, host: str, port: int, timeout: float) -> None:
        self._address = address
        imaplib.IMAP4_SSL.__init__(self, host, port, ssl_context=ssl.create_default_context(), timeout=timeout)


class _PinnedSMTP(smtplib.SMTP):
    _address = ""

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return socket.create_connection((self._address, port), timeout, self.source_address)


class _PinnedSMTPSSL(smtplib.SMTP_SSL, _PinnedSMTP):
    pass


@contextmanager
def _errors(protocol: str, host: str) -> Iterator[None]:
    """Turn library and network errors into MailError with a sentence for people."""
    try:
        yield
    except MailError:
        raise
    except (ssl.SSLError, ssl.CertificateError) as exc:
        reason = getattr(exc, "reason", None) or exc.__class__.__name__
        raise MailError("tls", _("TLS with %(host)s failed (%(reason)s).") % {"host": host, "reason": reason}) from None
    except smtplib.SMTPAuthenticationError:
        raise MailError("auth", _("The SMTP server refused the user name or password.")) from None
    except smtplib.SMTPNotSupportedError:
        raise MailError("tls", _("The SMTP server does not offer STARTTLS.")) from None
    except smtplib.SMTPException as exc:
        raise MailError("protocol", _("The SMTP server answered: %(reason)s") % {"reason": _reason(exc)}) from None
    except imaplib.IMAP4.abort:
        raise MailError("protocol", _("The IMAP server closed the connection.")) from None
    except imaplib.IMAP4.error as exc:
        text = _reason(exc)
        if "AUTHENTICATIONFAILED" in text.upper() or "LOGIN" in text.upper() or "AUTH" in text.upper():
            raise MailError("auth", _("The IMAP server refused the user name or password.")) from None
        if "STARTTLS" in text.upper() or "TLS" in text.upper():
            raise MailError("tls", _("The IMAP server does not offer STARTTLS.")) from None
        raise MailError("protocol", _("The IMAP server answered: %(reason)s") % {"reason": text}) from None
    except TimeoutError:
        raise MailError("unreachable", _("%(host)s did not answer in time.") % {"host": host}) from None
    except crypto.SecretUnreadable:
        raise MailError("auth", _("The stored password cannot be read: enter it again.")) from None
    except OSError as exc:
        raise MailError(
            "unreachable",
            _("%(host)s cannot be reached (%(reason)s).")
            % {"host": host, "reason": exc.strerror or exc.__class__.__name__},
        ) from None


def _reason(exc: BaseException) -> str:
    raw: Any = exc.args[-1] if exc.args else exc
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    return str(raw)[:300]


@contextmanager
def imap_connect(mailbox: Mailbox) -> Iterator[imaplib.IMAP4]:
    """A logged-in IMAP connection to the mailbox's server (logged out afterwards)."""
    host, port = mailbox.imap_host, mailbox.imap_port
    with _errors("imap", host):
        address = resolve(host, port, mailbox.imap_security)
        conn: imaplib.IMAP4
        if mailbox.imap_security == Security.SSL:
            conn = _PinnedIMAPSSL(address, host, port, _timeout())
        else:
            conn = _PinnedIMAP(address, host, port, _timeout())
            if mailbox.imap_security == Security.STARTTLS:
                if "STARTTLS" not in conn.capabilities:
                    conn.shutdown()
                    raise MailError("tls", _("The IMAP server does not offer STARTTLS."))
                conn.starttls(ssl_context=ssl.create_default_context())
        try:
            auth = source_for(mailbox).auth("imap")
            conn.login(auth.user, auth.secret)
            yield conn
        finally:
            with suppress(Exception):  # the connection may already be gone
                conn.logout()


@contextmanager
def smtp_connect(mailbox: Mailbox) -> Iterator[smtplib.SMTP]:
    """An authenticated SMTP connection to the mailbox's server (closed afterwards)."""
    host, port = mailbox.smtp_host, mailbox.smtp_port
    with _errors("smtp", host):
        address = resolve(host, port, mailbox.smtp_security)
        conn: smtplib.SMTP
        if mailbox.smtp_security == Security.SSL:
            conn = _PinnedSMTPSSL(timeout=_timeout(), context=ssl.create_default_context())
        else:
            conn = _PinnedSMTP(timeout=_timeout())
        conn._address = address
        try:
            conn.connect(host, port)
            conn.ehlo()
            if mailbox.smtp_security == Security.STARTTLS:
                conn.starttls(context=ssl.create_default_context())
                conn.ehlo()
            auth = source_for(mailbox).auth("smtp")
            if auth.secret and conn.has_extn("auth"):
                conn.login(auth.user, auth.secret)
            yield conn
        finally:
            with suppress(Exception):  # the connection may already be gone
                conn.quit()


def mailbox_check(mailbox: Mailbox) -> None:
    """Log in to the IMAP server (and select the folder) and to the SMTP server: MailError if either fails."""
    if mailbox.imap_host:
        with imap_connect(mailbox) as conn, _errors("imap", mailbox.imap_host):
            typ, _data = conn.select(_quote(mailbox.imap_folder), readonly=True)
            if typ != "OK":
                raise MailError(
                    "protocol", _("The folder %(folder)s does not exist.") % {"folder": mailbox.imap_folder}
                )
    if mailbox.smtp_host:
        with smtp_connect(mailbox):
            pass


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
