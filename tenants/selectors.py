"""Reads of the public schema."""

from __future__ import annotations

import zoneinfo

from django.db.models import Count, Q, QuerySet

from tenants.models import BillingStage, Tenant, TenantStatus, WorkspaceMembership


def workspaces_for_email(*, email: str) -> QuerySet[WorkspaceMembership]:
    """The active workspaces of the user with this email (not suspended, except by billing: its admins
    must still find the way to the billing page)."""
    return (
        WorkspaceMembership.objects.select_related("tenant")
        .filter(user__email__iexact=email, user__is_active=True, is_active=True)
        .exclude(Q(tenant__status=TenantStatus.SUSPENDED) & ~Q(tenant__billing_stage=BillingStage.SUSPENDED))
        .order_by("tenant__name")
    )


def tenant_list_with_member_counts() -> QuerySet[Tenant]:
    return Tenant.objects.annotate(member_count=Count("memberships", filter=Q(memberships__is_active=True)))


def workspace_zone(tenant: Tenant | None = None) -> zoneinfo.ZoneInfo:
    """The workspace's time zone (the current tenant's when none is given); UTC for a name that no longer
    exists (a zoneinfo database update may remove one)."""
    from tenants.runtime import current_tenant

    name = getattr(tenant if tenant is not None else current_tenant(), "timezone", "") or "UTC"
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")
