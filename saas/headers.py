"""Security headers on every response: a Content-Security-Policy without inline or foreign script, a
Permissions-Policy that turns off the browser features the CRM never uses, and (through Django's
SecurityMiddleware settings in `saas/settings/security.py`) HSTS, Referrer-Policy, nosniff and
X-Frame-Options DENY.

Script, style, images, fonts, fetch/XHR/server-sent events and forms stay on the page's own host:
`'self'` is the tenant's subdomain, so one workspace's page cannot pull script from another's. Inline
`<script>` is refused everywhere (JSON data blocks from `json_script` are data, not script); inline style
attributes are allowed (`'unsafe-inline'` in style-src only: the design system sets a few widths in
markup). `data:` images are for pictures the app builds in the browser (previews)."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse

DEFAULT_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data: blob:",
    "font-src": "'self' data:",
    "connect-src": "'self'",
    "media-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "frame-ancestors": "'none'",
}
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
    "payment=(), usb=(), interest-cohort=()"
)


_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def site_origin(value: str, *, schemes: tuple[str, ...] = ("https", "http")) -> str | None:
    """`value` as a CSP/CORS origin, `scheme://host[:port]` lowercase (a trailing `/` allowed), or None when
    it is anything else: another scheme, a path, query, fragment, user, wildcard, or a host that is not
    dot-separated letters, digits and hyphens. Origins go into headers as they are (frame-ancestors, CORS),
    so this is what keeps a `;`, a quote or a space from adding a directive."""
    text = value.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    host = (parts.hostname or "").rstrip(".")
    if (
        parts.scheme.lower() not in schemes
        or parts.username is not None
        or parts.password is not None
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or "?" in text
        or "#" in text
        or not host
        or len(host) > 253
        or not all(_HOST_LABEL.match(label) for label in host.split("."))
    ):
        return None
    return f"{parts.scheme.lower()}://{host}" + (f":{port}" if port else "")


def csp_header(overrides: dict[str, str] | None = None) -> str:
    policy = {**DEFAULT_POLICY, **getattr(settings, "CSP_OVERRIDES", {}), **(overrides or {})}
    return "; ".join(f"{directive} {value}" for directive, value in policy.items() if value)


def csp_allow(request: HttpRequest, directive: str, source: str) -> None:
    """Allow one more source for `directive` on this response only (an installed app's origin in
    `frame-src` on the pages that show its frame); the directive starts from its policy value, or
    `default-src` when the policy does not set it."""
    extra: dict[str, list[str]] = request.__dict__.setdefault("_csp_extra", {})
    if source not in extra.setdefault(directive, []):
        extra[directive].append(source)


class SecurityHeadersMiddleware:
    """Adds the headers unless a view set its own (file downloads send a stricter sandbox policy)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.csp = csp_header()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            extra = request.__dict__.get("_csp_extra")
            if extra:
                policy = {**DEFAULT_POLICY, **getattr(settings, "CSP_OVERRIDES", {})}
                base = {d: policy.get(d) or policy["default-src"] for d in extra}
                response["Content-Security-Policy"] = csp_header({d: " ".join([base[d], *extra[d]]) for d in extra})
            else:
                response["Content-Security-Policy"] = self.csp
        if "Permissions-Policy" not in response:
            response["Permissions-Policy"] = PERMISSIONS_POLICY
        return response
