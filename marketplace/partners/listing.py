"""The authorised listing (a Stripe subscription) and the partner's Stripe Connect account.

Checkout sessions and subscriptions carry `metadata.kind = "partner_listing"` and `metadata.partner`
(our id); billing's webhook stores the events and routes them here (billing.events.register_kind).
Order of events follows billing's rule: every applied state remembers the Stripe time it describes
(`listing_stripe_updated`); an older event is refused and a tie is settled by fetching the
subscription from Stripe. The badge is on only while the subscription is active (partners.services.
partner_authorisation_follow): past due, unpaid or canceled take it away at once.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from billing import gateway
from billing.stripe_sync import row_apply, row_find, stripe_id, stripe_time
from marketplace.partners.connect import connect_account_fetched
from marketplace.partners.lock_objects import partner_lock
from marketplace.partners.models import ListingPrice, ListingState, Partner, PartnerMember
from marketplace.partners.permissions import LISTING_MANAGE, PAYOUTS_MANAGE, partner_has_perm
from marketplace.partners.services import partner_authorisation_follow

logger = logging.getLogger(__name__)
KIND = "partner_listing"

STATE_FROM_STRIPE = {
    "active": ListingState.ACTIVE,
    "trialing": ListingState.ACTIVE,
    "past_due": ListingState.PAST_DUE,
    "unpaid": ListingState.PAST_DUE,
    "paused": ListingState.PAST_DUE,
    "incomplete": ListingState.PENDING,
    "incomplete_expired": ListingState.CANCELED,
    "canceled": ListingState.CANCELED,
}


def _require(actor: PartnerMember, partner: Partner, perm: str) -> None:
    if actor.partner_id != partner.pk or not partner_has_perm(actor, perm):
        raise PermissionDenied(_("Your partner role does not allow this."))


_ts = stripe_time
_id = stripe_id


# Checkout ----------------------------------------------------------------------------------------


def listing_checkout_start(
    *, actor: PartnerMember, partner: Partner, price: ListingPrice, success_url: str, cancel_url: str
) -> str:
    """Owners subscribe to the authorised listing through Stripe Checkout; returns the Checkout URL."""
    _require(actor, partner, LISTING_MANAGE)
    if not price.is_active:
        raise ValidationError({"price": [_("This price is no longer offered.")]})
    if partner.listing_state == ListingState.ACTIVE:
        raise ValidationError(_("The listing is already paid; manage it from the billing portal."))
    if partner.listing_state == ListingState.PAST_DUE:
        # A second subscription would be ignored while this one lives: pay the overdue one instead.
        raise ValidationError(_("A payment is overdue: update your card in the billing portal."))
    metadata = {"kind": KIND, "partner": str(partner.pk)}
    customer_id = partner.listing_stripe_customer_id
    if not customer_id:
        customer_id = gateway.customer_create(
            name=partner.name,
            email=actor.user.email,
            metadata=metadata,
            idempotency_key=f"partner-{partner.pk}-customer-{int(partner.created_at.timestamp())}",
        )
        with transaction.atomic():
            locked = partner_lock(partner.pk)
            locked.listing_stripe_customer_id = customer_id
            locked.save(update_fields=["listing_stripe_customer_id", "updated_at"])
    session = gateway.checkout_session_create(
        customer_id=customer_id,
        client_reference_id=f"partner-{partner.pk}",
        line_items=[
            {
                "quantity": 1,
                "price_data": {
                    "currency": price.currency,
                    "unit_amount": price.amount,
                    "recurring": {"interval": price.period},
                    "product_data": {"name": _("Authorised partner listing")},
                },
            }
        ],
        metadata=metadata,
        success_url=success_url,
        cancel_url=cancel_url,
    )
    with transaction.atomic():
        locked = partner_lock(partner.pk)
        if locked.listing_state in (ListingState.NONE, ListingState.CANCELED):
            locked.listing_state = ListingState.PENDING
        locked.listing_period = price.period
        locked.save(update_fields=["listing_state", "listing_period", "updated_at"])
    return str(session["url"])


def listing_portal_url(*, actor: PartnerMember, partner: Partner, return_url: str) -> str:
    """Owners manage the card, invoices and cancellation of the listing on Stripe's customer portal."""
    _require(actor, partner, LISTING_MANAGE)
    if not partner.listing_stripe_customer_id:
        raise ValidationError(_("Subscribe to the listing first."))
    return gateway.portal_session_create(customer_id=partner.listing_stripe_customer_id, return_url=return_url)


