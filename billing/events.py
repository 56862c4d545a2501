"""Stripe webhook events: stored once by id, then processed (in a Celery task) into our state.

Events may arrive twice and in any order. Every state we keep that comes from Stripe remembers the
Stripe time of the state it was taken from (`stripe_updated`, the event's `created`), and an older
state is refused. On a tie (two events in the same second) the object is fetched from Stripe, which
is the source of truth, instead of guessing which event is newer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from billing import gateway
from billing.dunning import notice_send, tenant_follow_subscription
from billing.lock_objects import invoice_lock, subscription_lock
from billing.models import Invoice, NoticeKind, PlanPrice, PriceKind, StripeEvent, Subscription, SubscriptionStatus
from billing.stripe_sync import row_apply, row_find, stripe_id, stripe_time
from tenants.models import Tenant
from tenants.runtime import domains_changed

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 10

# Stripe's subscription statuses -> ours.
STATUS_FROM_STRIPE = {
    "trialing": SubscriptionStatus.TRIALING,
    "active": SubscriptionStatus.ACTIVE,
    "past_due": SubscriptionStatus.PAST_DUE,
    "unpaid": SubscriptionStatus.PAST_DUE,
    "paused": SubscriptionStatus.PAST_DUE,
    "incomplete": SubscriptionStatus.INCOMPLETE,
    "incomplete_expired": SubscriptionStatus.CANCELED,
    "canceled": SubscriptionStatus.CANCELED,
}
# On an invoice tie, the more final status wins.
INVOICE_STATUS_RANK = {"draft": 0, "open": 1, "uncollectible": 2, "void": 3, "paid": 3}


class BadEvent(ValueError):
    """The body is not a Stripe event we can store."""


_ts = stripe_time
_id = stripe_id


# Storing ---------------------------------------------------------------------------------------


def stripe_event_parse(payload: Any) -> tuple[str, str, int]:
    """(id, type, created) of a decoded event body; BadEvent when it does not look like one."""
    if not isinstance(payload, dict):
        raise BadEvent("not an object")
    event_id, event_type, created = payload.get("id"), payload.get("type"), payload.get("created")
    data = payload.get("data")
    if not isinstance(event_id, str) or not event_id or len(event_id) > 255:
        raise BadEvent("id")
    if not isinstance(event_type, str) or not event_type or len(event_type) > 100:
        raise BadEvent("type")
    if not isinstance(created, int) or isinstance(created, bool) or created < 0:
        raise BadEvent("created")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise BadEvent("data.object")
    account = payload.get("account")
    if account is not None and (not isinstance(account, str) or not account.startswith("acct_") or len(account) > 255):
        raise BadEvent("account")
    return event_id, event_type, created


def stripe_event_record(*, payload: dict[str, Any]) -> tuple[StripeEvent, bool]:
    """Store a verified event once by its id and queue its processing; (event, False) for a duplicate."""
    event_id, event_type, created = stripe_event_parse(payload)
    event = StripeEvent(id=event_id, type=event_type, payload=payload, created=created)
    try:
        with transaction.atomic():
            event.save(force_insert=True)
    except IntegrityError:
        return StripeEvent.objects.get(pk=event_id), False
    transaction.on_commit(lambda: _enqueue(event_id))
    return event, True


def _enqueue(event_id: str) -> None:
    from billing.tasks import stripe_event_process_task

    try:
        stripe_event_process_task.delay(event_id)
    except Exception:  # broker down: the event is stored, the periodic retry picks it up
        logger.exception("Could not queue Stripe event %s; it will be retried", event_id)


# Processing ------------------------------------------------------------------------------------


def stripe_event_process(*, event_id: str) -> str:
    """Apply one stored event unless already processed; returns what happened (for logs and tests).
    A failure is recorded on the event and left for the periodic retry."""
    event = StripeEvent.objects.filter(pk=event_id, processed_at__isnull=True).first()
    if event is None:
        return "already processed"
    StripeEvent.objects.filter(pk=event_id).update(attempts=F("attempts") + 1)
    obj = event.payload["data"]["object"]
    account = event.payload.get("account")
    try:
        if account:
            # An event of a partner's connected account: only the Connect handlers see it, with the
            # account Stripe names (never an id taken from the object or its metadata).
            connect_handler = CONNECT_HANDLERS.get(event.type)
            outcome = connect_handler(str(account), obj, event.created) if connect_handler else "ignored"
        else:
            handler = _handler_for(event.type, obj)
            outcome = handler(obj, event.created) if handler else "ignored"
    except Exception as exc:
        logger.exception("Stripe event %s (%s) failed", event.id, event.type)
        StripeEvent.objects.filter(pk=event_id).update(error=f"{exc.__class__.__name__}: {exc}"[:2000])
        return "failed"
    StripeEvent.objects.filter(pk=event_id).update(processed_at=timezone.now(), error="")
    return outcome


def stripe_events_pending(*, older_than_seconds: int = 300) -> list[str]:
    """Ids of stored events not processed yet (queued too long ago, or failed), oldest first."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    return list(
        StripeEvent.objects.filter(processed_at__isnull=True, received_at__lt=cutoff, attempts__lt=MAX_ATTEMPTS)
        .order_by("received_at")
        .values_list("pk", flat=True)[:500]
    )


