"""Where a mailbox's credentials come from: a token source per `Mailbox.credential_kind`.

Today there is one, `PasswordSource` (the encrypted password, IMAP LOGIN and SMTP AUTH). OAuth
providers (Google, Microsoft) are out of reach on this network; one plugs in as another source:
`TokenSource.auth()` returning `Auth(mechanism="XOAUTH2", user=..., secret=<access token>)`, with the
refresh token kept encrypted in `Mailbox.secret` like a password and refreshed inside `auth()`. The
transports (`transport.py`) only ever ask `source_for(mailbox).auth(protocol)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from crm_apps.mail import crypto
from crm_apps.mail.models import Mailbox


@dataclass(frozen=True)
class Auth:
    user: str
    secret: str = field(repr=False)
    mechanism: str = "PLAIN"  # "XOAUTH2" for an OAuth source


class TokenSource(Protocol):
    def auth(self, protocol: str) -> Auth: ...


class PasswordSource:
    """IMAP and SMTP passwords from the mailbox's encrypted secret."""

    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    def auth(self, protocol: str) -> Auth:
        values = crypto.decrypt(self.mailbox.secret)
        if protocol == "imap":
            return Auth(
                user=self.mailbox.imap_username or self.mailbox.email_address, secret=values.get("imap_password", "")
            )
        return Auth(
            user=self.mailbox.smtp_username or self.mailbox.imap_username or self.mailbox.email_address,
            secret=values.get("smtp_password") or values.get("imap_password", ""),
        )


_SOURCES: dict[str, type[PasswordSource]] = {Mailbox.Credential.PASSWORD: PasswordSource}


def source_for(mailbox: Mailbox) -> TokenSource:
    return _SOURCES[mailbox.credential_kind](mailbox)
