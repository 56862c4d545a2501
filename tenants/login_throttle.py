"""Failed sign-in limits, shared by every sign-in form (workspace, token API, partner portal, operator admin).

Identity is global (`tenants.User`), so the limit lives beside it; the counters themselves are cache keys,
tenant-prefixed like every key (per tenant on a tenant host, the public ones on the public host).
"""

from __future__ import annotations

from saas.throttle import throttle_exceeded, throttle_hit
from tenants.models import normalize_email

LOGIN_FAILURE_LIMIT = 10
LOGIN_FAILURE_WINDOW = 15 * 60


def _login_keys(*, client_ip: str, email: str) -> list[str]:
    return [f"login-fail:ip:{client_ip}", f"login-fail:email:{normalize_email(email)[:254]}"]


def login_blocked(*, client_ip: str, email: str) -> bool:
    """True after 10 failed sign-ins in 15 minutes from this address or for this email (per tenant)."""
    return throttle_exceeded(_login_keys(client_ip=client_ip, email=email), limit=LOGIN_FAILURE_LIMIT)


def login_failed(*, client_ip: str, email: str) -> None:
    """Count a failed sign-in (HTML form or token API)."""
    throttle_hit(_login_keys(client_ip=client_ip, email=email), window=LOGIN_FAILURE_WINDOW)
