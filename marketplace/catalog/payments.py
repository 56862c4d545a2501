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
from billing.stripe_sync import row_apply, row_find, stripe_id, stripe_time
from marketplace.catalog.models import (
    REFUND_COUNTING,
    REFUND_LAPSED,
    DisputeStatus,
    Licence,
    LicenceState,
    Listing,
    Pricing,
    Sale,
    SaleDispute,
    SaleRefund,
)
from marketplace.catalog.services import commission_percent, partner_charges_refusal

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
    refusal = partner_charges_refusal(partner=partner)
    if refusal is not None:
        raise refusal
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
    """The licence named by the object's metadata (or its invoice's subscription's), locked; the tenant
    in the metadata must be the licence's."""
    metadata = obj.get("metadata") or {}
    parent = obj.get("parent")
    if not metadata.get("licence") and isinstance(parent, dict):
        metadata = (parent.get("subscription_details") or {}).get("metadata") or {}
    if not metadata.get("licence") and isinstance(obj.get("subscription_details"), dict):
        metadata = obj["subscription_details"].get("metadata") or {}
    licence_id = str(metadata.get("licence") or "")
    return row_find(
        Licence.objects.select_for_update().select_related("listing", "tenant", "listing__partner"),
        {
            "pk": int(licence_id) if licence_id.isdigit() else None,
            "tenant__schema_name": str(metadata.get("tenant") or ""),
        },
    )


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


def _sale(
    licence: Licence, object_id: str, amount: int, fee: int | None, *, payment_intent: str = "", charge: str = ""
) -> None:
    if not object_id or amount <= 0:
        return
    sale, created = Sale.objects.get_or_create(
        stripe_object_id=object_id,
        defaults={
            "licence": licence,
            "partner": licence.listing.partner,
            "amount_cents": amount,
            "fee_cents": fee if fee is not None else fee_cents(amount, commission_percent()),
            "stripe_payment_intent_id": payment_intent,
            "stripe_charge_id": charge,
        },
    )
    missing = (payment_intent and not sale.stripe_payment_intent_id) or (charge and not sale.stripe_charge_id)
    if not created and missing:
        sale.stripe_payment_intent_id = sale.stripe_payment_intent_id or payment_intent
        sale.stripe_charge_id = sale.stripe_charge_id or charge
        sale.save(update_fields=["stripe_payment_intent_id", "stripe_charge_id"])


def _seats_of(obj: dict[str, Any]) -> int | None:
    items = ((obj.get("items") or {}).get("data")) or []
    return int(items[0].get("quantity") or 1) if items and isinstance(items[0], dict) else None


@transaction.atomic
def on_checkout_completed(obj: dict[str, Any], version: int) -> str:
    def apply(licence: Licence) -> str:
        licence.stripe_checkout_session_id = str(obj.get("id") or licence.stripe_checkout_session_id)
        if obj.get("mode") == "payment":
            if obj.get("payment_status") != "paid":
                licence.save()
                return "not paid yet"
            licence.stripe_payment_intent_id = _id(obj.get("payment_intent"))
            _sale(
                licence,
                licence.stripe_payment_intent_id or str(obj.get("id")),
                int(obj.get("amount_total") or 0),
                None,
                payment_intent=licence.stripe_payment_intent_id,
            )
            _set_state(licence, LicenceState.ACTIVE)
            return "paid"
        licence.stripe_subscription_id = _id(obj.get("subscription"))
        if licence.state != LicenceState.TRIAL or licence.trial_end is None or licence.trial_end <= timezone.now():
            _set_state(licence, LicenceState.ACTIVE)
        else:
            licence.save()
        return "subscribed"

    return row_apply(_licence(obj), stamp="stripe_updated", version=version, apply=apply)


