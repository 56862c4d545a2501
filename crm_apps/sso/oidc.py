"""OpenID Connect relying party: authorization code flow with PKCE (authlib's OAuth2Session), state and
nonce bound to the browser's session, the ID token's signature checked against the provider's JWKS and
its claims (issuer, audience, expiry, nonce, `azp`) with joserfc.

Nothing here trusts the browser: the code is exchanged over a back channel with the client secret and
the PKCE verifier, and only the signed ID token's claims say who signed in.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import time
from typing import Any
from urllib.parse import urlsplit

import urllib3
from authlib.integrations.requests_client import OAuth2Session
from django.core.cache import cache
from django.utils.translation import gettext as _
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from crm_apps.sso.crypto import secret_decrypt
from crm_apps.sso.models import IdentityProvider, Protocol
from crm_apps.sso.services import Identity, SsoRefused
from saas import webhooks
from saas.webhooks import UnsafeTarget, resolve_target

HTTP_TIMEOUT = 10
SCOPES = "openid email profile"
# Asymmetric algorithms only: an HMAC token "signed" with a public key must never pass.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]
LEEWAY_SECONDS = 60
FLOW_TTL_SECONDS = 600
JWKS_CACHE_SECONDS = 300
DOCUMENT_MAX_BYTES = 1024 * 1024
log = logging.getLogger(__name__)


class DiscoveryError(Exception):
    pass


def url_check(url: str) -> None:
    """Outgoing requests go only to public addresses (saas/webhooks.py's rule; `WEBHOOKS_ALLOW_PRIVATE` in
    development and tests), so an administrator cannot make the server probe its own network."""
    try:
        resolve_target(url)
    except UnsafeTarget as exc:
        raise DiscoveryError(_("This address cannot be reached from here (%(why)s).") % {"why": exc}) from exc


def fetch_json(url: str) -> Any:
    """GET a JSON document from the checked address of `url` (saas.webhooks.get: never re-resolved, no
    redirect followed). DiscoveryError with a generic message otherwise; the cause goes to the log."""
    url_check(url)
    try:
        status, body = webhooks.get(url, {"Accept": "application/json"}, limit=DOCUMENT_MAX_BYTES)
        if status != 200:
            raise ValueError(f"HTTP {status}")
        return json.loads(body)
    except (UnsafeTarget, urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
        log.info("sso: fetching %s failed: %s", url, exc)
        raise DiscoveryError(_("The document could not be read from this address.")) from exc


def discovery_fetch(url: str) -> dict[str, str]:
    """The endpoints of a provider's discovery document (`.../.well-known/openid-configuration`)."""
    doc = fetch_json(url)
    keys = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
    if not isinstance(doc, dict) or any(not isinstance(doc.get(k), str) or not doc.get(k) for k in keys):
        raise DiscoveryError(_("The discovery document lacks the issuer, an endpoint or the JWKS URL."))
    for k in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if urlsplit(doc[k]).scheme not in ("http", "https"):
            raise DiscoveryError(_("The discovery document lacks the issuer, an endpoint or the JWKS URL."))
    return {f"oidc_{k}": doc[k] for k in keys}


def redirect_uri(tenant_url: str) -> str:
    return f"{tenant_url.rstrip('/')}/sso/oidc/callback/"


def _client(provider: IdentityProvider, callback: str) -> OAuth2Session:
    return OAuth2Session(
        client_id=provider.oidc_client_id,
        client_secret=secret_decrypt(provider.oidc_client_secret_encrypted),
        scope=SCOPES,
        redirect_uri=callback,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )


def flow_start(*, provider: IdentityProvider, callback: str) -> tuple[str, dict[str, Any]]:
    """The provider's authorization URL and what the session keeps to check the answer."""
    state = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    url, _state = _client(provider, callback).create_authorization_url(
        provider.oidc_authorization_endpoint, state=state, nonce=nonce, code_verifier=verifier
    )
    flow = {"state": state, "nonce": nonce, "verifier": verifier, "at": int(time.time()), "provider": provider.pk}
    return url, flow


