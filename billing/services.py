"""Writes of billing: plans and prices (operators), their mirror on Stripe.

Stripe calls never happen inside a database transaction that holds row locks: ids Stripe returns
are saved right after each call, and idempotency keys derived from our row ids make a repeated
call (after a crash or a double click) return the same Stripe object instead of a second one.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from billing import gateway
from billing.entitlements import plans_forget
from billing.models import (
    BillingAction,
    BillingAuditEntry,
    ChangeSource,
    Period,
    Plan,
    PlanPrice,
    PriceKind,
    Subscription,
    SubscriptionChange,
    SubscriptionStatus,
)
from crm_apps.audit.services import SETTINGS_CHANGED, audit_log
from tenants.models import Tenant, User
from tenants.runtime import domains_changed

if TYPE_CHECKING:
    from crm_apps.access.models import Member

logger = logging.getLogger(__name__)


def _stamp(value: Any) -> str:
    """A row's creation time in microseconds: part of idempotency keys, so a reused id (a database
    rebuilt within Stripe's 24-hour key window) never collides with an older row's key."""
    return str(int(value.timestamp() * 1_000_000))


def billing_audit(
    *,
    action: str,
    operator: User | None,
    plan: Plan | None = None,
    tenant: Tenant | None = None,
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> BillingAuditEntry:
    """Append one entry to the operators' billing audit trail."""
    return BillingAuditEntry.objects.create(
        action=action,
        operator=operator,
        operator_label=operator.email if operator is not None else "",
        plan=plan,
        tenant=tenant,
        reason=reason,
        details=details or {},
    )


def default_plan() -> Plan | None:
    return Plan.objects.filter(is_default=True, archived=False).first()


def subscription_start_trial(*, tenant: Tenant, seats: int = 1) -> Subscription | None:
    """A new workspace starts a trial on the default plan, without a card and without calling Stripe
    (the Stripe customer is created when an admin first opens checkout). None when no default plan, and
    for a partner's sandbox, which is never billed and keeps its `sandbox` plan (marketplace/apps/sandbox.py)."""
    if tenant.is_sandbox:
        return None
    plan = default_plan()
    if plan is None:
        logger.warning("No default plan: workspace %s starts without a subscription", tenant.schema_name)
        return None
    subscription = Subscription.objects.create(
        tenant=tenant,
        plan=plan,
        status=SubscriptionStatus.TRIALING,
        trial_end=timezone.now() + timedelta(days=plan.trial_days),
        seats=max(seats, 1),
    )
    SubscriptionChange.objects.create(
        subscription=subscription, source=ChangeSource.TRIAL, to_status=subscription.status, plan_code=plan.code
    )
    Tenant.objects.filter(pk=tenant.pk).update(plan_code=plan.code)
    tenant.plan_code = plan.code
    return subscription


def subscription_ensure(*, tenant: Tenant) -> Subscription | None:
    """The tenant's subscription; a workspace that has none (created before billing, or while no plan
    was the default) gets its trial now. None for a partner's sandbox: it has no subscription, and one
    found anyway (started before sandboxes were excluded) is ignored so nothing can change its plan."""
    if tenant.is_sandbox:
        return None
    existing = Subscription.objects.select_related("plan", "price", "seat_price").filter(tenant=tenant).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return subscription_start_trial(tenant=tenant)
    except IntegrityError:  # started by a concurrent request a moment ago
        return Subscription.objects.select_related("plan").filter(tenant=tenant).first()


def plan_save(*, plan: Plan, operator: User | None, reason: str, changed: list[str]) -> Plan:
    """Create or change a plan (operators). Making it the default takes that from the previous default."""
    created = plan.pk is None
    plan.full_clean(validate_constraints=False)
    with transaction.atomic():
        if plan.is_default:
            Plan.objects.select_for_update().filter(is_default=True).exclude(pk=plan.pk).update(is_default=False)
        plan.save()
        billing_audit(
            action=BillingAction.PLAN_CREATED if created else BillingAction.PLAN_CHANGED,
            operator=operator,
            plan=plan,
            reason=reason,
            details={"fields": sorted(changed)},
        )
        transaction.on_commit(plans_forget)
    return plan


