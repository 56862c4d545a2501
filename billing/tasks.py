"""Celery entry points of billing. They run in `public` (billing data is shared, never per tenant)."""

from __future__ import annotations

import logging

from celery import Task
from django_tenants.utils import schema_context

from saas.celery import app
from tenants.runtime import use_public_schema

logger = logging.getLogger(__name__)


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
    """Periodic: seats follow each tenant's active members, in one batch (Stripe quantities too), and
    the seat followers (per-seat extensions) catch up with anything their own tasks could not apply."""
    from billing.gateway import GatewayError
    from billing.seats import seats_follow
    from billing.services import subscriptions_seats_sync_all

    use_public_schema()
    changed = subscriptions_seats_sync_all()
    try:
        changed += seats_follow(tenant_id=None)
    except GatewayError:
        logger.warning("Seat followers failed; retried at the next run")
    return changed


SEATS_RETRY_BASE_SECONDS = 30


@app.task(name="billing.tenant_seats_follow_task", bind=True, max_retries=8)
def tenant_seats_follow_task(self: Task, tenant_id: int) -> int:
    """After a member change: products billed per seat follow the tenant's count (idempotent; retried
    with exponential backoff while Stripe fails)."""
    from billing.gateway import GatewayError
    from billing.seats import seats_follow

    try:
        # Queued after a member change in a tenant schema (run eagerly there in development): restore it.
        with schema_context("public"):
            return seats_follow(tenant_id=tenant_id)
    except GatewayError as exc:
        raise self.retry(exc=exc, countdown=SEATS_RETRY_BASE_SECONDS * 2**self.request.retries) from exc


@app.task(name="billing.dunning_run_task")
def dunning_run_task() -> dict[str, int]:
    """Periodic: trial reminders, trials ended unpaid, and each overdue workspace's next dunning step."""
    from billing.dunning import dunning_run

    use_public_schema()
    return dunning_run()
