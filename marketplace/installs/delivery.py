"""Writing and sending webhook deliveries (called by tasks in the tenant's schema)."""

from __future__ import annotations

from django.db import connection, transaction

from crm_apps.access import visibility
from crm_apps.engine import registry
from marketplace.apps.usage import delivery_count
from marketplace.installs.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from marketplace.installs.webhooks import body_and_headers, payload_for, post
from saas.webhooks import attempt_settle

RETRY_BASE_SECONDS = 30


def deliveries_create(*, event: str, record_ids: list[str]) -> list[int]:
    """One delivery per active subscription to `event` and record the installing member may see."""
    module = event.split(".")[0]
    spec = registry.get(module)
    subscriptions = list(
        WebhookSubscription.objects.select_related("installation", "installation__installed_by").filter(
            active=True, events__contains=[event], installation__state="installed"
        )
    )
    created: list[int] = []
    for subscription in subscriptions:
        member = subscription.installation.installed_by
        if member is None or not member.active:
            continue
        manager = spec.records()
        records = {
            str(r.pk): r
            for r in visibility.visible_records(actor=member, spec=spec, queryset=manager.filter(pk__in=record_ids))
        }
        for record_id in record_ids:
            record = records.get(record_id)
            if record is None:
                continue
            payload = payload_for(subscription=subscription, event=event, record=record, record_id=record_id)
            delivery = WebhookDelivery.objects.create(
                subscription=subscription, event=event, module=spec.key, record_id=record_id, payload=payload
            )
            created.append(delivery.pk)
    return created


def delivery_attempt(*, delivery_id: int) -> tuple[str, int | None]:
    """Try once; (status, attempt number to retry after) - None when done."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update()
            .select_related("subscription", "subscription__installation")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status != DeliveryStatus.PENDING:
            return (delivery.status if delivery else "missing"), None
        if not delivery.subscription.active or not delivery.subscription.installation.is_installed:
            delivery.status = DeliveryStatus.FAILED
            delivery.error = "subscription no longer active"
            delivery.save(update_fields=["status", "error"])
            return delivery.status, None
        delivery.attempts += 1
        delivery.save(update_fields=["attempts"])
    body, headers = body_and_headers(delivery)
    status, retry = attempt_settle(
        model=WebhookDelivery,
        delivery=delivery,
        url=delivery.subscription.url,
        body=body,
        headers=headers,
        post_fn=post,
    )
    if retry is None and status != DeliveryStatus.PENDING:  # settled: counts for the apps' usage statistics
        delivery_count(
            listing_id=delivery.subscription.installation.listing_id,
            schema=connection.schema_name,  # type: ignore[attr-defined]  # django-tenants
            ok=status == DeliveryStatus.SUCCEEDED,
        )
    return status, retry