# Webhooks ----------------------------------------------------------------------------------------


def _partner_for(obj: dict[str, Any], *, subscription_id: str = "") -> Partner | None:
    metadata = obj.get("metadata") or {}
    partner_id = str(metadata.get("partner") or "") if isinstance(metadata, dict) else ""
    return row_find(
        Partner.objects.all(),
        {"listing_stripe_subscription_id": subscription_id},
        {"listing_stripe_customer_id": _id(obj.get("customer"))},
        {"pk": int(partner_id) if partner_id.isdigit() else None},
    )


def _period_end(obj: dict[str, Any]) -> datetime | None:
    if obj.get("current_period_end"):
        return _ts(obj["current_period_end"])
    items = ((obj.get("items") or {}).get("data")) or []
    ends = [item.get("current_period_end") for item in items if item.get("current_period_end")]
    return _ts(max(ends)) if ends else None


def _interval(obj: dict[str, Any]) -> str:
    items = ((obj.get("items") or {}).get("data")) or []
    for item in items:
        recurring = (item.get("price") or {}).get("recurring") or {}
        if recurring.get("interval") in ("month", "year"):
            return str(recurring["interval"])
    return ""


def listing_subscription_apply(obj: dict[str, Any], version: int, *, authoritative: bool) -> str:
    """Apply a listing subscription taken at Stripe time `version`: applied, stale, tie, other or unknown."""
    subscription_id = _id(obj.get("id"))
    found = _partner_for(obj, subscription_id=subscription_id)
    if found is None:
        logger.warning("Listing subscription %s matches no partner", subscription_id)
        return "unknown"
    new_state = STATE_FROM_STRIPE.get(str(obj.get("status")), ListingState.PENDING)

    def apply(partner: Partner) -> str:
        partner.listing_stripe_subscription_id = subscription_id
        partner.listing_stripe_customer_id = _id(obj.get("customer")) or partner.listing_stripe_customer_id
        partner.listing_state = new_state
        partner.listing_period_end = _period_end(obj)
        partner.listing_period = _interval(obj) or partner.listing_period
        partner_authorisation_follow(partner=partner)
        partner.save()
        return "applied"

    with transaction.atomic():
        partner = partner_lock(found.pk)
        current = partner.listing_stripe_subscription_id
        if current and current != subscription_id:
            # Another subscription of this partner: only a live one may replace a canceled (or never
            # completed) current one, whatever the times.
            replaceable = partner.listing_state in (ListingState.CANCELED, ListingState.PENDING)
            if not (replaceable and new_state not in (ListingState.CANCELED, ListingState.PENDING)):
                return "other"
            partner.listing_stripe_updated = _ts(version)
            return apply(partner)
        return row_apply(partner, stamp="listing_stripe_updated", version=version, apply=apply, tie=not authoritative)


def _subscription_sync(obj: dict[str, Any], version: int) -> str:
    outcome = listing_subscription_apply(obj, version, authoritative=False)
    if outcome == "tie":
        fresh = gateway.subscription_retrieve(subscription_id=_id(obj.get("id")))
        outcome = listing_subscription_apply(fresh, version, authoritative=True)
    return outcome