@transaction.atomic
def on_subscription_event(obj: dict[str, Any], version: int) -> str:
    licence = _licence(obj)
    if licence is not None and licence.stripe_subscription_id and licence.stripe_subscription_id != obj.get("id"):
        return "another subscription"

    def apply(licence: Licence) -> str:
        licence.stripe_subscription_id = str(obj.get("id") or "")
        state = STATE_FROM_STRIPE.get(str(obj.get("status")), licence.state)
        if state == LicenceState.TRIAL and obj.get("trial_end"):
            licence.trial_end = datetime.fromtimestamp(int(obj["trial_end"]), tz=UTC)
        seats = _seats_of(obj)
        if seats is not None:
            licence.seats = seats  # the quantity Stripe bills
        _set_state(licence, state)
        return str(state)

    return row_apply(licence, stamp="stripe_updated", version=version, apply=apply)


def _invoice_payment_ids(invoice: dict[str, Any]) -> tuple[str, str]:
    """(payment intent, charge) of a paid invoice, in either API shape (`payment_intent`/`charge` before
    2025-03-31, `payments` after, when expanded)."""
    payment_intent, charge = _id(invoice.get("payment_intent")), _id(invoice.get("charge"))
    for item in ((invoice.get("payments") or {}).get("data")) or []:
        payment = item.get("payment") if isinstance(item, dict) else None
        if isinstance(payment, dict):
            payment_intent = payment_intent or _id(payment.get("payment_intent"))
            charge = charge or _id(payment.get("charge"))
    return payment_intent, charge


@transaction.atomic
def on_invoice_paid(obj: dict[str, Any], version: int) -> str:
    licence = _licence(obj)
    if licence is None:
        return "unknown"
    fee = obj.get("application_fee_amount")
    payment_intent, charge = _invoice_payment_ids(obj)
    _sale(
        licence,
        str(obj.get("id") or ""),
        int(obj.get("amount_paid") or 0),
        int(fee) if fee is not None else None,
        payment_intent=payment_intent,
        charge=charge,
    )

    def apply(licence: Licence) -> str:
        if licence.state in (LicenceState.PAST_DUE, LicenceState.PENDING):
            _set_state(licence, LicenceState.ACTIVE)
        else:
            licence.save()
        return "paid"

    return row_apply(licence, stamp="stripe_updated", version=version, apply=apply)


@transaction.atomic
def on_invoice_payment_failed(obj: dict[str, Any], version: int) -> str:
    def apply(licence: Licence) -> str:
        if licence.state in (LicenceState.ACTIVE, LicenceState.TRIAL):
            _set_state(licence, LicenceState.PAST_DUE)
        else:
            licence.save()
        return "past_due"

    return row_apply(_licence(obj), stamp="stripe_updated", version=version, apply=apply)


# Refunds --------------------------------------------------------------------------------------------


def _sale_of_charge(charge: dict[str, Any]) -> Sale | None:
    """The sale a Charge paid: by its PaymentIntent (one-time sales, and invoices that told us theirs),
    the charge id, the invoice (older API versions name it on the charge), then our metadata (licence
    and tenant must match), and last by asking Stripe which invoice the PaymentIntent paid."""
    sales = Sale.objects.select_for_update()
    payment_intent = _id(charge.get("payment_intent"))
    found = row_find(
        sales,
        {"stripe_object_id": payment_intent},
        {"stripe_payment_intent_id": payment_intent},
        {"stripe_charge_id": _id(charge.get("id"))},
        {"stripe_object_id": _id(charge.get("invoice"))},
    )
    if found is not None:
        return found
    metadata = charge.get("metadata") or {}
    licence_id = str(metadata.get("licence") or "") if isinstance(metadata, dict) else ""
    if licence_id.isdigit() and metadata.get("kind") == KIND:
        licence = Licence.objects.filter(pk=int(licence_id), tenant__schema_name=str(metadata.get("tenant") or ""))
        found = row_find(
            sales,
            {
                "licence__in": licence,
                "licence__pricing": Pricing.ONE_TIME,
            },
        )
        if found is not None:
            return found
    if payment_intent and gateway.is_configured():
        invoice_id = gateway.invoice_paid_by(payment_intent_id=payment_intent)
        return row_find(sales, {"stripe_object_id": invoice_id})
    return None


