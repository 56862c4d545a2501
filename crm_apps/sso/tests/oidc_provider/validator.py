from __future__ import annotations

from typing import Any

from django.conf import settings
from oauth2_provider.oauth2_validators import OAuth2Validator


class Validator(OAuth2Validator):
    """ID token claims from the test users' table (IDP_USERS): email, email_verified, name, amr."""

    oidc_claim_scope = {**OAuth2Validator.oidc_claim_scope, "amr": "openid"}

    def get_additional_claims(self, request: Any) -> dict[str, Any]:
        user = next(u for u in settings.IDP_USERS if u["username"] == request.user.username)  # type: ignore[misc]
        return {
            "email": user["email"],
            "email_verified": user.get("email_verified", True),
            "name": user.get("name", ""),
            "amr": user.get("amr", ["pwd"]),
        }
