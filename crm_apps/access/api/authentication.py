"""`Authorization: Token <key>`, looked up in the current tenant's schema only.

A token of tenant A presented on tenant B's host finds no row in B's schema: 401.
"""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from crm_apps.access.api.scopes import token_allows
from crm_apps.access.models import ApiToken
from crm_apps.access.services import api_token_authenticate
from tenants.models import User


class TenantTokenAuthentication(BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid token header."))
        tenant = getattr(request._request, "tenant", None)
        if tenant is None or tenant.schema_name == "public":
            raise exceptions.AuthenticationFailed(_("Tokens are valid only on their workspace's address."))
        try:
            key = parts[1].decode()
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from exc
        token = api_token_authenticate(key=key)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if token.scopes is not None:
            match = request._request.resolver_match
            allowed = match is not None and token_allows(
                token.scopes, match.url_name, match.kwargs, request._request.method or "GET"
            )
            if not allowed:
                raise exceptions.PermissionDenied(_("This extension's token does not have the scope for this call."))
        request._request.member = token.member  # type: ignore[attr-defined]
        translation.activate(token.member.language)
        return token.member.user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class TenantTokenScheme(OpenApiAuthenticationExtension):
    target_class = "crm_apps.access.api.authentication.TenantTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {"type": "apiKey", "in": "header", "name": "Authorization", "description": "Token <key>"}
