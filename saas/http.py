"""Request helpers shared by views."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The client's address: behind our proxy (which overwrites X-Forwarded-For), its last hop."""
    if settings.USE_X_FORWARDED_HOST:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[-1].strip()
    return str(request.META.get("REMOTE_ADDR", ""))


def address_is_public(address: str) -> bool:
    """True for a globally routable unicast address (never loopback, private, link-local, reserved...)."""
    import ipaddress

    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified or ip.is_loopback)


def outbound_url_problem(url: str, *, allow_private: bool) -> str | None:
    """Why the server must not fetch `url` (not http(s), unresolvable, a private address), or None.
    Checks every address the host name resolves to; the caller fetches without following redirects."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "not an http(s) address"
    if allow_private:
        return None
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError):
        return "the host name does not resolve"
    addresses = [str(info[4][0]) for info in infos]
    if not addresses or not all(address_is_public(a) for a in addresses):
        return "a private or local address"
    return None
