"""What a signed-in session still owes: nothing, a second factor ("challenge") or an enrolment ("enrol").

Decided when the user signs in (the `user_logged_in` signal, so every way in is covered: the sign-in forms,
the signup hand-over, an accepted invitation, the operator console, the partner portal) and kept in the
session; `MfaGateMiddleware` lets such a session reach only the MFA pages and sign-out.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.http import HttpRequest

from tenants.mfa.services import REMEMBER_COOKIE, remember_check, user_has_factor, workspace_mfa_required

if TYPE_CHECKING:
    from tenants.models import User

NEED_KEY = "mfa_need"
NEED_USER_KEY = "mfa_need_user"
VERIFIED_KEY = "mfa_verified_at"
CHALLENGE = "challenge"
ENROL = "enrol"
NONE = "none"
# Creating an API token needs a second factor checked this recently in the session.
RECENT_SECONDS = 15 * 60
# Set by single sign-on (crm_apps/sso) on the session it opens; cleared by every other sign-in. The
# workspace's provider is configured by its administrators, so such a session does not prove who owns
# the global account: it may not change global things (factors, password, email, name).
SSO_SIGNIN_KEY = "sso_signin"


def request_scope(request: Any) -> str:
    """The host's scope: a tenant's schema name, or "public" (partner portal and operator console)."""
    tenant = getattr(request, "tenant", None)
    return str(tenant.schema_name) if tenant is not None else "public"


def _is_public(request: Any) -> bool:
    return request_scope(request) == "public"


def policy_requires(request: Any, user: User) -> bool:
    """This host insists on a second factor: the workspace requires it, or an operator on the public host."""
    if _is_public(request):
        return bool(user.is_staff and settings.MFA_OPERATORS_REQUIRED)
    return workspace_mfa_required(getattr(request, "tenant", None))


def mfa_required_for(request: Any, user: User) -> bool:
    """A factor is needed here: the user has one, the workspace requires it, or an operator on the public host."""
    if user_has_factor(user):
        return True
    if _is_public(request):
        return bool(user.is_staff and settings.MFA_OPERATORS_REQUIRED)
    return workspace_mfa_required(getattr(request, "tenant", None))


def need_compute(request: HttpRequest, user: User) -> str:
    if user_has_factor(user):
        cookie = request.COOKIES.get(REMEMBER_COOKIE, "")
        if cookie and remember_check(value=cookie, user=user, scope=request_scope(request)) is not None:
            return NONE
        return CHALLENGE
    if mfa_required_for(request, user):
        return ENROL
    return NONE


def need_set(request: HttpRequest, user: User) -> str:
    need = need_compute(request, user)
    request.session[NEED_KEY] = need
    request.session[NEED_USER_KEY] = user.pk
    return need


def need_get(request: HttpRequest, user: User) -> str:
    """The session's need (computed now for a session from before MFA existed)."""
    if request.session.get(NEED_USER_KEY) != user.pk or NEED_KEY not in request.session:
        return need_set(request, user)
    return str(request.session[NEED_KEY])


def mark_verified(request: HttpRequest, user: User) -> None:
    """A second factor was checked (or just enrolled) in this session."""
    request.session[NEED_KEY] = NONE
    request.session[NEED_USER_KEY] = user.pk
    request.session[VERIFIED_KEY] = time.time()


def recently_verified(request: HttpRequest) -> bool:
    at = request.session.get(VERIFIED_KEY)
    return isinstance(at, int | float) and time.time() - at < RECENT_SECONDS


def on_user_logged_in(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        request.session.pop(VERIFIED_KEY, None)
        need_set(request, user)


def sso_reauth_required(request: HttpRequest) -> bool:
    """True when this session was opened by single sign-on for an account that has a password: changing
    the account's factors or name needs a sign-in with that password first."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not request.session.get(SSO_SIGNIN_KEY):
        return False
    return bool(user.has_usable_password())
