"""Reads of the extension catalog."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, QuerySet

from marketplace.catalog.models import Category, Listing, ReviewState, Version


def listing_list_published(*, category: str = "") -> QuerySet[Listing]:
    """Listings with at least one approved version, by name (optionally of one category)."""
    approved = Version.objects.filter(listing=OuterRef("pk"), state=ReviewState.APPROVED)
    qs = Listing.objects.filter(Exists(approved), partner__is_active=True).select_related("partner")
    if category in Category.values:
        qs = qs.filter(category=category)
    return qs.order_by("name")


def listing_get_published(*, slug: str) -> Listing | None:
    return listing_list_published().filter(slug=slug).first()


FEATURE = "marketplace"


def marketplace_entitled(*, tenant: Any) -> bool:
    """Whether the tenant's plan includes the `marketplace` feature (billing.entitlements; a tenant
    without a plan is not limited)."""
    from billing import entitlements

    return entitlements.feature_enabled(tenant=tenant, feature=entitlements.FEATURE_MARKETPLACE)


def categories() -> list[tuple[str, Any]]:
    return list(Category.choices)


def installed_map() -> dict[int, Any]:
    """listing id -> this tenant's installation (current schema)."""
    from marketplace.installs.models import ExtensionInstallation

    return {i.listing_id: i for i in ExtensionInstallation.objects.all()}