def _sale_of_payment(obj: dict[str, Any]) -> Sale | None:
    """The sale a Refund or a Dispute belongs to, by its charge (an id, or the expanded Charge with its
    metadata) and its PaymentIntent. The object's own metadata is never used to find a sale."""
    charge = obj.get("charge")
    found: dict[str, Any] = dict(charge) if isinstance(charge, dict) else {"id": _id(charge)}
    found["payment_intent"] = _id(obj.get("payment_intent")) or _id(found.get("payment_intent"))
    return _sale_of_charge(found)


REFUND_RANK = {"requires_action": 0, "pending": 1, "succeeded": 2, "failed": 3, "canceled": 3}


def _sale_child_lock(model: Any, id_field: str, stripe_object_id: str, sale: Sale) -> Any:
    """The locked row of a Refund or Dispute of `sale` (created on first sight), or None when that Stripe
    id is already recorded for another sale: an event never moves money between sales."""
    model.objects.get_or_create(**{id_field: stripe_object_id}, defaults={"sale": sale})
    row = model.objects.select_for_update().get(**{id_field: stripe_object_id})
    if row.sale_id != sale.pk:
        logger.warning(
            "%s %s belongs to sale %s, not %s: refused", model.__name__, stripe_object_id, row.sale_id, sale.pk
        )
        return None
    return row


def _refund_record(sale: Sale, refund: dict[str, Any], version: int) -> str:
    """Store one Refund of `sale` by its id in the state taken at Stripe time `version`. An older state is
    refused; on a tie the later status in a refund's life (failed / cancelled last) wins. A refund id
    already recorded for another sale is refused."""
    refund_id = _id(refund.get("id"))
    status = str(refund.get("status") or "")
    if not refund_id or status not in REFUND_RANK:
        return "not a refund"
    row = _sale_child_lock(SaleRefund, "stripe_refund_id", refund_id, sale)
    if row is None:
        return "another sale"

    def apply(row: SaleRefund) -> str:
        row.amount_cents = max(0, int(refund.get("amount") or 0))
        row.status = status
        row.stripe_created = _ts(refund.get("created")) or row.stripe_created
        row.save()
        return status

    return row_apply(
        row,
        stamp="stripe_updated",
        version=version,
        apply=apply,
        tie_refused=lambda row: REFUND_RANK[status] < REFUND_RANK.get(row.status, -1),
    )