# Finding the subscription an object belongs to ---------------------------------------------------


def _subscription_for(
    *, subscription_id: str = "", customer_id: str = "", tenant_slug: str = ""
) -> Subscription | None:
    # A partner's sandbox is never billed: no Stripe object changes its subscription or its plan.
    return row_find(
        Subscription.objects.exclude(tenant__is_sandbox=True),
        {"stripe_subscription_id": subscription_id},
        {"stripe_customer_id": customer_id},
        {"tenant__schema_name": tenant_slug},
    )


def _metadata_tenant(obj: dict[str, Any]) -> str:
    metadata = obj.get("metadata") or {}
    return str(metadata.get("tenant") or "") if isinstance(metadata, dict) else ""


# Applying a Subscription object --------------------------------------------------------------------


def _period_end(obj: dict[str, Any]) -> datetime | None:
    """Stripe moved period dates from the subscription to its items (API 2025-03-31); read either."""
    if obj.get("current_period_end"):
        return _ts(obj["current_period_end"])
    items = ((obj.get("items") or {}).get("data")) or []
    ends = [item.get("current_period_end") for item in items if item.get("current_period_end")]
    return _ts(max(ends)) if ends else None


def _item_prices(obj: dict[str, Any]) -> list[str]:
    items = ((obj.get("items") or {}).get("data")) or []
    return [_id(item.get("price")) for item in items if item.get("price")]


def subscription_apply(obj: dict[str, Any], version: int, *, authoritative: bool) -> str:
    """Apply a Stripe Subscription object taken at Stripe time `version`: 'applied', 'stale', 'tie'
    (equal time and not fetched from Stripe: the caller fetches), 'other' or 'unknown'."""
    found = _subscription_for(
        subscription_id=_id(obj.get("id")), customer_id=_id(obj.get("customer")), tenant_slug=_metadata_tenant(obj)
    )
    if found is None:
        logger.warning("Stripe subscription %s matches no tenant", obj.get("id"))
        return "unknown"
    new_status = STATUS_FROM_STRIPE.get(str(obj.get("status")), SubscriptionStatus.INCOMPLETE)

    def apply(sub: Subscription) -> str:
        prices = {p.stripe_price_id: p for p in PlanPrice.objects.filter(stripe_price_id__in=_item_prices(obj))}
        for price_id in _item_prices(obj):
            price = prices.get(price_id)
            if price is None:
                logger.warning("Stripe price %s of subscription %s is not a plan price", price_id, obj["id"])
            elif price.kind == PriceKind.SEAT:
                sub.seat_price = price
            else:
                sub.price = price
                sub.plan = price.plan
        previous_status = sub.status
        sub.stripe_subscription_id = str(obj["id"])
        sub.stripe_customer_id = _id(obj.get("customer")) or sub.stripe_customer_id
        sub.status = new_status
        sub.trial_end = _ts(obj.get("trial_end"))
        sub.current_period_end = _period_end(obj)
        sub.cancel_at_period_end = bool(obj.get("cancel_at_period_end"))
        tenant_follow_subscription(sub=sub, previous_status=previous_status)
        sub.save()
        if sub.tenant.plan_code != sub.plan.code:
            Tenant.objects.filter(pk=sub.tenant_id).update(plan_code=sub.plan.code)
            transaction.on_commit(domains_changed)  # every process: the router's tenant carries the plan code
        return "applied"

    with transaction.atomic():
        sub = subscription_lock(found.pk)
        if sub.stripe_subscription_id and sub.stripe_subscription_id != obj["id"]:
            # Another Stripe subscription of the same tenant (an old one, or a new one after a cancel):
            # only a live new subscription may replace a canceled current one, whatever the times.
            if not (sub.status == SubscriptionStatus.CANCELED and new_status != SubscriptionStatus.CANCELED):
                return "other"
            sub.stripe_updated = version
            return apply(sub)
        return row_apply(sub, stamp="stripe_updated", version=version, apply=apply, tie=not authoritative)


