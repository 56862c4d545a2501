"""Signed, SSRF-safe outgoing HTTP POSTs: the transport of every webhook (extensions' subscriptions in
marketplace.installs, tenants' own webhooks and workflow webhook actions in crm_apps.automation).

Signature: header `X-CRM-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. Targets
must resolve only to public addresses (not private, loopback, link-local, multicast or reserved); the
connection goes to the address that was checked, so a DNS answer that changes between check and connect
cannot redirect it. `WEBHOOKS_ALLOW_PRIVATE` (development and tests only) lifts the address check.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import socket
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import urllib3
from django.conf import settings

TIMEOUT_SECONDS = 10
MAX_ATTEMPTS = 6
SIGNATURE_HEADER = "X-CRM-Signature"


class UnsafeTarget(Exception):
    """The URL is not http(s) or resolves to an address webhooks may not reach."""


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header value for `body` sent at `timestamp`."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


_TIMESTAMPED = re.compile(r"t=([0-9]{1,12}),v1=([0-9a-f]{64})")


def signature_header_valid(secret: str, body: bytes, header: str, *, tolerance: int, now: float | None = None) -> bool:
    """A `t=<unix>,v1=<hex>` header (what `sign` makes) for `body`, at most `tolerance` seconds old or ahead.
    Anything else (other characters, non-ASCII digits or hex, extra parts) is simply not valid: never raises."""
    match = _TIMESTAMPED.fullmatch(header.strip()) if secret and isinstance(header, str) else None
    if match is None:
        return False
    stamp = int(match.group(1))
    if abs(stamp - int(now if now is not None else time.time())) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, body, stamp).encode(), f"t={match.group(1)},v1={match.group(2)}".encode())


def _address_allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def resolve_target(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, address to connect to) for a webhook URL; UnsafeTarget when refused."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeTarget("scheme")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeTarget("unresolvable") from exc
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise UnsafeTarget("unresolvable")
    if not settings.WEBHOOKS_ALLOW_PRIVATE and not all(_address_allowed(a) for a in addresses):
        raise UnsafeTarget("private address")
    return parts.scheme, parts.hostname, port, addresses[0]


REPLY_LIMIT = 65536


def post(url: str, body: bytes, headers: dict[str, str], reply: dict[str, Any] | None = None) -> int:
    """POST `body` to the checked address of `url` (TLS verified against the URL's host name); the status.
    With `reply` (a dict), the first REPLY_LIMIT bytes of the answer's body go to reply["body"]."""
    return request("POST", url, body=body, headers=headers, reply=reply)


def get(url: str, headers: dict[str, str] | None = None, *, limit: int = REPLY_LIMIT) -> tuple[int, bytes]:
    """GET `url` from its checked address, redirects not followed: (status, first `limit` bytes of the
    body). UnsafeTarget when refused; urllib3.exceptions.HTTPError when the connection fails."""
    reply: dict[str, Any] = {}
    status = request("GET", url, body=None, headers=headers or {}, reply=reply, limit=limit)
    return status, reply.get("body", b"")


def request(
    method: str,
    url: str,
    *,
    body: bytes | None,
    headers: dict[str, str],
    reply: dict[str, Any] | None = None,
    limit: int = REPLY_LIMIT,
) -> int:
    """One request to the address `resolve_target` checked (never re-resolved), no redirect followed."""
    scheme, host, port, address = resolve_target(url)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    pool: urllib3.HTTPConnectionPool
    if scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address,
            port=port,
            server_hostname=host,
            assert_hostname=host,
            cert_reqs="CERT_REQUIRED",
            timeout=TIMEOUT_SECONDS,
            retries=False,
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, port=port, timeout=TIMEOUT_SECONDS, retries=False)
    host_header = host if parts.port is None else f"{host}:{parts.port}"
    try:
        response = pool.urlopen(
            method,
            path,
            body=body,
            headers={**headers, "Host": host_header},
            redirect=False,
            assert_same_host=False,
            preload_content=reply is None,
        )
        if reply is not None:
            reply["body"] = response.read(limit)
            reply["content_type"] = response.headers.get("Content-Type", "")
        return int(response.status)
    finally:
        pool.close()


def attempt_settle(
    *, model: Any, delivery: Any, url: str, body: bytes, headers: dict[str, str], post_fn: Callable[..., int]
) -> tuple[str, int | None]:
    """Send one attempt of a delivery row (marketplace and tenant webhooks share the outcome rules) and
    write its outcome: 2xx delivered, an unsafe address refused, anything else retried until
    MAX_ATTEMPTS. Only a row still pending takes the outcome: a run that overlapped this one (a
    redelivered task) may have delivered it meanwhile, and that must stay so, without another retry.
    Returns (status, attempt number to retry after, or None)."""
    from django.utils import timezone

    retry: int | None = None
    try:
        status = post_fn(url, body, headers)
    except UnsafeTarget as exc:
        delivery.status = "refused"
        delivery.error = f"refused: {exc}"[:500]
    except Exception as exc:  # network errors of every kind: retried
        delivery.error = f"{type(exc).__name__}: {exc}"[:500]
        retry = delivery.attempts
    else:
        delivery.response_status = status
        if 200 <= status < 300:
            delivery.status = "succeeded"
            delivery.delivered_at = timezone.now()
            delivery.error = ""
        else:
            delivery.error = f"HTTP {status}"
            retry = delivery.attempts
    if retry is not None and delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = "failed"
        retry = None
    settled = model.objects.filter(pk=delivery.pk, status="pending").update(
        status=delivery.status,
        error=delivery.error,
        response_status=delivery.response_status,
        delivered_at=delivery.delivered_at,
    )
    if not settled:
        current = model.objects.filter(pk=delivery.pk).values_list("status", flat=True).first()
        return current or "missing", None
    return delivery.status, retry
