"""Writes of billing: plans and prices (operators), their mirror on Stripe.

Stripe calls never happen inside a database transaction that holds row locks: ids Stripe returns
are saved right after each call, and idempotency keys derived from our row ids make a repeated
call (after a crash or a double click) return the same Stripe object instead of a second one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from billing import gateway
from billing.models import BillingAction, BillingAuditEntry, Plan, PlanPrice, Subscription, SubscriptionStatus
from tenants.models import Tenant, User

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
    (the Stripe customer is created when an admin first opens checkout). None when no default plan."""
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
    Tenant.objects.filter(pk=tenant.pk).update(plan_code=plan.code)
    tenant.plan_code = plan.code
    return subscription


def subscription_ensure(*, tenant: Tenant) -> Subscription | None:
    """The tenant's subscription; a workspace that has none (created before billing, or while no plan
    was the default) gets its trial now."""
    existing = Subscription.objects.select_related("plan", "price", "seat_price").filter(tenant=tenant).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return subscription_start_trial(tenant=tenant)
    except IntegrityError:  # started by a concurrent request a moment ago
        return Subscription.objects.select_related("plan").filter(tenant=tenant).first()


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
