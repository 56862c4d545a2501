"""Who is asking, from where: the client address of the current request, for audit events.

Set by `AuditContextMiddleware` for the duration of a request, so services can record it without
being handed the request. Outside a request (tasks, commands) there is none.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_client_ip: ContextVar[str | None] = ContextVar("audit_client_ip", default=None)


def clean_ip(value: str | None) -> str | None:
    """A valid IPv4/IPv6 address, or None (an empty or forged header must not break a write)."""
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def current_ip() -> str | None:
    return _client_ip.get()


@contextmanager
def client_ip_context(ip: str | None) -> Iterator[None]:
    token = _client_ip.set(clean_ip(ip))
    try:
        yield
    finally:
        _client_ip.reset(token)