def subscription_sync(obj: dict[str, Any], version: int) -> str:
    """Apply a Subscription object from an event; on a tie, apply the one Stripe has now."""
    outcome = subscription_apply(obj, version, authoritative=False)
    if outcome == "tie":
        fresh = gateway.subscription_retrieve(subscription_id=str(obj["id"]))
        outcome = subscription_apply(fresh, version, authoritative=True)
    return outcome


# Handlers ----------------------------------------------------------------------------------------


def on_checkout_completed(session: dict[str, Any], version: int) -> str:
    """Link the tenant to its new Stripe customer and subscription, then take the subscription's state."""
    if session.get("mode") != "subscription":
        return "ignored"
    subscription_id = _id(session.get("subscription"))
    customer_id = _id(session.get("customer"))
    found = _subscription_for(
        customer_id=customer_id,
        tenant_slug=str(session.get("client_reference_id") or "") or _metadata_tenant(session),
    )
    if found is None or not subscription_id:
        logger.warning("Checkout session %s matches no tenant", session.get("id"))
        return "unknown"
    with transaction.atomic():
        sub = subscription_lock(found.pk)
        if sub.stripe_subscription_id != subscription_id and (
            not sub.stripe_subscription_id or sub.status == SubscriptionStatus.CANCELED
        ):
            sub.stripe_subscription_id = subscription_id
            sub.stripe_customer_id = customer_id or sub.stripe_customer_id
            sub.save(update_fields=["stripe_subscription_id", "stripe_customer_id", "updated_at"])
    if gateway.is_configured():
        return subscription_apply(
            gateway.subscription_retrieve(subscription_id=subscription_id), version, authoritative=True
        )
    if session.get("payment_status") not in ("paid", "no_payment_required"):
        return "unpaid"

    def apply(sub: Subscription) -> str:
        previous_status = sub.status
        sub.status = SubscriptionStatus.ACTIVE
        tenant_follow_subscription(sub=sub, previous_status=previous_status)
        sub.save()
        return "applied"

    with transaction.atomic():
        sub = subscription_lock(found.pk)
        if sub.stripe_subscription_id != subscription_id:
            return "stale"
        return row_apply(sub, stamp="stripe_updated", version=version, apply=apply)


def on_subscription_event(obj: dict[str, Any], version: int) -> str:
    return subscription_sync(obj, version)


def on_trial_will_end(obj: dict[str, Any], version: int) -> str:
    """Stripe says the trial ends in three days: take the state, and email the admins once per trial end."""
    outcome = subscription_sync(obj, version)
    sub = _subscription_for(subscription_id=_id(obj.get("id")))
    trial_end = obj.get("trial_end")
    if sub is not None and trial_end and str(obj.get("status")) == "trialing" and outcome in ("applied", "stale"):
        with transaction.atomic():
            notice_send(tenant=sub.tenant, kind=NoticeKind.TRIAL_ENDING, occurrence=str(int(trial_end)))
    return outcome


