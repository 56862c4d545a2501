from saas import env

# Django's database sessions; on a workspace the session and its member are read in one statement (issue 25).
SESSION_ENGINE = "crm_apps.access.session_store"
# Host-only cookies: a login on acme.<domain> never authenticates on globex.<domain>.
SESSION_COOKIE_DOMAIN = None
CSRF_COOKIE_DOMAIN = None
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env.PUBLIC_SCHEME == "https"
CSRF_COOKIE_SECURE = env.PUBLIC_SCHEME == "https"
SESSION_COOKIE_AGE = 60 * 60 * 24 * 14

ALLOWED_HOSTS = [env.BASE_DOMAIN, f".{env.BASE_DOMAIN}"]
# Same-host requests pass Django's origin check; no sibling subdomain is ever trusted.
CSRF_TRUSTED_ORIGINS: list[str] = []
# Only behind a proxy that overwrites X-Forwarded-Host (infra/ configs do).
USE_X_FORWARDED_HOST = env.TRUST_X_FORWARDED_HOST
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.TRUST_X_FORWARDED_HOST else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# HSTS once the site is served over HTTPS (a year, subdomains included: every workspace is a subdomain).
SECURE_HSTS_SECONDS = 31_536_000 if env.PUBLIC_SCHEME == "https" else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.PUBLIC_SCHEME == "https"
# The `preload` token (the policy already meets the list's rules); submitting the domain to
# hstspreload.org stays the operator's decision. HSTS_PRELOAD=0 leaves the token out.
SECURE_HSTS_PRELOAD = env.PUBLIC_SCHEME == "https" and env.HSTS_PRELOAD
# Plain HTTP is redirected to HTTPS (behind the proxy, X-Forwarded-Proto says which one the client used);
# the health endpoints answer on any scheme, for probes that reach a pod directly.
SECURE_SSL_REDIRECT = env.PUBLIC_SCHEME == "https"
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
# Content-Security-Policy and Permissions-Policy: saas/headers.py (CSP_OVERRIDES: directive -> sources).
CSP_OVERRIDES: dict[str, str] = {}
# Operators must use a second factor on the public host (docs/mfa.md). Off only in the test settings,
# for the older console tests that sign an operator in without one; tenants/mfa/tests turn it back on.
MFA_OPERATORS_REQUIRED = True
