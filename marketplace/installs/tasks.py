"""Celery entry points of installed extensions; each runs inside the tenant schema it was queued from."""

from __future__ import annotations

from saas.celery import app
from tenants.tasks import TenantOnlyTask


@app.task(base=TenantOnlyTask, name="installs.webhook_fanout_task")
def webhook_fanout_task(event: str, record_ids: list[str]) -> int:
    """Write this tenant's deliveries of one event and queue each; the number queued."""
    from marketplace.installs.delivery import deliveries_create

    ids = deliveries_create(event=event, record_ids=record_ids)
    for delivery_id in ids:
        webhook_deliver_task.delay(delivery_id)
    return len(ids)


@app.task(base=TenantOnlyTask, name="installs.webhook_deliver_task")
def webhook_deliver_task(delivery_id: int) -> str:
    """Send one delivery; on failure queue the next attempt with exponential backoff."""
    from marketplace.installs.delivery import RETRY_BASE_SECONDS, delivery_attempt

    status, retry = delivery_attempt(delivery_id=delivery_id)
    if retry is not None:
        webhook_deliver_task.apply_async(args=(delivery_id,), countdown=RETRY_BASE_SECONDS * 2**retry)
    return status