def _invoice_subscription_id(invoice: dict[str, Any]) -> str:
    """Stripe moved it under parent.subscription_details (API 2025-03-31); read either."""
    parent = invoice.get("parent") or {}
    details = parent.get("subscription_details") or {} if isinstance(parent, dict) else {}
    return _id(details.get("subscription")) or _id(invoice.get("subscription"))


def _invoice_store(invoice: dict[str, Any], version: int, sub: Subscription) -> None:
    with transaction.atomic():
        stored = invoice_lock(str(invoice["id"]))
        if stored is not None:
            if version < stored.stripe_updated:
                return
            if version == stored.stripe_updated and INVOICE_STATUS_RANK.get(
                str(invoice.get("status")), 0
            ) < INVOICE_STATUS_RANK.get(stored.status, 0):
                return
        else:
            stored = Invoice(stripe_invoice_id=str(invoice["id"]), tenant_id=sub.tenant_id)
        stored.number = str(invoice.get("number") or "")[:64]
        stored.status = str(invoice.get("status") or "")[:16]
        stored.currency = str(invoice.get("currency") or "")[:3]
        stored.amount_due = int(invoice.get("amount_due") or 0)
        stored.amount_paid = int(invoice.get("amount_paid") or 0)
        stored.total = int(invoice.get("total") or 0)
        stored.hosted_invoice_url = str(invoice.get("hosted_invoice_url") or "")[:1000]
        stored.invoice_pdf = str(invoice.get("invoice_pdf") or "")[:1000]
        stored.created = _ts(invoice.get("created"))
        stored.stripe_updated = version
        stored.save()


def _invoice_subscription(invoice: dict[str, Any]) -> Subscription | None:
    return _subscription_for(
        subscription_id=_invoice_subscription_id(invoice), customer_id=_id(invoice.get("customer"))
    )


def _subscription_status_from_invoice(
    invoice: dict[str, Any], version: int, sub: Subscription, *, from_statuses: set[str], to_status: str
) -> str:
    subscription_id = _invoice_subscription_id(invoice)

    def apply(locked: Subscription) -> str:
        if locked.status not in from_statuses:
            return "unchanged"  # not saved: the stamp stays where it was
        previous_status = locked.status
        locked.status = to_status
        tenant_follow_subscription(sub=locked, previous_status=previous_status)
        locked.save()
        return "applied"

    with transaction.atomic():
        locked = subscription_lock(sub.pk)
        if not subscription_id or locked.stripe_subscription_id != subscription_id:
            return "other"
        return row_apply(locked, stamp="stripe_updated", version=version, apply=apply)


def on_invoice_finalized(invoice: dict[str, Any], version: int) -> str:
    sub = _invoice_subscription(invoice)
    if sub is None:
        return "unknown"
    _invoice_store(invoice, version, sub)
    return "stored"


def on_invoice_paid(invoice: dict[str, Any], version: int) -> str:
    """A paid invoice brings an overdue (or first-payment) subscription back to active."""
    sub = _invoice_subscription(invoice)
    if sub is None:
        return "unknown"
    _invoice_store(invoice, version, sub)
    return _subscription_status_from_invoice(
        invoice,
        version,
        sub,
        from_statuses={SubscriptionStatus.PAST_DUE, SubscriptionStatus.INCOMPLETE},
        to_status=SubscriptionStatus.ACTIVE,
    )