def _refused(message: str, reason: str) -> SsoRefused:
    return SsoRefused(message, reason=reason)


def flow_finish(*, provider: IdentityProvider, callback: str, flow: dict[str, Any] | None, params: Any) -> Identity:
    """Check the provider's answer against the session's flow, exchange the code, verify the ID token."""
    generic = _("Single sign-on did not complete. Please try again.")
    if not flow or flow.get("provider") != provider.pk or int(flow.get("at", 0)) + FLOW_TTL_SECONDS < time.time():
        raise _refused(generic, "no_flow")
    state = params.get("state") or ""
    if not hmac.compare_digest(str(flow.get("state", "")).encode(), str(state).encode()):
        raise _refused(generic, "state_mismatch")
    if params.get("error"):
        raise _refused(
            _("%(provider)s refused the sign-in (%(error)s).")
            % {"provider": provider.name, "error": str(params.get("error"))[:100]},
            "provider_error",
        )
    code = params.get("code") or ""
    if not code:
        raise _refused(generic, "no_code")
    try:
        url_check(provider.oidc_token_endpoint)
        token = _client(provider, callback).fetch_token(
            provider.oidc_token_endpoint,
            code=code,
            code_verifier=flow["verifier"],
            grant_type="authorization_code",
            timeout=HTTP_TIMEOUT,
        )
    except Exception as exc:  # authlib raises OAuthError or requests errors; the provider said no
        raise _refused(generic, f"token_exchange: {exc}"[:200]) from exc
    id_token = token.get("id_token")
    if not id_token:
        raise _refused(generic, "no_id_token")
    claims = id_token_verify(provider=provider, id_token=id_token, nonce=flow["nonce"])
    amr = claims.get("amr")
    mfa = " ".join(str(a) for a in amr) if isinstance(amr, list) else str(claims.get("acr") or "")
    return Identity(
        protocol=Protocol.OIDC,
        subject=f"oidc|{provider.oidc_issuer}|{claims['sub']}",
        email=str(claims.get("email") or ""),
        email_verified=claims.get("email_verified") is True or claims.get("email_verified") == "true",
        name=str(claims.get("name") or ""),
        mfa=mfa,
    )


def _jwks(uri: str, *, refresh: bool = False) -> KeySet:
    key = f"sso:jwks:{uri}"
    data = None if refresh else cache.get(key)
    if data is None:
        try:
            data = fetch_json(uri)
        except DiscoveryError as exc:
            raise _refused(_("The provider's signing keys could not be read."), f"jwks: {exc}"[:200]) from exc
        cache.set(key, data, JWKS_CACHE_SECONDS)
    return KeySet.import_key_set(data)


def id_token_verify(*, provider: IdentityProvider, id_token: str, nonce: str) -> dict[str, Any]:
    """The ID token's claims, once its signature (provider's JWKS, asymmetric algorithms), issuer,
    audience, `azp`, expiry, issue time and nonce are right; SsoRefused otherwise."""
    generic = _("Single sign-on did not complete. Please try again.")
    try:
        try:
            token = jwt.decode(id_token, _jwks(provider.oidc_jwks_uri), algorithms=ALGORITHMS)
        except JoseError:  # a rotated key: read the set again once
            token = jwt.decode(id_token, _jwks(provider.oidc_jwks_uri, refresh=True), algorithms=ALGORITHMS)
    except (JoseError, ValueError) as exc:
        raise _refused(generic, f"id_token_signature: {exc}"[:200]) from exc
    claims = dict(token.claims)
    registry = jwt.JWTClaimsRegistry(
        leeway=LEEWAY_SECONDS,
        iss={"essential": True, "value": provider.oidc_issuer},
        sub={"essential": True},
        aud={"essential": True, "value": provider.oidc_client_id},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(claims)
    except JoseError as exc:
        raise _refused(generic, f"id_token_claims: {exc}"[:200]) from exc
    aud = claims.get("aud")
    if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != provider.oidc_client_id:
        raise _refused(generic, "id_token_azp")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise _refused(generic, "id_token_sub")
    return claims
