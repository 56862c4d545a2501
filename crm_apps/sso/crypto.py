"""The OIDC client secret at rest: encrypted with the project's key ring for stored credentials
(`crm_apps/mail/crypto.py`: `MAIL_ENCRYPTION_KEYS`, a key derived from SECRET_KEY in development)."""

from __future__ import annotations

from crm_apps.mail.crypto import SecretUnreadable, decrypt, encrypt


def secret_encrypt(secret: str) -> str:
    return encrypt({"client_secret": secret}) if secret else ""


def secret_decrypt(token: str) -> str:
    """The stored secret; "" when none is stored or no key opens it (the sign-in then fails at the provider)."""
    try:
        return decrypt(token).get("client_secret", "")
    except SecretUnreadable:
        return ""