def plan_price_set(
    *,
    plan: Plan,
    kind: str,
    currency: str,
    period: str,
    amount: int,
    operator: User | None = None,
    reason: str = "",
) -> PlanPrice:
    """A new amount archives the current price of that slot and adds a new row; the same amount is a no-op."""
    currency = currency.lower()
    with transaction.atomic():
        current = (
            PlanPrice.objects.select_for_update()
            .filter(plan=plan, kind=kind, currency=currency, period=period, archived_at__isnull=True)
            .first()
        )
        if current is not None and current.amount == amount:
            return current
        if current is not None:
            current.archived_at = timezone.now()
            current.save(update_fields=["archived_at"])
        price = PlanPrice(plan=plan, kind=kind, currency=currency, period=period, amount=amount)
        price.full_clean()
        price.save()
        billing_audit(
            action=BillingAction.PRICE_CHANGED,
            operator=operator,
            plan=plan,
            reason=reason,
            details={
                "kind": kind,
                "currency": currency,
                "period": period,
                "old": current.amount if current is not None else None,
                "new": amount,
            },
        )
    return price


def plan_price_remove(*, price: PlanPrice, operator: User | None = None, reason: str = "") -> None:
    """Stop offering a price (archive it); subscribers on it keep it until moved."""
    if price.archived_at is not None:
        return
    price.archived_at = timezone.now()
    price.save(update_fields=["archived_at"])
    billing_audit(
        action=BillingAction.PRICE_CHANGED,
        operator=operator,
        plan=price.plan,
        reason=reason,
        details={"kind": price.kind, "currency": price.currency, "period": price.period, "old": price.amount},
    )


@dataclass
class MirrorResult:
    product_created: bool = False
    prices_created: list[str] = field(default_factory=list)
    prices_deactivated: list[str] = field(default_factory=list)


def plan_mirror(*, plan: Plan, operator: User | None = None) -> MirrorResult:
    """Make Stripe match the plan: its Product, a Price for every current price that has none, and
    archived prices deactivated. Raises PaymentsNotConfigured without a key, GatewayError on failure."""
    result = MirrorResult()
    metadata = {"plan": plan.code}
    active = not plan.archived
    if plan.stripe_product_id:
        gateway.product_update(
            product_id=plan.stripe_product_id,
            name=plan.name,
            description=plan.description,
            active=active,
            metadata=metadata,
        )
    else:
        plan.stripe_product_id = gateway.product_create(
            name=plan.name,
            description=plan.description,
            active=active,
            metadata=metadata,
            idempotency_key=f"plan-product-{plan.pk}-{_stamp(plan.created_at)}",
        )
        Plan.objects.filter(pk=plan.pk).update(stripe_product_id=plan.stripe_product_id)
        result.product_created = True

    for price in plan.prices.filter(archived_at__isnull=True, stripe_price_id="").order_by("pk"):
        price.stripe_price_id = gateway.price_create(
            product_id=plan.stripe_product_id,
            currency=price.currency,
            unit_amount=price.amount,
            interval=price.period,
            lookup_key=f"{plan.code}.{price.kind}.{price.currency}.{price.period}",
            metadata={"plan": plan.code, "kind": price.kind},
            idempotency_key=f"plan-price-{price.pk}-{_stamp(price.created_at)}",
        )
        price.stripe_active = True
        price.save(update_fields=["stripe_price_id", "stripe_active"])
        result.prices_created.append(price.stripe_price_id)

    for price in plan.prices.filter(archived_at__isnull=False, stripe_active=True).exclude(stripe_price_id=""):
        gateway.price_deactivate(price_id=price.stripe_price_id)
        price.stripe_active = False
        price.save(update_fields=["stripe_active"])
        result.prices_deactivated.append(price.stripe_price_id)

    if result.product_created or result.prices_created or result.prices_deactivated:
        billing_audit(
            action=BillingAction.PLAN_MIRRORED,
            operator=operator,
            plan=plan,
            details={
                "product": plan.stripe_product_id,
                "prices_created": result.prices_created,
                "prices_deactivated": result.prices_deactivated,
            },
        )
    return result


# A tenant admin's billing actions ---------------------------------------------------------------


class BillingError(Exception):
    """A billing action that cannot be done; the message is translated and safe to show."""


LIVE_STATUSES = frozenset(
    {SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING, SubscriptionStatus.PAST_DUE, SubscriptionStatus.INCOMPLETE}
)
# Stripe refuses a trial end less than 48 hours ahead.
CHECKOUT_TRIAL_MIN = timedelta(days=2)


