"""What a tenant's plan allows, checked where the work happens (ADR 0012).

Cheap by design, because some checks sit on hot paths:
- the plan code travels with the tenant (`Tenant.plan_code`, cached with its domain by the router),
  and a plan's entitlements are kept per process for `BILLING_PLAN_CACHE_SECONDS` (operators' edits
  reach every process within that time; this process forgets at once): no SQL per request;
- records are counted once and then cached per tenant in Redis, and every create adds to the cached
  figure; an exact recount happens only when a create would cross the limit;
- API requests are counted per tenant per UTC day in one Redis round trip (INCR + EXPIRE).

A tenant without a plan (created before billing, or while no plan was the default) is not limited.
Limits are checked before a write; two concurrent creates at the very edge may both pass (the cached
count is not a lock): a limit may be exceeded by the few records in flight, never by more.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

UPGRADE_URL = "/settings/billing/"
DAY_SECONDS = 24 * 60 * 60
MB = 1024 * 1024

# Feature codes plans may carry (Plan.features) and what they switch on. `crm` is the CRM itself
# and `sso` is reserved (single sign-on is not built): neither is enforced.
FEATURE_API = "api"
FEATURE_CUSTOM_FIELDS = "custom_fields"
FEATURE_ACCESS_CONTROL = "access_control"
FEATURE_AUDIT = "audit"
FEATURE_MARKETPLACE = "marketplace"  # installing extensions (marketplace.catalog)
ENFORCED_FEATURES = (FEATURE_API, FEATURE_CUSTOM_FIELDS, FEATURE_ACCESS_CONTROL, FEATURE_AUDIT, FEATURE_MARKETPLACE)
KNOWN_FEATURES = ("crm", "sso", *ENFORCED_FEATURES)


@dataclass(frozen=True)
class Entitlements:
    plan_code: str
    plan_name: str
    features: frozenset[str]
    max_members: int | None
    max_records: int | None
    max_storage_mb: int | None
    max_api_requests_per_day: int | None

    def allows(self, feature: str) -> bool:
        return feature in self.features


class PlanLimitReached(ValidationError):
    """A write the tenant's plan does not allow. Shown as a form error or an API 403, with a link to
    the billing page."""

    def __init__(self, message: str, *, limit: str) -> None:
        super().__init__({"non_field_errors": [message]})
        self.limit = limit
        self.text = message
        self.upgrade_url = UPGRADE_URL


class FeatureNotInPlan(PlanLimitReached):
    """A feature the tenant's plan does not include."""


_plans: dict[str, tuple[float, Entitlements | None]] = {}
_schemas: dict[str, tuple[float, str]] = {}
_lock = threading.Lock()


def plans_forget() -> None:
    """Drop this process's copies of plans and plan codes (after an operator or billing changed them)."""
    with _lock:
        _plans.clear()
        _schemas.clear()


def _entitlements_of(code: str) -> Entitlements | None:
    now = time.monotonic()
    hit = _plans.get(code)
    if hit is not None and hit[0] > now:
        return hit[1]
    from billing.models import Plan

    plan = Plan.objects.filter(code=code).first()
    value = (
        Entitlements(
            plan_code=plan.code,
            plan_name=plan.name,
            features=frozenset(str(f) for f in (plan.features or [])),
            max_members=plan.max_members,
            max_records=plan.max_records,
            max_storage_mb=plan.max_storage_mb,
            max_api_requests_per_day=plan.max_api_requests_per_day,
        )
        if plan is not None
        else None
    )
    with _lock:
        _plans[code] = (now + settings.BILLING_PLAN_CACHE_SECONDS, value)
    return value


def _plan_code(tenant: Any) -> str:
    """The plan code of a Tenant, or of the schema a FakeTenant (schema_context) stands for."""
    code = getattr(tenant, "plan_code", None)
    if code is not None:
        return str(code)
    schema = str(getattr(tenant, "schema_name", "") or "")
    now = time.monotonic()
    hit = _schemas.get(schema)
    if hit is not None and hit[0] > now:
        return hit[1]
    from tenants.models import Tenant

    found = Tenant.objects.filter(schema_name=schema).values_list("plan_code", flat=True).first() or ""
    with _lock:
        _schemas[schema] = (now + settings.BILLING_PLAN_CACHE_SECONDS, found)
    return found