def on_checkout_completed(session: dict[str, Any], version: int) -> str:
    """Link the partner to its listing subscription, then take the subscription's state from Stripe."""
    if session.get("mode") != "subscription":
        return "ignored"
    subscription_id = _id(session.get("subscription"))
    found = _partner_for(session)
    if found is None or not subscription_id:
        return "unknown"
    with transaction.atomic():
        partner = partner_lock(found.pk)
        if partner.listing_stripe_subscription_id != subscription_id and (
            not partner.listing_stripe_subscription_id
            or partner.listing_state in (ListingState.CANCELED, ListingState.PENDING)
        ):
            partner.listing_stripe_subscription_id = subscription_id
            partner.listing_stripe_customer_id = _id(session.get("customer")) or partner.listing_stripe_customer_id
            partner.save(update_fields=["listing_stripe_subscription_id", "listing_stripe_customer_id", "updated_at"])
    if gateway.is_configured():
        return listing_subscription_apply(
            gateway.subscription_retrieve(subscription_id=subscription_id), version, authoritative=True
        )
    return "linked"


def _invoice_subscription_id(invoice: dict[str, Any]) -> str:
    parent = invoice.get("parent") or {}
    details = parent.get("subscription_details") or {} if isinstance(parent, dict) else {}
    return _id(details.get("subscription")) or _id(invoice.get("subscription"))


def _state_from_invoice(invoice: dict[str, Any], version: int, *, from_states: set[str], to_state: str) -> str:
    found = row_find(Partner.objects.all(), {"listing_stripe_subscription_id": _invoice_subscription_id(invoice)})
    if found is None:
        return "unknown"

    def apply(partner: Partner) -> str:
        if partner.listing_state not in from_states:
            return "unchanged"  # not saved: the stamp stays where it was
        partner.listing_state = to_state
        partner_authorisation_follow(partner=partner)
        partner.save()
        return "applied"

    with transaction.atomic():
        return row_apply(partner_lock(found.pk), stamp="listing_stripe_updated", version=version, apply=apply)


def on_invoice_paid(invoice: dict[str, Any], version: int) -> str:
    """A paid renewal brings an overdue listing back (and the badge with it)."""
    return _state_from_invoice(
        invoice, version, from_states={ListingState.PAST_DUE, ListingState.PENDING}, to_state=ListingState.ACTIVE
    )


def on_invoice_payment_failed(invoice: dict[str, Any], version: int) -> str:
    """A failed renewal makes the listing past due: the badge lapses until it is paid."""
    return _state_from_invoice(invoice, version, from_states={ListingState.ACTIVE}, to_state=ListingState.PAST_DUE)


HANDLERS = {
    "checkout.session.completed": on_checkout_completed,
    "customer.subscription.created": _subscription_sync,
    "customer.subscription.updated": _subscription_sync,
    "customer.subscription.deleted": _subscription_sync,
    "invoice.paid": on_invoice_paid,
    "invoice.payment_failed": on_invoice_payment_failed,
}


# Stripe Connect ----------------------------------------------------------------------------------


def partner_connect_onboarding_start(
    *, actor: PartnerMember, partner: Partner, refresh_url: str, return_url: str
) -> str:
    """Owners open Stripe's Express onboarding; the account is created once and remembered."""
    _require(actor, partner, PAYOUTS_MANAGE)
    account_id = partner.stripe_account_id
    if not account_id:
        account = gateway.connect_account_create(
            email=actor.user.email,
            metadata={"kind": "partner_connect", "partner": str(partner.pk)},
            idempotency_key=f"partner-{partner.pk}-connect-{int(partner.created_at.timestamp())}",
        )
        account_id = str(account["id"])
        with transaction.atomic():
            locked = partner_lock(partner.pk)
            if not locked.stripe_account_id:
                locked.stripe_account_id = account_id
                locked.save(update_fields=["stripe_account_id", "updated_at"])
            account_id = locked.stripe_account_id
    return gateway.connect_account_link_create(account_id=account_id, refresh_url=refresh_url, return_url=return_url)


def partner_connect_refresh(*, partner: Partner) -> Partner:
    """Take the connected account's onboarding state from Stripe (after the partner returns from it)."""
    if not partner.stripe_account_id:
        return partner
    account = gateway.connect_account_retrieve(account_id=partner.stripe_account_id)
    connect_account_fetched(partner=partner, account=account)
    return Partner.objects.get(pk=partner.pk)
