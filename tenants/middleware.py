"""Host -> tenant routing and tenant status enforcement."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.urls import set_urlconf
from django.utils.translation import gettext as _
from django_tenants.utils import remove_www

from saas.sentry import sentry_tag_tenant
from tenants.models import BillingStage, TenantStatus
from tenants.runtime import current_tenant, tenant_for_host, use_public_schema, use_tenant

# PROPFIND and REPORT are WebDAV's reads (RFC 4918, 3253): phones keep syncing a read-only workspace.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PROPFIND", "REPORT"})
# Writes that stay possible in a read-only tenant: signing in and out, and paying (billing makes a
# workspace read-only when its subscription ends; subscribing again must stay possible).
READ_ONLY_EXEMPT_PATHS = frozenset({"/accounts/login/", "/accounts/logout/", "/api/v1/auth/token"})
READ_ONLY_EXEMPT_PREFIXES = ("/auth/handover/", "/settings/billing/")


def public_page(request: HttpRequest, template: str, status: int, context: dict[str, object]) -> HttpResponse:
    """Render a page of the public site (used for unknown and suspended workspaces), in `public`."""
    use_public_schema()
    request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
    set_urlconf(settings.PUBLIC_SCHEMA_URLCONF)
    response = TemplateResponse(request, template, context, status=status)
    response.render()
    return response


def render_page(request: HttpRequest, template: str, context: dict[str, object], status: int) -> HttpResponse:
    response = TemplateResponse(request, template, context, status=status)
    response.render()
    return response


def wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


# Host header -> normalised host name, remembered per process for the hosts Django accepted: parsing and
# validating the same Host headers against ALLOWED_HOSTS on every request is wasted work. Forgotten when
# the settings it was validated against change (tests override them).
MAX_REMEMBERED_HOST_HEADERS = 5_000
MAX_REMEMBERED_HOST_HEADER_LENGTH = 255  # a DNS name's limit: longer headers are checked every time
_host_names: dict[str, str] = {}
_host_names_checked_with: list[Any] = [None, None]


def _hostname_parse(request: HttpRequest) -> str:
    return remove_www(request.get_host().split(":")[0]).lower().rstrip(".")


def request_hostname(request: HttpRequest) -> str:
    """The request's host name: lower-case, without port, `www.` or trailing dot. DisallowedHost when
    ALLOWED_HOSTS refuses it."""
    raw = request.META.get("HTTP_HOST")
    if raw is None or settings.USE_X_FORWARDED_HOST:
        return _hostname_parse(request)
    allowed, debug = settings.ALLOWED_HOSTS, settings.DEBUG
    if _host_names_checked_with[0] is not allowed or _host_names_checked_with[1] != debug:
        _host_names.clear()
        _host_names_checked_with[:] = [allowed, debug]
    hostname = _host_names.get(raw)
    if hostname is None:
        hostname = _hostname_parse(request)
        if len(raw) > MAX_REMEMBERED_HOST_HEADER_LENGTH:
            return hostname
        if len(_host_names) >= MAX_REMEMBERED_HOST_HEADERS:
            _host_names.clear()
        _host_names[raw] = hostname
    return hostname


class TenantRoutingMiddleware:
    """Selects the tenant schema from the Host header.

    The bare BASE_DOMAIN is the public site; `<slug>.<BASE_DOMAIN>` (or a registered custom
    domain) is a tenant; anything else gets the public site's 404 page and never a tenant.

    What django-tenants' TenantMainMiddleware does, for the hot path in fewer steps: the host name and
    the tenant are remembered per process (`tenant_for_host`), the schema is switched without a query
    (`search_path` is set with the first query that needs it), and the URLconf is only set when it is
    not the one Django starts every request with.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.route(request)
        if response is not None:
            return response
        return self.get_response(request)

    def route(self, request: HttpRequest) -> HttpResponse | None:
        # The domain table is in `public`, which is on every search_path: no switch needed to read it.
        try:
            hostname = request_hostname(request)
        except DisallowedHost:
            return public_page(request, "public/unknown_workspace.html", 404, {"hostname": ""})

        if hostname == settings.BASE_DOMAIN:
            use_public_schema()
            request.tenant = current_tenant()  # type: ignore[attr-defined]
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
            set_urlconf(request.urlconf)
            return None

        tenant = tenant_for_host(hostname)
        if tenant is None:
            if wants_json(request):
                return JsonResponse({"detail": _("No workspace at this address.")}, status=404)
            return public_page(request, "public/unknown_workspace.html", 404, {"hostname": hostname})
        if tenant.status == TenantStatus.SUSPENDED and tenant.billing_stage != BillingStage.SUSPENDED:
            # Billing's suspension is finer: billing.middleware keeps the billing page open for admins.
            if wants_json(request):
                return JsonResponse({"detail": _("This workspace is suspended.")}, status=403)
            return public_page(request, "public/suspended.html", 403, {"tenant_name": tenant.name})

        tenant.domain_url = hostname
        request.tenant = tenant  # type: ignore[attr-defined]
        use_tenant(tenant)
        sentry_tag_tenant(tenant.schema_name)
        # Django sets ROOT_URLCONF at the start of every request; a tenant host keeps it.
        request.urlconf = settings.ROOT_URLCONF
        return None


class TenantStatusMiddleware:
    """A read-only tenant refuses every write with a clear message; reading keeps working."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tenant = getattr(request, "tenant", None)
        if (
            tenant is not None
            and getattr(tenant, "status", None) == TenantStatus.READ_ONLY
            and request.method not in SAFE_METHODS
            and request.path not in READ_ONLY_EXEMPT_PATHS
            and not request.path.startswith(READ_ONLY_EXEMPT_PREFIXES)
        ):
            by_billing = bool(getattr(tenant, "billing_stage", ""))
            if by_billing:
                message = _(
                    "This workspace is read-only because a payment is overdue: changes are not possible until "
                    "it is paid. Reading and exporting still work; an administrator can pay on the billing page."
                )
            else:
                message = _("This workspace is read-only: changes are not possible right now.")
            if wants_json(request):
                body = {"detail": message, "code": "read_only"}
                if by_billing:
                    body["upgrade_url"] = "/settings/billing/"
                return JsonResponse(body, status=403)
            context = {"message": message, "by_billing": by_billing}
            return render_page(request, "tenant/read_only.html", context, status=403)
        return self.get_response(request)
