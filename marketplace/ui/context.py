"""The signed context a UI extension's frame receives: who is looking at what, for a few minutes.

Format (documented for partners in docs/marketplace-extensions.md): `v1.<payload>.<signature>` where
`payload` is base64url (no padding) of compact JSON and `signature` is base64url of
HMAC-SHA256(app secret, "v1." + payload). Payload keys: `ws` (workspace host), `tenant` (schema),
`ins` (installation id), `app` (extension slug), `ext` (the declared extension's kind.key),
`member`, `module`, `record` (or null), `locale`, `iat`, `exp` (unix seconds). It is refused once `exp`
has passed, when the signature does not match this workspace's installation, or when it names another
workspace: the app's secret is per installation, so a context of tenant A never verifies on tenant B.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from typing import Any

from django.utils.translation import gettext as _

CONTEXT_SECONDS = 300
PREFIX = "v1"
_SIGNATURE = re.compile(r"[A-Za-z0-9_-]{43}")


class ContextInvalid(ValueError):
    """A context that is malformed, forged, expired or for another workspace (message says which)."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, signed: str) -> str:
    return _b64(hmac.new(secret.encode(), signed.encode(), hashlib.sha256).digest())


def context_sign(secret: str, payload: dict[str, Any], *, now: float | None = None) -> str:
    issued = int(now if now is not None else time.time())
    body = {**payload, "iat": issued, "exp": issued + CONTEXT_SECONDS}
    encoded = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
    return f"{PREFIX}.{encoded}.{_mac(secret, f'{PREFIX}.{encoded}')}"


def context_payload_unverified(token: str) -> dict[str, Any]:
    """The payload without checking it (to find the installation whose secret verifies it)."""
    parts = token.split(".") if isinstance(token, str) and len(token) < 8000 else []
    if len(parts) != 3 or parts[0] != PREFIX:
        raise ContextInvalid(_("Not a context."))
    try:
        data = json.loads(_unb64(parts[1]))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ContextInvalid(_("Not a context.")) from exc
    if not isinstance(data, dict):
        raise ContextInvalid(_("Not a context."))
    return data


def context_verify(secret: str, token: str, *, tenant: str, now: float | None = None) -> dict[str, Any]:
    """The payload of a context signed with `secret` for `tenant` and not expired; ContextInvalid if not."""
    data = context_payload_unverified(token)
    head, encoded, signature = token.split(".")
    # base64url of an HMAC-SHA256, ASCII only (compare_digest raises on non-ASCII text).
    if not _SIGNATURE.fullmatch(signature) or not hmac.compare_digest(_mac(secret, f"{head}.{encoded}"), signature):
        raise ContextInvalid(_("The signature does not match."))
    if data.get("tenant") != tenant:
        raise ContextInvalid(_("The context is for another workspace."))
    expires = data.get("exp")
    if not isinstance(expires, int) or expires <= int(now if now is not None else time.time()):
        raise ContextInvalid(_("The context has expired."))
    return data
