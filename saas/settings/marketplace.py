"""Marketplace: extensions' outgoing webhooks."""

from saas import env

# Private, loopback and link-local webhook targets are refused unless this is on (development only).
WEBHOOKS_ALLOW_PRIVATE = env.WEBHOOKS_ALLOW_PRIVATE

# OAuth 2.0 apps (marketplace/apps, ADR 0045): django-oauth-toolkit's models are ours, in `public`, each
# token bound to a tenant's installation; authorization code + PKCE S256 only; tokens hashed at rest.
OAUTH2_PROVIDER_APPLICATION_MODEL = "marketplace_apps.App"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "marketplace_apps.AccessToken"
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "marketplace_apps.RefreshToken"
OAUTH2_PROVIDER_GRANT_MODEL = "marketplace_apps.Grant"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "marketplace_apps.IDToken"
OAUTH2_PROVIDER = {
    "OAUTH2_VALIDATOR_CLASS": "marketplace.apps.validators.TenantOAuth2Validator",
    "SCOPES_BACKEND_CLASS": "marketplace.apps.scopes.ModuleScopes",
    "PKCE_REQUIRED": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    # RFC 9207: the authorization response names its issuer, the workspace's own address (each tenant host
    # is its own authorization server), so an app talking to several workspaces can tell them apart.
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
    "REFRESH_TOKEN_EXPIRE_SECONDS": 60 * 60 * 24 * 90,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "REQUEST_APPROVAL_PROMPT": "force",
    "ALLOWED_REDIRECT_URI_SCHEMES": env.OAUTH_REDIRECT_SCHEMES,
    "ERROR_RESPONSE_WITH_SCOPES": True,
}
# Requests an app may make per minute in one workspace (counted in Redis; let through when Redis is down).
OAUTH_APP_RATE_PER_MINUTE = env.OAUTH_APP_RATE_PER_MINUTE
# Partner sandboxes (marketplace/apps/sandbox.py) one person may create, across all the partners they belong
# to (each partner also has its own limit, SANDBOX_LIMIT): creating more partners multiplies nothing.
PARTNER_SANDBOXES_PER_USER = 2
# After Redis failed to count an app's API call, counting is skipped this long in that process (the call
# itself goes on), so an unreachable Redis does not slow every request by its connect timeouts.
APP_USAGE_BACKOFF_SECONDS = 30
# The same for the per-app rate limit (marketplace/apps/rate.py): Redis failing or hanging lets app calls
# through uncounted for this long in that process instead of adding a timeout to each of them.
APP_RATE_BACKOFF_SECONDS = 30
