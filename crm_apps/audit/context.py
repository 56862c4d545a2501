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


# Who acts through a member's rights on their behalf (an OAuth app's name, set by its token's
# authentication): events of the request name it as the actor. Reset by AuditContextMiddleware.
_acting_via: ContextVar[str | None] = ContextVar("audit_acting_via", default=None)


def acting_via() -> str | None:
    return _acting_via.get()


def acting_via_set(label: str | None) -> None:
    """For the rest of the current request (AuditContextMiddleware restores it afterwards)."""
    _acting_via.set(label)


@contextmanager
def acting_via_context(label: str | None) -> Iterator[None]:
    token = _acting_via.set(label)
    try:
        yield
    finally:
        _acting_via.reset(token)
