"""Paid extensions: Stripe Checkout as a destination charge on the partner's Connect account, and the
licence following Stripe's events.

Checkout sessions, payment intents and subscriptions carry `metadata.kind = "extension"`, `tenant`
(schema), `listing` and `licence` (our ids). Billing's webhook stores and orders the events and routes
this kind here (billing.events.register_kind). Every applied state remembers the Stripe time it
describes (`Licence.stripe_updated`); an older event is refused, as in billing.

One-time: mode=payment, `payment_intent_data.application_fee_amount` = commission in cents and
`transfer_data.destination` = the partner's account. Monthly (per workspace or per seat):
mode=subscription, `subscription_data.application_fee_percent` = commission and the same destination.
A running trial is passed to Stripe as `subscription_data.trial_end`, so the card is charged only when
the trial ends.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import gateway
from marketplace.catalog.models import Licence, LicenceState, Listing, Pricing, Sale
from marketplace.catalog.services import commission_percent

logger = logging.getLogger(__name__)
KIND = "extension"
MIN_TRIAL_FOR_STRIPE = timedelta(hours=48)

STATE_FROM_STRIPE = {
    "trialing": LicenceState.TRIAL,
    "active": LicenceState.ACTIVE,
    "past_due": LicenceState.PAST_DUE,
    "unpaid": LicenceState.PAST_DUE,
    "paused": LicenceState.PAST_DUE,
    "incomplete": LicenceState.PENDING,
    "incomplete_expired": LicenceState.CANCELLED,
    "canceled": LicenceState.CANCELLED,
}


def fee_cents(amount_cents: int, percent: Decimal) -> int:
    """The platform's commission on an amount, rounded half up to a cent."""
    return int((Decimal(amount_cents) * percent / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def checkout_start(*, tenant: Any, listing: Listing, seats: int, email: str, success_url: str, cancel_url: str) -> str:
    """Open Stripe Checkout for a paid extension; returns the Checkout page URL."""
    from marketplace.catalog.selectors import marketplace_entitled

    if not marketplace_entitled(tenant=tenant):
        raise ValidationError({"plan": [_("Your plan does not include extensions. Choose another plan in Billing.")]})
    if not listing.is_paid:
        raise ValidationError({"listing": [_("This extension is free.")]})
    partner = listing.partner
    if not partner.stripe_account_id or not partner.stripe_charges_enabled:
        raise ValidationError({"listing": [_("The partner cannot accept payments yet. Please try again later.")]})
    quantity = max(1, seats) if listing.pricing == Pricing.MONTHLY_SEAT else 1
    with transaction.atomic():
        licence = Licence.objects.select_for_update().filter(tenant=tenant, listing=listing).first()
        if licence is not None and licence.state in (LicenceState.ACTIVE, LicenceState.PAST_DUE):
            raise ValidationError({"listing": [_("Your workspace has already paid for this extension.")]})
        if licence is None:
            licence = Licence(tenant=tenant, listing=listing, state=LicenceState.PENDING)
        elif licence.state != LicenceState.TRIAL:
            licence.state = LicenceState.PENDING
        licence.pricing = listing.pricing
        licence.price_cents = listing.price_cents
        licence.seats = quantity
        licence.save()
    percent = commission_percent()
    metadata = {"kind": KIND, "tenant": tenant.schema_name, "listing": str(listing.pk), "licence": str(licence.pk)}
    price_data: dict[str, Any] = {
        "currency": "usd",
        "unit_amount": listing.price_cents,
        "product_data": {"name": listing.name},
    }
    trial_end = None
    if listing.pricing == Pricing.ONE_TIME:
        mode = "payment"
    else:
        mode = "subscription"
        price_data["recurring"] = {"interval": "month"}
        trial_left = licence.trial_end - timezone.now() if licence.trial_end else None
        if licence.state == LicenceState.TRIAL and trial_left is not None and trial_left > MIN_TRIAL_FOR_STRIPE:
            trial_end = int(licence.trial_end.timestamp())  # type: ignore[union-attr]
    session = gateway.extension_checkout_session_create(
        mode=mode,
        line_item={"price_data": price_data, "quantity": quantity},
        destination=partner.stripe_account_id,
        metadata=metadata,
        client_reference_id=tenant.schema_name,
        success_url=success_url,
        cancel_url=cancel_url,
        application_fee_amount=fee_cents(listing.price_cents * quantity, percent) if mode == "payment" else None,
        application_fee_percent=str(percent) if mode == "subscription" else None,
        trial_end=trial_end,
        customer_email=email,
        idempotency_key=f"ext-checkout-{licence.pk}-{int(licence.updated_at.timestamp())}",
    )
    Licence.objects.filter(pk=licence.pk).update(stripe_checkout_session_id=str(session["id"]))
    return str(session["url"])


def _licence(obj: dict[str, Any]) -> Licence | None:
    metadata = obj.get("metadata") or {}
    parent = obj.get("parent")
    if not metadata.get("licence") and isinstance(parent, dict):
        metadata = (parent.get("subscription_details") or {}).get("metadata") or {}
    if not metadata.get("licence") and isinstance(obj.get("subscription_details"), dict):
        metadata = obj["subscription_details"].get("metadata") or {}
    try:
        licence_id = int(metadata.get("licence", ""))
    except ValueError:
        return None
    return (
        Licence.objects.select_for_update()
        .select_related("listing", "tenant", "listing__partner")
        .filter(pk=licence_id, tenant__schema_name=metadata.get("tenant", ""))
        .first()
    )


def _stale(licence: Licence, version: int) -> bool:
    when = datetime.fromtimestamp(version, tz=UTC)
    if licence.stripe_updated is not None and when < licence.stripe_updated:
        return True
    licence.stripe_updated = when
    return False


def _set_state(licence: Licence, state: str) -> None:
    previous = licence.state
    licence.state = state
    licence.save()
    if state == LicenceState.CANCELLED and previous != LicenceState.CANCELLED:
        transaction.on_commit(lambda: _uninstall_after_cancel(licence.pk))


def _uninstall_after_cancel(licence_id: int) -> None:
    """A cancelled paid licence takes the extension out of the workspace (its data is kept)."""
    from django_tenants.utils import schema_context

    from marketplace.installs.models import ExtensionInstallation
    from marketplace.installs.services import extension_uninstall

    licence = Licence.objects.select_related("tenant").get(pk=licence_id)
    with schema_context(licence.tenant.schema_name):
        installation = ExtensionInstallation.objects.filter(listing_id=licence.listing_id, state="installed").first()
        if installation is not None and installation.installed_by is not None:
            try:
                extension_uninstall(actor=installation.installed_by, installation=installation)
            except Exception:  # a deactivated admin: logged, the operator uninstalls
                logger.exception("extension uninstall after cancellation failed")


def _sale(licence: Licence, object_id: str, amount: int, fee: int | None) -> None:
    if not object_id or amount <= 0:
        return
    Sale.objects.get_or_create(
        stripe_object_id=object_id,
        defaults={
            "licence": licence,
            "partner": licence.listing.partner,
            "amount_cents": amount,
            "fee_cents": fee if fee is not None else fee_cents(amount, commission_percent()),
        },
    )


@transaction.atomic
def on_checkout_completed(obj: dict[str, Any], version: int) -> str:
    licence = _licence(obj)
    if licence is None:
        return "unknown licence"
    if _stale(licence, version):
        return "stale"
    licence.stripe_checkout_session_id = str(obj.get("id") or licence.stripe_checkout_session_id)
    if obj.get("mode") == "payment":
        if obj.get("payment_status") != "paid":
            licence.save()
            return "not paid yet"
        licence.stripe_payment_intent_id = _id(obj.get("payment_intent"))
        _sale(licence, licence.stripe_payment_intent_id or str(obj.get("id")), int(obj.get("amount_total") or 0), None)
        _set_state(licence, LicenceState.ACTIVE)
        return "paid"
    licence.stripe_subscription_id = _id(obj.get("subscription"))
    if licence.state != LicenceState.TRIAL or licence.trial_end is None or licence.trial_end <= timezone.now():
        _set_state(licence, LicenceState.ACTIVE)
    else:
        licence.save()
    return "subscribed"


@transaction.atomic
def on_subscription_event(obj: dict[str, Any], version: int) -> str:
    licence = _licence(obj)
    if licence is None:
        return "unknown licence"
    if licence.stripe_subscription_id and licence.stripe_subscription_id != obj.get("id"):
        return "another subscription"
    if _stale(licence, version):
        return "stale"
    licence.stripe_subscription_id = str(obj.get("id") or "")
    state = STATE_FROM_STRIPE.get(str(obj.get("status")), licence.state)
    if state == LicenceState.TRIAL and obj.get("trial_end"):
        licence.trial_end = datetime.fromtimestamp(int(obj["trial_end"]), tz=UTC)
    _set_state(licence, state)
    return str(state)


@transaction.atomic
def on_invoice_paid(obj: dict[str, Any], version: int) -> str:
    licence = _licence(obj)
    if licence is None:
        return "unknown licence"
    fee = obj.get("application_fee_amount")
    _sale(licence, str(obj.get("id") or ""), int(obj.get("amount_paid") or 0), int(fee) if fee is not None else None)
    if _stale(licence, version):
        return "stale"
    if licence.state in (LicenceState.PAST_DUE, LicenceState.PENDING):
        _set_state(licence, LicenceState.ACTIVE)
    else:
        licence.save()
    return "paid"


@transaction.atomic
def on_invoice_payment_failed(obj: dict[str, Any], version: int) -> str:
    licence = _licence(obj)
    if licence is None:
        return "unknown licence"
    if _stale(licence, version):
        return "stale"
    if licence.state in (LicenceState.ACTIVE, LicenceState.TRIAL):
        _set_state(licence, LicenceState.PAST_DUE)
    else:
        licence.save()
    return "past_due"


@transaction.atomic
def on_charge_refunded(obj: dict[str, Any], version: int) -> str:
    """A refund reduces the partner's share of the sale it belongs to."""
    sale = Sale.objects.select_for_update().filter(stripe_object_id=_id(obj.get("payment_intent"))).first()
    if sale is None:
        return "unknown sale"
    refunded = int(obj.get("amount_refunded") or 0)
    if refunded > sale.refunded_cents:
        sale.refunded_cents = min(refunded, sale.amount_cents)
        sale.save(update_fields=["refunded_cents"])
    return "refunded"


def _id(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value or "")


HANDLERS = {
    "checkout.session.completed": on_checkout_completed,
    "customer.subscription.created": on_subscription_event,
    "customer.subscription.updated": on_subscription_event,
    "customer.subscription.deleted": on_subscription_event,
    "invoice.paid": on_invoice_paid,
    "invoice.payment_failed": on_invoice_payment_failed,
    "charge.refunded": on_charge_refunded,
}