def entitlements_for(tenant: Any) -> Entitlements | None:
    """The tenant's plan entitlements; None when it has no plan (nothing is limited then)."""
    if tenant is None:
        return None
    code = _plan_code(tenant)
    return _entitlements_of(code) if code else None


def current_tenant() -> Any:
    """The tenant of the connection's schema (a Tenant in requests, a FakeTenant in schema_context)."""
    from tenants import runtime

    return None if runtime.in_public_schema() else runtime.current_tenant()


def feature_enabled(*, tenant: Any, feature: str) -> bool:
    ent = entitlements_for(tenant)
    return ent is None or ent.allows(feature)


FEATURE_NAMES = {
    FEATURE_API: lambda: _("The REST API"),
    FEATURE_CUSTOM_FIELDS: lambda: _("Custom fields"),
    FEATURE_ACCESS_CONTROL: lambda: _("Roles, profiles and sharing rules"),
    FEATURE_AUDIT: lambda: _("The audit trail"),
    FEATURE_MARKETPLACE: lambda: _("Extensions"),
}


def feature_message(*, feature: str, tenant: Any) -> str:
    ent = entitlements_for(tenant)
    name = FEATURE_NAMES[feature]() if feature in FEATURE_NAMES else feature
    return _(
        "%(feature)s is not included in your plan (%(plan)s). An administrator can upgrade on the billing page."
    ) % {
        "feature": name,
        "plan": ent.plan_name if ent else "",
    }


def feature_require(*, tenant: Any, feature: str) -> None:
    """FeatureNotInPlan when the tenant's plan does not include `feature`."""
    if not feature_enabled(tenant=tenant, feature=feature):
        raise FeatureNotInPlan(feature_message(feature=feature, tenant=tenant), limit=feature)


# Members ---------------------------------------------------------------------------------------


def members_check(*, adding: int = 1, pending_invitations: bool = False) -> None:
    """Inside a tenant schema: refuse when `adding` more active members (and, for a new invitation,
    the invitations still pending) would go beyond the plan's members limit."""
    tenant = current_tenant()
    ent = entitlements_for(tenant)
    if ent is None or ent.max_members is None:
        return
    from django.utils import timezone

    from crm_apps.access.models import Invitation, Member

    used = Member.objects.filter(active=True).count()
    if pending_invitations:
        used += Invitation.objects.filter(
            accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
        ).count()
    if used + adding > ent.max_members:
        raise PlanLimitReached(
            _(
                "Your plan (%(plan)s) allows %(limit)d members, counting pending invitations, and they are all "
                "taken. An administrator can upgrade on the billing page."
            )
            % {"plan": ent.plan_name, "limit": ent.max_members},
            limit="members",
        )


# Records ---------------------------------------------------------------------------------------

RECORDS_KEY = "billing:records"
RECORDS_FRESH_KEY = "billing:records:fresh"
RECOUNT_SECONDS = 60


def _cached(key: str, what: str) -> Any:
    """A cached figure, or None when it is not cached or the cache cannot be reached (it is counted then)."""
    try:
        return cache.get(key)
    except Exception:
        logger.warning("%s cache unavailable", what, exc_info=True)
        return None


def _records_counted(schema: str, *, fresh: bool) -> int:
    """The tenant's live records: the cached figure, or a count (estimates for big tables)."""
    if not fresh:
        cached = _cached(RECORDS_KEY, "record count")
        if cached is not None:
            return int(cached)
    from billing.selectors import record_count

    counted = record_count(schema)
    try:
        cache.set(RECORDS_KEY, counted, settings.BILLING_RECORD_COUNT_SECONDS)
        cache.set(RECORDS_FRESH_KEY, 1, RECOUNT_SECONDS)
    except Exception:
        logger.warning("record count cache unavailable", exc_info=True)
    return counted


