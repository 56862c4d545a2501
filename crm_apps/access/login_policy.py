"""Extension point: apps above access may refuse a *password* sign-in to this workspace (single sign-on's
"SSO only", crm_apps/sso). Every password path asks `password_signin_refusal`: the sign-in form and
`POST /api/v1/auth/token`. A check returns the message to show, or None to allow."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

PasswordSigninCheck = Callable[[Any], str | None]
_checks: list[PasswordSigninCheck] = []


def password_signin_check_register(check: PasswordSigninCheck) -> None:
    """Called from an AppConfig.ready(); registering the same function twice keeps one."""
    if check not in _checks:
        _checks.append(check)


def password_signin_refusal(*, user: Any) -> str | None:
    """Inside a tenant schema: why `user` (already authenticated by password) may not sign in, or None."""
    for check in _checks:
        message = check(user)
        if message:
            return message
    return None