def _tenant_audit(*, tenant: Tenant, actor: Member, details: dict[str, Any]) -> None:
    """Billing actions of a tenant's members go to that tenant's own audit trail."""
    with schema_context(tenant.schema_name):
        audit_log(action=SETTINGS_CHANGED, actor=actor, module="billing", details={"setting": "billing", **details})


def has_live_stripe_subscription(sub: Subscription) -> bool:
    return bool(sub.stripe_subscription_id) and sub.status != SubscriptionStatus.CANCELED


def _require_subscription(tenant: Tenant) -> Subscription:
    if tenant.is_sandbox:
        raise BillingError(_("Sandboxes are not billed."))
    sub = subscription_ensure(tenant=tenant)
    if sub is None:
        raise BillingError(_("No plan is available right now. Please contact support."))
    return sub


def plan_prices_for(*, plan: Plan, period: str, currency: str) -> tuple[PlanPrice, PlanPrice | None]:
    """The current plan price and extra-seat price of a plan in a period and currency."""
    current = {
        p.kind: p for p in plan.prices.filter(period=period, currency=currency.lower(), archived_at__isnull=True)
    }
    base = current.get(PriceKind.BASE)
    if base is None:
        raise BillingError(
            _("%(plan)s has no %(period)s price in %(currency)s.")
            % {"plan": plan.name, "period": Period(period).label, "currency": currency.upper()}
        )
    return base, current.get(PriceKind.SEAT)


def _ensure_mirrored(prices: list[PlanPrice | None]) -> None:
    """A price an operator added but did not mirror yet gets its Stripe Price now."""
    missing = [p for p in prices if p is not None and not p.stripe_price_id]
    if missing:
        plan_mirror(plan=missing[0].plan)
        for price in missing:
            price.refresh_from_db(fields=["stripe_price_id", "stripe_active"])


def extra_seats(*, seats: int, plan: Plan) -> int:
    return max(0, seats - plan.included_seats)


def _customer_ensure(*, sub: Subscription, email: str) -> str:
    """The tenant's Stripe customer, created the first time it is needed."""
    if sub.stripe_customer_id:
        return sub.stripe_customer_id
    tenant = sub.tenant
    customer_id = gateway.customer_create(
        name=tenant.name,
        email=email,
        metadata={"tenant": tenant.schema_name},
        idempotency_key=f"tenant-customer-{tenant.pk}-{_stamp(tenant.created_at)}",
    )
    Subscription.objects.filter(pk=sub.pk, stripe_customer_id="").update(stripe_customer_id=customer_id)
    sub.refresh_from_db(fields=["stripe_customer_id"])
    return sub.stripe_customer_id


def _items_for(
    stripe_subscription: dict[str, Any], base: PlanPrice, seat: PlanPrice | None, extra: int
) -> list[dict[str, Any]]:
    """Subscription item changes that put the subscription on `base` (+ `extra` seats of `seat`)."""
    items = ((stripe_subscription.get("items") or {}).get("data")) or []
    price_ids = [str((item.get("price") or {}).get("id") or "") for item in items]
    kinds = dict(PlanPrice.objects.filter(stripe_price_id__in=price_ids).values_list("stripe_price_id", "kind"))
    changes: list[dict[str, Any]] = []
    has_base = has_seat = False
    for item, price_id in zip(items, price_ids, strict=True):
        kind = kinds.get(price_id)
        if kind == PriceKind.BASE and not has_base:
            changes.append({"id": item["id"], "price": base.stripe_price_id, "quantity": 1})
            has_base = True
        elif kind == PriceKind.SEAT and not has_seat:
            if seat is not None and extra > 0:
                changes.append({"id": item["id"], "price": seat.stripe_price_id, "quantity": extra})
            else:
                changes.append({"id": item["id"], "deleted": True})
            has_seat = True
    if not has_base:
        changes.append({"price": base.stripe_price_id, "quantity": 1})
    if not has_seat and seat is not None and extra > 0:
        changes.append({"price": seat.stripe_price_id, "quantity": extra})
    return changes


def _apply_returned(sub: Subscription, obj: dict[str, Any]) -> None:
    """Show Stripe's answer at once; it counts as of the newest state we know, so the webhook that
    follows (and anything newer) still applies."""
    from billing.events import subscription_apply

    subscription_apply(obj, sub.stripe_updated, authoritative=True)


# A choice submitted again within this time gets the Checkout session already opened for it (Stripe's
# sessions stay open for 24 hours, its idempotency keys are kept as long).
CHECKOUT_REUSE = timedelta(minutes=10)


