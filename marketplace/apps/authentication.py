"""`Authorization: Bearer <token>` of an OAuth app, on its installation's tenant host only.

On every call: the token exists (looked up by its SHA-256, never stored in clear), has not expired,
belongs to an installation of *this* tenant that is still installed, its app is approved and not
suspended, and the installing admin is still an active member. Then the route's scopes
(`crm_apps.access.api.scopes`, shared with extension tokens) must be held by the token, the
installation and the app's approved version all three; then the app's per-minute budget in this
workspace. The call acts with the installing admin's rights through the visibility filter, and audit
events name the app: every call gets an `api_call` event (method, path), its writes their usual events.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.utils import timezone, translation
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from crm_apps.access.api.scopes import required_scopes, scopes_held
from crm_apps.access.models import Member
from crm_apps.audit import services as audit
from crm_apps.audit.context import acting_via_set
from marketplace.apps.models import AccessToken, AppStatus, InstallationState
from marketplace.apps.rate import app_rate_allows
from marketplace.apps.usage import api_call_count
from tenants.models import User


class AppRateLimited(exceptions.Throttled):
    def __init__(self, *, wait: int) -> None:
        super().__init__(
            wait=wait, detail=_("This app made too many requests; try again in %(s)d seconds.") % {"s": wait}
        )


def _token_for(raw: str) -> AccessToken | None:
    checksum = hashlib.sha256(raw.encode("utf-8")).hexdigest()
    return (
        AccessToken.objects.select_related("installation", "application", "user")
        .filter(token_checksum=checksum)
        .order_by()
        .first()
    )


def _audit_call(request: Request, member: Member) -> None:
    """Every call of an app goes to the workspace's audit trail, named after the app (acting via)."""
    match = request._request.resolver_match
    audit.audit_log(
        action=audit.API_CALL,
        actor=member,
        module=str((match.kwargs.get("module") if match is not None else "") or ""),
        record_id=str((match.kwargs.get("record_id") if match is not None else "") or ""),
        details={"method": request._request.method or "", "path": request._request.path[:200]},
    )


class AppTokenAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[User, AccessToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"bearer":
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid token header."))
        tenant = getattr(request._request, "tenant", None)
        if tenant is None or tenant.schema_name == "public":
            raise exceptions.AuthenticationFailed(_("Tokens are valid only on their workspace's address."))
        try:
            token = _token_for(parts[1].decode("ascii"))
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from exc
        installation = token.installation if token is not None else None
        if (
            token is None
            or installation is None
            or installation.tenant_id != tenant.pk
            or installation.state != InstallationState.INSTALLED
            or token.expires <= timezone.now()
        ):
            raise exceptions.AuthenticationFailed(_("Invalid or expired token."))
        app = token.application
        if app is None or token.user_id is None or app.status == AppStatus.SUSPENDED or not app.in_force().live:
            raise exceptions.AuthenticationFailed(_("This app is suspended."))
        member = (
            Member.objects.select_related("user")
            .filter(user_id=token.user_id, active=True, user__is_active=True)
            .order_by()
            .first()
        )
        if member is None:
            raise exceptions.AuthenticationFailed(_("Invalid or expired token."))
        self._check_scopes(request, token)
        allowed, wait = app_rate_allows(app_id=app.pk, tenant_id=tenant.pk)
        if not allowed:
            raise AppRateLimited(wait=wait)
        api_call_count(app_id=app.pk, tenant_id=tenant.pk)
        request._request.member = member  # type: ignore[attr-defined]
        acting_via_set(app.name)
        _audit_call(request, member)
        translation.activate(member.language)
        return member.user, token

    def _check_scopes(self, request: Request, token: AccessToken) -> None:
        installation = token.installation
        assert installation is not None
        assert token.application is not None
        held = (
            scopes_held(token.scope.split())
            & scopes_held(installation.scopes)
            & scopes_held(token.application.in_force().scopes)
        )
        match = request._request.resolver_match
        method = request._request.method or "GET"
        needed = required_scopes(match.url_name, match.kwargs, method) if match is not None else None
        if needed is None:
            raise exceptions.PermissionDenied(_("OAuth apps cannot call this endpoint."))
        missing = sorted(needed - held)
        if missing:
            raise exceptions.PermissionDenied(
                _("This app's token lacks the scope %(scopes)s for this call.") % {"scopes": ", ".join(missing)}
            )

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class AppTokenScheme(OpenApiAuthenticationExtension):
    target_class = "marketplace.apps.authentication.AppTokenAuthentication"
    name = "oauth2"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "oauth2",
            "flows": {
                "authorizationCode": {
                    "authorizationUrl": "/oauth/authorize/",
                    "tokenUrl": "/oauth/token/",
                    "refreshUrl": "/oauth/token/",
                    "scopes": {},
                }
            },
        }
