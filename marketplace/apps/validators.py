"""django-oauth-toolkit's validator, bound to the tenant whose host the request came to.

The toolkit does the protocol (oauthlib); this adds the tenant: a code is issued only for an
installation the consenting admin just made on this tenant, and codes and refresh tokens are
accepted only on the host of their installation's tenant while it is installed. Every token row
the toolkit writes gets that installation.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.db import connection, transaction
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.oauth2.rfc6749 import errors

from marketplace.apps.models import AccessToken, AppInstallation, Grant, InstallationState, RefreshToken


def current_tenant_id() -> int | None:
    """The tenant of the host being served; None on the bare domain."""
    tenant = getattr(connection, "tenant", None)
    if tenant is None or tenant.schema_name == "public":
        return None
    return int(tenant.pk)


def _live(installation: AppInstallation | None) -> bool:
    return (
        installation is not None
        and installation.state == InstallationState.INSTALLED
        and installation.tenant_id == current_tenant_id()
    )


class TenantOAuth2Validator(OAuth2Validator):
    def is_pkce_required(self, client_id: str, request: Any) -> bool:
        # Asked while an authorization request is validated, after the client and redirect URI: refuse
        # "plain" (or no method, which means plain) there, so the app gets the error on its redirect URI.
        if request.code_challenge is not None and request.code_challenge_method != "S256":
            raise errors.InvalidRequestError(description='code_challenge_method must be "S256".', request=request)
        return True

    def save_authorization_code(
        self, client_id: str, code: dict[str, str], request: Any, *args: Any, **kwargs: Any
    ) -> None:
        from marketplace.apps.services import installation_consent

        with transaction.atomic():  # the installation and its code, or neither
            installation = installation_consent(app=request.client, user=request.user, scopes=list(request.scopes))
            grant = self._create_authorization_code(request, code)
            Grant.objects.filter(pk=grant.pk).update(installation=installation)

    def validate_code(self, client_id: str, code: str, client: Any, request: Any, *args: Any, **kwargs: Any) -> bool:
        grant = Grant.objects.select_related("installation").filter(code=code, application=client).first()
        if grant is None or not _live(grant.installation):
            return False
        if not super().validate_code(client_id, code, client, request, *args, **kwargs):
            return False
        request.installation = grant.installation
        return True

    def validate_refresh_token(self, refresh_token: str, client: Any, request: Any, *args: Any, **kwargs: Any) -> bool:
        if not super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):
            return False
        installation = AppInstallation.objects.filter(pk=request.refresh_token_instance.installation_id).first()
        if not _live(installation):
            return False
        request.installation = installation
        return True

    def _create_access_token(self, expires: Any, request: Any, token: Any, source_refresh_token: Any = None) -> Any:
        access_token = super()._create_access_token(expires, request, token, source_refresh_token)
        AccessToken.objects.filter(pk=access_token.pk).update(installation=request.installation)
        access_token.installation = request.installation
        return access_token

    def _create_refresh_token(
        self, request: Any, refresh_token_code: str, access_token: Any, previous_refresh_token: Any
    ) -> Any:
        refresh_token = super()._create_refresh_token(request, refresh_token_code, access_token, previous_refresh_token)
        RefreshToken.objects.filter(pk=refresh_token.pk).update(installation=request.installation)
        return refresh_token

    def revoke_token(self, token: str, token_type_hint: str | None, request: Any, *args: Any, **kwargs: Any) -> None:
        # Only tokens of this tenant's installations can be revoked on its host (RFC 7009: still 200 otherwise).
        tenant_id = current_tenant_id()
        if tenant_id is None or request.client is None:
            return
        checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
        lookup = {"token_checksum": checksum, "application": request.client, "installation__tenant_id": tenant_id}
        if not (AccessToken.objects.filter(**lookup).exists() or RefreshToken.objects.filter(**lookup).exists()):
            return
        super().revoke_token(token, token_type_hint, request, *args, **kwargs)

    def introspect_token(
        self, token: str, token_type_hint: str | None, request: Any, *args: Any, **kwargs: Any
    ) -> dict[str, Any] | None:
        """RFC 7662 for the authenticated app: its own access or refresh token, of an installation on
        this tenant that is installed, not expired, the app live; anything else is inactive (None)."""
        checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
        client = request.client
        lookup = {"token_checksum": checksum, "application": client}
        access = AccessToken.objects.select_related("installation", "user").filter(**lookup).first()
        if access is not None:
            if not _live(access.installation) or access.is_expired() or not client.in_force().live:
                return None
            return self._claims(access.installation, access.user, access.scope, access.expires, "access_token")
        refresh = RefreshToken.objects.select_related("installation", "user").filter(revoked=None, **lookup).first()
        if refresh is None or not _live(refresh.installation) or not client.in_force().live:
            return None
        return self._claims(
            refresh.installation,
            refresh.user,
            refresh.access_token.scope if refresh.access_token else "",
            None,
            "refresh_token",
        )

    @staticmethod
    def _claims(installation: Any, user: Any, scope: str, expires: Any, kind: str) -> dict[str, Any]:
        claims: dict[str, Any] = {
            "scope": scope,
            "client_id": installation.app.client_id,
            "token_type": "Bearer" if kind == "access_token" else "refresh_token",
            "username": user.email if user else "",
            "workspace": installation.tenant.schema_name,
            "installation": installation.pk,
        }
        if expires is not None:
            claims["exp"] = int(expires.timestamp())
        return claims