def _checkout_session_url(*, sub: Subscription, params: dict[str, Any], audit: Any) -> str | None:
    """The URL of a Checkout session with `params`: the one opened for the same parameters in the last
    minutes, else a new one; None when the subscription turned out to be paid through Stripe already.

    The subscription row is locked only to find or record the attempt (never during the Stripe call):
    two submissions at once find the same attempt and send the same idempotency key, so Stripe makes
    one session and returns it to both."""
    from billing.lock_objects import subscription_lock
    from billing.models import CheckoutAttempt

    fingerprint = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()
    with transaction.atomic():
        locked = subscription_lock(sub.pk)
        if has_live_stripe_subscription(locked):
            return None
        attempt = (
            CheckoutAttempt.objects.filter(
                subscription=locked, fingerprint=fingerprint, created_at__gt=timezone.now() - CHECKOUT_REUSE
            )
            .order_by("-created_at", "-pk")
            .first()
        )
        if attempt is None:
            attempt = CheckoutAttempt.objects.create(subscription=locked, fingerprint=fingerprint)
    if attempt.url:
        return attempt.url
    try:
        session = gateway.checkout_session_create(
            **params, idempotency_key=f"checkout-{attempt.pk}-{_stamp(attempt.created_at)}"
        )
    except gateway.GatewayError as exc:
        if exc.answered:  # Stripe keeps an error answer for the key: the next submission needs a new one
            CheckoutAttempt.objects.filter(pk=attempt.pk, url="").delete()
        raise  # not answered: the next submission repeats the key and gets the session if one was made
    recorded = CheckoutAttempt.objects.filter(pk=attempt.pk, url="").update(
        stripe_session_id=str(session["id"]), url=str(session["url"])
    )
    if recorded:  # once per session, by the request that recorded it
        audit(str(session["id"]))
    return str(session["url"])


def subscription_choose_plan(
    *,
    actor: Member,
    tenant: Tenant,
    plan: Plan,
    period: str,
    currency: str,
    email: str,
    success_url: str,
    cancel_url: str,
) -> str | None:
    """First payment (or after a cancellation): a Stripe Checkout session, whose URL is returned. A live
    subscription changes plan or period in place, prorated, and None is returned."""
    if not gateway.is_configured():
        raise gateway.PaymentsNotConfigured
    sub = _require_subscription(tenant)
    if plan.pk != sub.plan_id and (plan.archived or not plan.is_public):
        raise BillingError(_("This plan is not offered."))
    base, seat = plan_prices_for(plan=plan, period=period, currency=currency)
    _ensure_mirrored([base, seat])
    extra = extra_seats(seats=sub.seats, plan=plan)
    details = {"plan": plan.code, "period": period, "currency": base.currency}

    if not has_live_stripe_subscription(sub):
        customer_id = _customer_ensure(sub=sub, email=email)
        line_items: list[dict[str, Any]] = [{"price": base.stripe_price_id, "quantity": 1}]
        if seat is not None and extra > 0:
            line_items.append({"price": seat.stripe_price_id, "quantity": extra})
        trial_end = None
        if (
            sub.status == SubscriptionStatus.TRIALING
            and sub.trial_end
            and sub.trial_end > timezone.now() + CHECKOUT_TRIAL_MIN
        ):
            trial_end = int(sub.trial_end.timestamp())  # the rest of the trial stays free
        url = _checkout_session_url(
            sub=sub,
            params={
                "customer_id": customer_id,
                "client_reference_id": tenant.schema_name,
                "line_items": line_items,
                "metadata": {"tenant": tenant.schema_name, "plan": plan.code},
                "success_url": success_url,
                "cancel_url": cancel_url,
                "trial_end": trial_end,
            },
            audit=lambda session_id: _tenant_audit(
                tenant=tenant, actor=actor, details={"action": "checkout_started", "session": session_id, **details}
            ),
        )
        if url is not None:
            return url
        # A checkout (in another tab) completed meanwhile: this choice changes that subscription in place.
        sub = Subscription.objects.select_related("plan", "price", "seat_price", "tenant").get(pk=sub.pk)

    if sub.price is not None and sub.price.currency != base.currency:
        raise BillingError(_("A subscription keeps its currency; cancel it and subscribe again to change it."))
    current = gateway.subscription_retrieve(subscription_id=sub.stripe_subscription_id)
    updated = gateway.subscription_items_update(
        subscription_id=sub.stripe_subscription_id, items=_items_for(current, base, seat, extra)
    )
    _apply_returned(sub, updated)
    _tenant_audit(
        tenant=tenant,
        actor=actor,
        details={"action": "plan_changed", "from": sub.plan.code, **details},
    )
    return None


