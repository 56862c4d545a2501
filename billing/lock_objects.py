"""Row locks of billing, always taken in this order to avoid deadlocks:

1. the tenant's Subscription row (one at a time; never two subscriptions in one transaction);
2. the Tenant row, only through `tenant_set_status` (an UPDATE) while the subscription is locked;
3. an Invoice row.

No lock is ever held while Stripe is called: read, call Stripe, then lock and apply.
"""

from __future__ import annotations

from billing.models import Invoice, Subscription


def subscription_lock(subscription_id: int) -> Subscription:
    return Subscription.objects.select_for_update(of=("self",)).select_related("tenant", "plan").get(pk=subscription_id)


def invoice_lock(stripe_invoice_id: str) -> Invoice | None:
    return Invoice.objects.select_for_update().filter(stripe_invoice_id=stripe_invoice_id).first()