def records_check(*, adding: int) -> None:
    """Inside a tenant schema: refuse `adding` new CRM records beyond the plan's records limit."""
    tenant = current_tenant()
    ent = entitlements_for(tenant)
    if ent is None or ent.max_records is None:
        return
    schema = tenant.schema_name
    used = _records_counted(schema, fresh=False)
    if used + adding > ent.max_records and not _cached(RECORDS_FRESH_KEY, "record count"):
        used = _records_counted(schema, fresh=True)  # deletes since the figure was cached count too
    if used + adding > ent.max_records:
        raise PlanLimitReached(
            _(
                "Your plan (%(plan)s) allows %(limit)s records and %(used)s are in use, so %(adding)s more "
                "cannot be added. Delete records you no longer need, or an administrator can upgrade on the "
                "billing page."
            )
            % {
                "plan": ent.plan_name,
                "limit": f"{ent.max_records:,}",
                "used": f"{used:,}",
                "adding": f"{adding:,}",
            },
            limit="records",
        )
    # Counted now, not after commit: a rolled-back create over-counts until the next recount, which
    # happens at the latest when the limit seems reached, so nobody is refused on a stale figure.
    _records_add(adding)


def _records_add(count: int) -> None:
    try:
        cache.incr(RECORDS_KEY, count)
    except ValueError:
        pass  # not cached (expired): the next check counts
    except Exception:
        logger.warning("record count cache unavailable", exc_info=True)


# Storage ---------------------------------------------------------------------------------------

STORAGE_KEY = "billing:storage-bytes"


def storage_check(*, adding_bytes: int) -> None:
    """Inside a tenant schema: refuse an upload of `adding_bytes` beyond the plan's storage limit.
    Upload paths call it before writing the file (the figure is cached like the record count)."""
    if adding_bytes < 0:
        raise ValueError("adding_bytes must not be negative")
    tenant = current_tenant()
    ent = entitlements_for(tenant)
    if ent is None or ent.max_storage_mb is None:
        return
    from billing.selectors import storage_bytes

    used = _cached(STORAGE_KEY, "storage")
    if used is None:
        used = storage_bytes(tenant.schema_name)
        try:
            cache.set(STORAGE_KEY, used, settings.BILLING_RECORD_COUNT_SECONDS)
        except Exception:
            logger.warning("storage cache unavailable", exc_info=True)
    if int(used) + adding_bytes > ent.max_storage_mb * MB:
        raise PlanLimitReached(
            _(
                "Your plan (%(plan)s) includes %(limit)s MB of file storage and this file does not fit. Delete files "
                "you no longer need, or an administrator can upgrade on the billing page."
            )
            % {"plan": ent.plan_name, "limit": f"{ent.max_storage_mb:,}"},
            limit="storage",
        )
    _storage_add(adding_bytes)


def _storage_add(count: int) -> None:
    try:
        cache.incr(STORAGE_KEY, count)
    except ValueError:
        pass
    except Exception:
        logger.warning("storage cache unavailable", exc_info=True)


# API requests ----------------------------------------------------------------------------------

API_DAY_KEY = "billing:api-day"


def api_requests_today() -> int:
    """Inside a tenant schema: API requests counted so far today (UTC)."""
    from saas.throttle import window_value

    return window_value(API_DAY_KEY, window=DAY_SECONDS)


def api_request_count(*, tenant: Any) -> tuple[bool, int]:
    """Count one API request of the tenant today; (allowed, seconds until the quota resets)."""
    ent = entitlements_for(tenant)
    if ent is None or ent.max_api_requests_per_day is None:
        return True, 0
    from saas.throttle import window_count

    count, remaining = window_count(API_DAY_KEY, window=DAY_SECONDS)
    return count <= ent.max_api_requests_per_day, remaining


def api_quota_message(*, tenant: Any) -> str:
    ent = entitlements_for(tenant)
    return _(
        "Your plan (%(plan)s) allows %(limit)s API requests a day and today's are used up. The quota resets at "
        "midnight UTC; an administrator can upgrade on the billing page."
    ) % {"plan": ent.plan_name if ent else "", "limit": f"{ent.max_api_requests_per_day:,}" if ent else ""}