def subscription_cancel(*, actor: Member, tenant: Tenant, resume: bool = False) -> None:
    """Cancel at the end of the paid period (the workspace keeps working until then), or resume."""
    if not gateway.is_configured():
        raise gateway.PaymentsNotConfigured
    sub = _require_subscription(tenant)
    if not has_live_stripe_subscription(sub):
        raise BillingError(_("There is no paid subscription to cancel or resume."))
    updated = gateway.subscription_cancel_at_period_end(subscription_id=sub.stripe_subscription_id, cancel=not resume)
    _apply_returned(sub, updated)
    _tenant_audit(tenant=tenant, actor=actor, details={"action": "resumed" if resume else "cancel_at_period_end"})


def portal_session_url(*, actor: Member, tenant: Tenant, email: str, return_url: str) -> str:
    """A Stripe customer portal session where the admin manages cards and billing details."""
    if not gateway.is_configured():
        raise gateway.PaymentsNotConfigured
    sub = _require_subscription(tenant)
    customer_id = _customer_ensure(sub=sub, email=email)
    return gateway.portal_session_create(customer_id=customer_id, return_url=return_url)


# Seats ----------------------------------------------------------------------------------------


def subscription_seats_sync(*, subscription: Subscription, active_members: int) -> bool:
    """Seats follow the active members; a live Stripe subscription's extra-seat quantity follows too
    (prorated). Stripe is updated first: if it fails, the local count stays and the next run retries.
    Returns whether anything changed."""
    seats = max(active_members, 1)
    if seats == subscription.seats:
        return False
    price = subscription.price
    if has_live_stripe_subscription(subscription) and gateway.is_configured() and price is not None:
        seat = subscription.seat_price
        if seat is None or seat.archived_at is not None:
            seat = (
                PlanPrice.objects.filter(
                    plan=subscription.plan,
                    kind=PriceKind.SEAT,
                    currency=price.currency,
                    period=price.period,
                    archived_at__isnull=True,
                ).first()
                or seat
            )
        _ensure_mirrored([seat])
        current = gateway.subscription_retrieve(subscription_id=subscription.stripe_subscription_id)
        extra = extra_seats(seats=seats, plan=subscription.plan)
        # Keep the plan price the subscriber is on (it may be archived): only the seat item changes.
        changes = [c for c in _items_for(current, price, seat, extra) if c.get("price") != price.stripe_price_id]
        if changes:
            updated = gateway.subscription_items_update(
                subscription_id=subscription.stripe_subscription_id, items=changes
            )
            _apply_returned(subscription, updated)
    Subscription.objects.filter(pk=subscription.pk).update(seats=seats, updated_at=timezone.now())
    subscription.seats = seats
    return True


def subscriptions_seats_sync_all() -> int:
    """Batched: every subscription whose seat count differs from its active members (counted in the
    public workspace directory, without entering any tenant schema)."""
    changed = 0
    candidates = (
        Subscription.objects.select_related("tenant", "plan", "price", "seat_price")
        .annotate(active=Count("tenant__memberships", filter=Q(tenant__memberships__is_active=True)))
        .order_by("pk")
    )
    for sub in candidates:
        if max(sub.active, 1) == sub.seats:
            continue
        try:
            changed += subscription_seats_sync(subscription=sub, active_members=sub.active)
        except gateway.GatewayError:
            logger.warning("Seat sync of %s failed; retried at the next run", sub.tenant.schema_name)
    return changed


# Operators' actions on a tenant's subscription ----------------------------------------------------

MAX_TRIAL_EXTENSION_DAYS = 365
FORCEABLE_STATUSES = (
    SubscriptionStatus.ACTIVE,
    SubscriptionStatus.PAST_DUE,
    SubscriptionStatus.CANCELED,
)


def _reason_clean(reason: Any) -> str:
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        raise ValidationError({"reason": [_("Give a reason; it is kept in the billing audit trail.")]})
    if len(reason) > 2000:
        raise ValidationError({"reason": [_("Ensure this value has at most %(max)d characters.") % {"max": 2000}]})
    return reason


