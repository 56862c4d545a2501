"""Celery entry points of billing. They run in `public` (billing data is shared, never per tenant)."""

from __future__ import annotations

from saas.celery import app
from tenants.runtime import use_public_schema


@app.task(name="billing.stripe_event_process_task")
def stripe_event_process_task(event_id: str) -> str:
    """Apply one stored Stripe event (idempotent: a processed event is skipped)."""
    from billing.events import stripe_event_process

    use_public_schema()
    return stripe_event_process(event_id=event_id)


@app.task(name="billing.stripe_events_retry_task")
def stripe_events_retry_task() -> int:
    """Periodic: process events whose task was lost (broker down) or failed, up to MAX_ATTEMPTS each."""
    from billing.events import stripe_event_process, stripe_events_pending

    use_public_schema()
    pending = stripe_events_pending()
    for event_id in pending:
        stripe_event_process(event_id=event_id)
    return len(pending)


@app.task(name="billing.seats_sync_all_task")
def seats_sync_all_task() -> int:
    """Periodic: seats follow each tenant's active members, in one batch (Stripe quantities too)."""
    from billing.services import subscriptions_seats_sync_all

    use_public_schema()
    return subscriptions_seats_sync_all()


@app.task(name="billing.dunning_run_task")
def dunning_run_task() -> dict[str, int]:
    """Periodic: trial reminders, trials ended unpaid, and each overdue workspace's next dunning step."""
    from billing.dunning import dunning_run

    use_public_schema()
    return dunning_run()
