"""Billing on every tenant request, without a query: the tenant (cached with its domain by the router)
carries its plan code and dunning stage, and plans are cached per process (`entitlements`).

- A workspace billing suspended: only signing in/out and the billing page work (the billing views
  admit admins and members allowed to manage billing); everyone else gets a clear page (403).
- Features the plan does not include: their screens and the REST API are refused (403, with a link
  to the billing page); the navigation hides them (`context_processors`).
The daily API quota is a DRF throttle (`billing.api`), so that only authenticated members' requests
count.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django_tenants.utils import get_public_schema_name

from billing import entitlements
from tenants.models import BillingStage, TenantStatus

# What still works in a workspace billing suspended.
SUSPENDED_OPEN_PREFIXES = (
    "/settings/billing/",
    "/accounts/login/",
    "/accounts/logout/",
    "/auth/handover/",
    "/i18n/",
    "/static/",
)
# Paths of features a plan may leave out. Custom fields are checked in the engine's services (their
# screens show, without the "add" form, so existing fields stay readable).
FEATURE_PREFIXES: tuple[tuple[str, str], ...] = (
    ("/api/", entitlements.FEATURE_API),
    ("/settings/api-tokens/", entitlements.FEATURE_API),
    ("/settings/access/", entitlements.FEATURE_ACCESS_CONTROL),
    ("/settings/audit/", entitlements.FEATURE_AUDIT),
)
FEATURE_PATHS = tuple(prefix for prefix, _feature in FEATURE_PREFIXES)


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


def _page(request: HttpRequest, template: str, context: dict[str, object], status: int) -> HttpResponse:
    response = TemplateResponse(request, template, context, status=status)
    response.render()
    return response


class BillingMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tenant = getattr(request, "tenant", None)
        if tenant is None or tenant.schema_name == get_public_schema_name():
            return self.get_response(request)
        path = request.path

        if (
            getattr(tenant, "billing_stage", "") == BillingStage.SUSPENDED
            and tenant.status == TenantStatus.SUSPENDED
            and not path.startswith(SUSPENDED_OPEN_PREFIXES)
        ):
            message = _(
                "This workspace is suspended because a payment is overdue. Nothing has been deleted: an "
                "administrator can pay on the billing page and everything is restored at once."
            )
            if _wants_json(request):
                return JsonResponse(
                    {"detail": message, "code": "billing_suspended", "upgrade_url": entitlements.UPGRADE_URL},
                    status=403,
                )
            return _page(request, "billing/suspended.html", {"message": message}, status=403)

        for prefix, feature in FEATURE_PREFIXES if path.startswith(FEATURE_PATHS) else ():
            if path.startswith(prefix) and not entitlements.feature_enabled(tenant=tenant, feature=feature):
                message = entitlements.feature_message(feature=feature, tenant=tenant)
                if _wants_json(request):
                    return JsonResponse(
                        {
                            "detail": message,
                            "code": "feature_not_in_plan",
                            "feature": feature,
                            "upgrade_url": entitlements.UPGRADE_URL,
                        },
                        status=403,
                    )
                return _page(request, "billing/not_in_plan.html", {"message": message}, status=403)

        return self.get_response(request)