def _refund_total_apply(sale: Sale, version: int) -> None:
    """Set the sale's refunded total from what is known: the refunds by id that count (pending or
    succeeded), or the charge's own total when that is more (refunds we never saw by id), less the
    refunds that failed or were cancelled after the charge reported them. The commission is reversed in
    proportion."""
    reported_at = sale.refund_stripe_updated
    counting = lapsed = 0
    for refund in SaleRefund.objects.filter(sale=sale):
        if refund.status in REFUND_COUNTING:
            counting += refund.amount_cents
        elif (
            refund.status in REFUND_LAPSED
            and reported_at is not None
            and refund.stripe_updated is not None
            and refund.stripe_updated > reported_at
            and (refund.stripe_created is None or refund.stripe_created <= reported_at)
        ):
            lapsed += refund.amount_cents
    refunded = min(sale.amount_cents, max(counting, sale.charge_refunded_cents - lapsed, 0))
    if refunded > sale.refunded_cents:
        sale.refunded_at = _ts(version)
    elif refunded == 0:
        sale.refunded_at = None
    sale.refunded_cents = refunded
    share = Decimal(sale.fee_cents * refunded) / sale.amount_cents if sale.amount_cents else Decimal(0)
    sale.fee_refunded_cents = int(share.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@transaction.atomic
def on_charge_refunded(obj: dict[str, Any], version: int) -> str:
    """A refund (partial or full, from our console or Stripe's dashboard) reduces the sale it belongs to;
    the commission is reversed in proportion. The refunds the charge lists (`refunds.data`, when the
    event carries it) are recorded by id; the charge's `amount_refunded` is kept as the total reported at
    the event's time, so an event seen twice changes nothing and an older one is refused."""
    sale = _sale_of_charge(obj)
    if sale is None:
        return "unknown sale"

    def apply(sale: Sale) -> str:
        sale.charge_refunded_cents = min(max(0, int(obj.get("amount_refunded") or 0)), sale.amount_cents)
        refunds = obj.get("refunds")
        for refund in (refunds.get("data") if isinstance(refunds, dict) else None) or []:
            if isinstance(refund, dict):
                _refund_record(sale, refund, version)
        _refund_total_apply(sale, version)
        sale.stripe_payment_intent_id = sale.stripe_payment_intent_id or _id(obj.get("payment_intent"))
        sale.stripe_charge_id = sale.stripe_charge_id or _id(obj.get("id"))
        sale.save()
        return sale.refund_state or "not refunded"

    return row_apply(sale, stamp="refund_stripe_updated", version=version, apply=apply)


@transaction.atomic
def on_refund_event(obj: dict[str, Any], version: int) -> str:
    """`refund.created` / `refund.updated` / `refund.failed` and `charge.refund.updated`: one Refund's
    state. A refund that fails or is cancelled gives its amount (and the commission reversed with it)
    back to the sale."""
    sale = _sale_of_payment(obj)
    if sale is None:
        return "unknown sale"
    outcome = _refund_record(sale, obj, version)
    if outcome in REFUND_RANK:
        _refund_total_apply(sale, version)
        sale.save()
        _payment_ids_learn(sale, obj)
    return outcome


# Disputes ---------------------------------------------------------------------------------------------

DISPUTE_CLOSED = ("warning_closed", "prevented", "won", "lost")


@transaction.atomic
def on_dispute_event(obj: dict[str, Any], version: int) -> str:
    """`charge.dispute.created` / `.updated` / `.closed` (and the funds events): the dispute's status and
    amount on the sale it belongs to, by Stripe's dispute id, newest state first (on a tie a closed
    status wins). Licences are left as they are: the operator decides (see the README)."""
    dispute_id = _id(obj.get("id"))
    status = str(obj.get("status") or "")
    if not dispute_id or status not in DisputeStatus.values:
        return "not a dispute"
    sale = _sale_of_payment(obj)
    if sale is None:
        return "unknown sale"
    row = _sale_child_lock(SaleDispute, "stripe_dispute_id", dispute_id, sale)
    if row is None:
        return "another sale"

    def apply(row: SaleDispute) -> str:
        row.amount_cents = max(0, int(obj.get("amount") or 0))
        row.status = status
        row.reason = str(obj.get("reason") or "")[:50]
        row.save()
        _payment_ids_learn(sale, obj)
        return status

    return row_apply(
        row,
        stamp="stripe_updated",
        version=version,
        apply=apply,
        tie_refused=lambda row: row.status in DISPUTE_CLOSED and status not in DISPUTE_CLOSED,
    )


def _payment_ids_learn(sale: Sale, obj: dict[str, Any]) -> None:
    """Remember the PaymentIntent and Charge a Refund or Dispute named (a sale found through Stripe's
    invoice payments is then found by its ids next time)."""
    payment_intent, charge = _id(obj.get("payment_intent")), _id(obj.get("charge"))
    if (payment_intent and not sale.stripe_payment_intent_id) or (charge and not sale.stripe_charge_id):
        sale.stripe_payment_intent_id = sale.stripe_payment_intent_id or payment_intent
        sale.stripe_charge_id = sale.stripe_charge_id or charge
        sale.save(update_fields=["stripe_payment_intent_id", "stripe_charge_id"])


# Seats ------------------------------------------------------------------------------------------------

SEAT_BILLED_STATES = (LicenceState.TRIAL, LicenceState.ACTIVE, LicenceState.PAST_DUE)


def extension_seats_follow(*, tenant_id: int | None) -> int:
    """Every live per-seat extension subscription (of one tenant, or of all) bills the tenant's current
    seats (billing.seats). Idempotent: the quantity is set, not added to. Returns how many changed;
    raises the first Stripe failure after trying the others."""
    from billing.seats import tenant_seats

    if not gateway.is_configured():
        return 0
    licences = Licence.objects.filter(pricing=Pricing.MONTHLY_SEAT, state__in=SEAT_BILLED_STATES).exclude(
        stripe_subscription_id=""
    )
    if tenant_id is not None:
        licences = licences.filter(tenant_id=tenant_id)
    changed = 0
    failure: gateway.GatewayError | None = None
    for licence in licences.select_related("tenant").order_by("pk"):
        seats = tenant_seats(tenant_id=licence.tenant_id)
        if licence.seats == seats:
            continue
        try:
            changed += licence_seats_set(licence=licence, seats=seats)
        except gateway.GatewayError as exc:
            logger.warning("Seats of extension licence %s not updated: %s", licence.pk, exc)
            failure = failure or exc
    if failure is not None:
        raise failure
    return changed


def licence_seats_set(*, licence: Licence, seats: int) -> int:
    """Set the quantity of a per-seat licence's Stripe subscription item (Stripe prorates), then record
    the quantity Stripe bills. No lock is held while Stripe is called."""
    current = gateway.subscription_retrieve(subscription_id=licence.stripe_subscription_id)
    metadata = current.get("metadata") or {}
    if metadata.get("licence") != str(licence.pk) or metadata.get("tenant") != licence.tenant.schema_name:
        logger.warning("Subscription %s is not licence %s's", licence.stripe_subscription_id, licence.pk)
        return 0
    if current.get("status") in ("canceled", "incomplete_expired"):
        return 0
    items = ((current.get("items") or {}).get("data")) or []
    if not items:
        return 0
    if int(items[0].get("quantity") or 0) != seats:
        current = gateway.subscription_items_update(
            subscription_id=licence.stripe_subscription_id, items=[{"id": items[0]["id"], "quantity": seats}]
        )
    quantity = _seats_of(current) or seats
    Licence.objects.filter(pk=licence.pk, stripe_subscription_id=licence.stripe_subscription_id).update(
        seats=quantity, updated_at=timezone.now()
    )
    return 1


_id = stripe_id
_ts = stripe_time

# Stripe sends `charge.refund.updated` for a refund of a charge, and since API 2024-10-28 also
# `refund.created` / `refund.updated` / `refund.failed` for every refund: all carry the Refund.
REFUND_EVENTS = ("charge.refund.updated", "refund.created", "refund.updated", "refund.failed")
DISPUTE_EVENTS = (
    "charge.dispute.created",
    "charge.dispute.updated",
    "charge.dispute.closed",
    "charge.dispute.funds_withdrawn",
    "charge.dispute.funds_reinstated",
)


HANDLERS = {
    "checkout.session.completed": on_checkout_completed,
    "customer.subscription.created": on_subscription_event,
    "customer.subscription.updated": on_subscription_event,
    "customer.subscription.deleted": on_subscription_event,
    "invoice.paid": on_invoice_paid,
    "invoice.payment_failed": on_invoice_payment_failed,
    "charge.refunded": on_charge_refunded,
    **{event_type: on_refund_event for event_type in REFUND_EVENTS},
    **{event_type: on_dispute_event for event_type in DISPUTE_EVENTS},
}
# Events without our metadata (a subscription invoice's charge, refunds and disputes carry none of it):
# the sale is found by the object's ids, anything else answers "unknown sale".
UNMARKED = {event_type: HANDLERS[event_type] for event_type in ("charge.refunded", *REFUND_EVENTS, *DISPUTE_EVENTS)}
