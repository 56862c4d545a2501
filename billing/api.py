"""The plan's daily API quota as a DRF throttle: it runs after authentication and permissions, so only
requests of the tenant's own members count (an anonymous caller cannot use up a tenant's quota)."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from billing import entitlements


class ApiQuotaExceeded(Throttled):
    """429 with Retry-After, a translated message and the billing page's address (saas.api)."""

    def __init__(self, *, wait: int, message: str) -> None:
        super().__init__(wait=wait)
        self.retry_after = wait
        self.message = message


class TenantDailyQuotaThrottle(BaseThrottle):
    """Requests of a tenant per UTC day, against its plan's limit: one Redis round trip (INCR+EXPIRE)."""

    def allow_request(self, request: Request, view: Any) -> bool:
        raw = request._request
        tenant = getattr(raw, "tenant", None)
        if tenant is None or getattr(raw, "member", None) is None:
            return True
        allowed, retry_after = entitlements.api_request_count(tenant=tenant)
        if not allowed:
            raise ApiQuotaExceeded(wait=retry_after, message=entitlements.api_quota_message(tenant=tenant))
        return True
