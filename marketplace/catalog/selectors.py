"""Reads of the extension catalog."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, QuerySet, Sum

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


def dispute_totals(*, sales: QuerySet[Any] | None = None) -> dict[str, int]:
    """Amounts under dispute (`open`), lost to chargebacks (`lost`) and kept (`won`), in cents, of
    `sales` (all sales when None)."""
    from marketplace.catalog.models import DISPUTE_KEPT, DisputeStatus, SaleDispute

    disputes = SaleDispute.objects.all() if sales is None else SaleDispute.objects.filter(sale__in=sales)
    totals = {"open": 0, "lost": 0, "won": 0}
    for status, amount in disputes.values_list("status", "amount_cents"):
        key = "lost" if status == DisputeStatus.LOST else "won" if status in DISPUTE_KEPT else "open"
        totals[key] += amount
    return totals


def partner_money_totals() -> list[dict[str, Any]]:
    """Operators' view, per partner: sales, commission kept (after refunds reversed part of it), refunds,
    the partner's share, and what Stripe reported paid out (per currency) or failed; amounts under
    dispute and lost to chargebacks."""
    from marketplace.catalog.models import DISPUTE_KEPT, DisputeStatus, Sale, SaleDispute
    from marketplace.partners.models import Partner, Payout, PayoutStatus

    rows: dict[int, dict[str, Any]] = {}
    partners = dict(Partner.objects.values_list("pk", "name"))

    def row(partner_id: int) -> dict[str, Any]:
        return rows.setdefault(
            partner_id,
            {
                "partner": partners.get(partner_id, str(partner_id)),
                "sales": 0,
                "gross": 0,
                "commission": 0,
                "refunded": 0,
                "refunds": 0,
                "share": 0,
                "paid_out": {},
                "failed": 0,
                "disputed": 0,
                "dispute_lost": 0,
            },
        )

    for sale in Sale.objects.only("partner_id", "amount_cents", "fee_cents", "refunded_cents", "fee_refunded_cents"):
        r = row(sale.partner_id)
        r["sales"] += 1
        r["gross"] += sale.amount_cents
        r["commission"] += sale.fee_cents - sale.fee_refunded_cents
        r["refunded"] += sale.refunded_cents
        r["refunds"] += 1 if sale.refunded_cents else 0
        r["share"] += sale.partner_cents
    payouts = Payout.objects.order_by().values("partner_id", "currency", "status").annotate(total=Sum("amount_cents"))
    for payout in payouts:
        r = row(payout["partner_id"])
        if payout["status"] == PayoutStatus.PAID:
            r["paid_out"][payout["currency"].upper()] = payout["total"]
        elif payout["status"] == PayoutStatus.FAILED:
            r["failed"] += payout["total"]
    for partner_id, status, amount in SaleDispute.objects.values_list("sale__partner_id", "status", "amount_cents"):
        if status == DisputeStatus.LOST:
            row(partner_id)["dispute_lost"] += amount
        elif status not in DISPUTE_KEPT:
            row(partner_id)["disputed"] += amount
    return sorted(rows.values(), key=lambda r: str(r["partner"]))