def _operator_apply(
    *,
    operator: User | None,
    tenant: Tenant,
    action: str,
    reason: str,
    change: Any,
    details: dict[str, Any],
) -> Subscription:
    """Lock the subscription, let `change` set it, follow it with the workspace, record history and audit."""
    from billing.dunning import tenant_follow_subscription
    from billing.lock_objects import subscription_lock

    if tenant.is_sandbox:  # a subscription left from before sandboxes were excluded is never changed
        raise ValidationError(_("Sandboxes are not billed."))
    sub = _require_subscription(tenant)
    with transaction.atomic():
        locked = subscription_lock(sub.pk)
        previous = locked.status
        before = {"status": locked.status, "plan": locked.plan.code, "trial_end": _iso(locked.trial_end)}
        change(locked)
        tenant_follow_subscription(
            sub=locked,
            previous_status=previous,
            source=ChangeSource.OPERATOR,
            operator_label=operator.email if operator is not None else "",
            note=reason,
        )
        locked.save()
        if locked.tenant.plan_code != locked.plan.code:
            Tenant.objects.filter(pk=locked.tenant_id).update(plan_code=locked.plan.code)
            locked.tenant.plan_code = locked.plan.code
            transaction.on_commit(domains_changed)  # every process: the remembered tenant carries the plan
        billing_audit(
            action=action,
            operator=operator,
            plan=locked.plan,
            tenant=locked.tenant,
            reason=reason,
            details={
                "before": before,
                "after": {"status": locked.status, "plan": locked.plan.code, "trial_end": _iso(locked.trial_end)},
                **details,
            },
        )
    return locked


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _no_live_stripe(sub: Subscription, message: str) -> None:
    if has_live_stripe_subscription(sub):
        raise ValidationError({"__all__": [message]})


def subscription_extend_trial(*, operator: User | None, tenant: Tenant, days: Any, reason: Any) -> Subscription:
    """Operators give a trial (ours, not yet on Stripe) `days` more, counted from its end or from now if it
    has ended; an ended trial becomes a trial again and dunning stops."""
    reason = _reason_clean(reason)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_TRIAL_EXTENSION_DAYS:
        raise ValidationError(
            {"days": [_("Enter a whole number of days from 1 to %(max)d.") % {"max": MAX_TRIAL_EXTENSION_DAYS}]}
        )
    message = _("This workspace pays through Stripe; a trial can only be extended before the first payment.")

    def change(locked: Subscription) -> None:
        _no_live_stripe(locked, message)  # on the locked row: a checkout may have just completed
        start = max(locked.trial_end or timezone.now(), timezone.now())
        locked.trial_end = start + timedelta(days=days)
        locked.status = SubscriptionStatus.TRIALING

    return _operator_apply(
        operator=operator,
        tenant=tenant,
        action=BillingAction.TRIAL_EXTENDED,
        reason=reason,
        change=change,
        details={"days": days},
    )


def subscription_grant_complimentary(
    *, operator: User | None, tenant: Tenant, plan: Plan | None, reason: Any
) -> Subscription:
    """Operators put a workspace on a plan free of charge (no Stripe subscription): active, never dunned."""
    reason = _reason_clean(reason)
    if plan is None:
        raise ValidationError({"plan": [_("Choose a plan.")]})
    message = _("This workspace pays through Stripe; cancel its Stripe subscription first.")

    def change(locked: Subscription) -> None:
        _no_live_stripe(locked, message)  # on the locked row: a checkout may have just completed
        locked.plan = plan
        locked.price = locked.seat_price = None
        locked.complimentary = True
        locked.status = SubscriptionStatus.ACTIVE
        locked.trial_end = None

    return _operator_apply(
        operator=operator,
        tenant=tenant,
        action=BillingAction.COMPLIMENTARY_GRANTED,
        reason=reason,
        change=change,
        details={"plan": plan.code},
    )


def subscription_force_state(*, operator: User | None, tenant: Tenant, status: Any, reason: Any) -> Subscription:
    """Operators set a subscription's status by hand (e.g. to end a complimentary grant, or to start or stop
    dunning). A paid Stripe subscription takes Stripe's state again at its next event."""
    reason = _reason_clean(reason)
    if status not in FORCEABLE_STATUSES:
        raise ValidationError({"status": [_("Choose active, payment overdue or canceled.")]})

    def change(locked: Subscription) -> None:
        locked.status = status
        if status != SubscriptionStatus.ACTIVE:
            locked.complimentary = False

    return _operator_apply(
        operator=operator,
        tenant=tenant,
        action=BillingAction.STATE_FORCED,
        reason=reason,
        change=change,
        details={"status": status},
    )