def on_invoice_payment_failed(invoice: dict[str, Any], version: int) -> str:
    """A failed renewal makes the subscription past due (dunning, later, decides what follows)."""
    sub = _invoice_subscription(invoice)
    if sub is None:
        return "unknown"
    _invoice_store(invoice, version, sub)
    outcome = _subscription_status_from_invoice(
        invoice,
        version,
        sub,
        from_statuses={SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING},
        to_status=SubscriptionStatus.PAST_DUE,
    )
    stored = Invoice.objects.filter(stripe_invoice_id=str(invoice["id"])).values_list("status", flat=True).first()
    # Once per invoice (Stripe retries a card several times), never for an invoice already paid (a late event).
    if outcome != "other" and stored != "paid":
        with transaction.atomic():
            notice_send(
                tenant=sub.tenant,
                kind=NoticeKind.PAYMENT_FAILED,
                occurrence=str(invoice["id"]),
                context={
                    "amount_due": int(invoice.get("amount_due") or 0),
                    "currency": str(invoice.get("currency") or "").upper(),
                    "invoice_url": str(invoice.get("hosted_invoice_url") or ""),
                },
            )
    return outcome


Handler = Callable[[dict[str, Any], int], str]

# Other products sold through the same Stripe account and webhook (a partner's authorised listing, ...)
# mark their Checkout sessions and subscriptions with `metadata.kind`; their events go to the handlers
# registered for that kind (from the owning app's AppConfig.ready), never to the tenant billing ones.
KIND_HANDLERS: dict[str, dict[str, Handler]] = {}


def register_kind(kind: str, handlers: Mapping[str, Handler]) -> None:
    """Route events whose object (or the invoice's subscription) carries `metadata.kind == kind` to `handlers`."""
    KIND_HANDLERS[kind] = dict(handlers)


ConnectHandler = Callable[[str, dict[str, Any], int], str]

# Events of connected accounts (Stripe Connect, `event.account`): handler(account_id, object, version).
CONNECT_HANDLERS: dict[str, ConnectHandler] = {}


def register_connect(handlers: Mapping[str, ConnectHandler]) -> None:
    """Route events that carry `account` (a connected account's) by type to `handlers`."""
    CONNECT_HANDLERS.update(handlers)


def _metadata_kind(obj: dict[str, Any]) -> str:
    """metadata.kind of the object, or of the subscription an invoice belongs to (either API shape)."""
    candidates = [obj.get("metadata")]
    parent = obj.get("parent")
    if isinstance(parent, dict) and isinstance(parent.get("subscription_details"), dict):
        candidates.append(parent["subscription_details"].get("metadata"))
    if isinstance(obj.get("subscription_details"), dict):
        candidates.append(obj["subscription_details"].get("metadata"))
    for metadata in candidates:
        if isinstance(metadata, dict) and metadata.get("kind"):
            return str(metadata["kind"])
    return ""


# Event types billing does not handle itself, for objects without `metadata.kind`: Stripe does not copy
# our metadata everywhere (a Charge of a subscription's invoice has none), so the owning app finds its
# row by the object's ids and answers "unknown" for anything else (a tenant subscription's charge).
UNMARKED_HANDLERS: dict[str, Handler] = {}


def register_unmarked(handlers: Mapping[str, Handler]) -> None:
    """Route events of these types whose object carries no `metadata.kind` to `handlers`."""
    clash = set(handlers) & set(HANDLERS)
    if clash:
        raise ValueError(f"billing handles {sorted(clash)} itself")
    UNMARKED_HANDLERS.update(handlers)


def _handler_for(event_type: str, obj: dict[str, Any]) -> Handler | None:
    kind = _metadata_kind(obj) if isinstance(obj, dict) else ""
    if kind:
        # An unknown kind is someone else's object: stored and marked processed, never applied to a tenant.
        return KIND_HANDLERS.get(kind, {}).get(event_type)
    return HANDLERS.get(event_type) or UNMARKED_HANDLERS.get(event_type)


HANDLERS: dict[str, Handler] = {
    "checkout.session.completed": on_checkout_completed,
    "customer.subscription.created": on_subscription_event,
    "customer.subscription.updated": on_subscription_event,
    "customer.subscription.deleted": on_subscription_event,
    "customer.subscription.trial_will_end": on_trial_will_end,
    "invoice.paid": on_invoice_paid,
    "invoice.payment_failed": on_invoice_payment_failed,
    "invoice.finalized": on_invoice_finalized,
}
