"""Mailbox credentials at rest: Fernet tokens under a MultiFernet built from `MAIL_ENCRYPTION_KEYS`.

The first key encrypts; every key decrypts, so a new key is put first, `manage.py mail_keys_rotate`
re-encrypts every mailbox of every workspace with it, and the old key can then be dropped. Without
configured keys (development) one key is derived from SECRET_KEY. Decrypted values live only in the
memory of the connection that needs them: never in a log line, an API response or an error report.
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class SecretUnreadable(Exception):
    """None of the configured keys decrypts the stored credentials (a key was dropped too early)."""


@lru_cache(maxsize=4)
def _fernet(keys: str, secret_key: str) -> MultiFernet:
    configured = [k.strip() for k in keys.split(",") if k.strip()]
    if not configured:
        configured = [
            base64.urlsafe_b64encode(hashlib.sha256(b"mail-credentials:" + secret_key.encode()).digest()).decode()
        ]
    return MultiFernet([Fernet(k.encode()) for k in configured])


def fernet() -> MultiFernet:
    return _fernet(getattr(settings, "MAIL_ENCRYPTION_KEYS", "") or "", settings.SECRET_KEY)


def encrypt(values: dict[str, str]) -> str:
    """A token holding `values` (passwords), encrypted with the newest key."""
    return fernet().encrypt(json.dumps(values, sort_keys=True).encode()).decode()


def decrypt(token: str) -> dict[str, str]:
    """The values of a token; {} for an empty one; SecretUnreadable when no key opens it."""
    if not token:
        return {}
    try:
        data = json.loads(fernet().decrypt(token.encode()))
    except InvalidToken as exc:
        raise SecretUnreadable from exc
    return {str(k): str(v) for k, v in data.items()}


def rotate(token: str) -> str:
    """The same values encrypted with the newest key (MultiFernet.rotate)."""
    if not token:
        return token
    try:
        return fernet().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable from exc
