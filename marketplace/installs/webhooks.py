"""Outgoing webhooks of installed extensions: record events of this tenant only, signed, SSRF-safe.

A record write announces `<module>.<event>` (crm_apps/engine/events.py). After the transaction commits,
and only if an active subscription of *this* schema wants that event, a Celery task (carrying the
tenant) writes one WebhookDelivery per subscription and record, with the record as the installing
member sees it through the visibility filter, then each delivery is sent by its own task and retried
with exponential backoff.

Signature: header `X-CRM-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, the
secret being the subscription's own. Targets must resolve only to public addresses (not private,
loopback, link-local, multicast or reserved); the connection goes to the address that was checked, so
a DNS answer that changes between check and connect cannot redirect it. `WEBHOOKS_ALLOW_PRIVATE`
(development and tests only) lifts the address check.
"""

from __future__ import annotations

import json
import time
from typing import Any

from django.db import transaction
from django.utils import timezone

from saas.webhooks import MAX_ATTEMPTS, SIGNATURE_HEADER, TIMEOUT_SECONDS, UnsafeTarget, post, resolve_target, sign
from tenants.runtime import current_schema, in_public_schema

__all__ = [
    "MAX_ATTEMPTS",
    "SIGNATURE_HEADER",
    "TIMEOUT_SECONDS",
    "UnsafeTarget",
    "body_and_headers",
    "payload_for",
    "post",
    "record_event_queue",
    "resolve_target",
    "sign",
]


def record_event_queue(module: str, event: str, record_ids: list[str]) -> None:
    """Engine listener: after commit, queue delivery if this tenant subscribes to the event."""
    if in_public_schema():
        return
    name = f"{module}.{event}"
    schema = current_schema()

    def queue() -> None:
        from crm_apps.engine import metadata
        from marketplace.installs.models import WebhookSubscription
        from marketplace.installs.tasks import webhook_fanout_task

        if current_schema() != schema:  # on_commit runs in the same schema; never deliver elsewhere
            return

        def subscribed() -> frozenset[str]:
            rows = WebhookSubscription.objects.filter(active=True, installation__state="installed")
            return frozenset(e for events in rows.values_list("events", flat=True) for e in events)

        # Shared like custom fields (installs, upgrades and uninstalls call metadata_changed()): a
        # create costs no query when nobody subscribes.
        if name in metadata.memoised(("webhook_events",), subscribed):
            webhook_fanout_task.delay(name, record_ids)

    transaction.on_commit(queue)


def payload_for(*, subscription: Any, event: str, record: Any, record_id: str) -> dict[str, Any]:
    """The body of one delivery: the event and the record as the installing member may see it."""
    from crm_apps.engine import metadata
    from crm_apps.engine.api.representation import api_fields, record_to_api
    from crm_apps.engine.fieldaccess import field_rules
    from crm_apps.engine.registry import get

    module = event.split(".")[0]
    data: dict[str, Any] = {"id": record_id}
    if record is not None and not event.endswith(".deleted"):
        spec = get(module)
        member = subscription.installation.installed_by
        rules = field_rules(actor=member, spec=spec)
        data = record_to_api(
            spec, record, rules.custom(metadata.custom_fields(spec.key)), rules.visible(api_fields(spec))
        )
    return {
        "event": event,
        "workspace": current_schema(),
        "extension": subscription.installation.slug,
        "occurred_at": timezone.now().isoformat(),
        "record": json.loads(json.dumps(data, default=str)),
    }


def body_and_headers(delivery: Any) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"delivery": delivery.pk, **delivery.payload}, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "CRM-Webhooks/1",
        "X-CRM-Event": delivery.event,
        "X-CRM-Delivery": str(delivery.pk),
        SIGNATURE_HEADER: sign(delivery.subscription.secret, body, int(time.time())),
    }
    return body, headers
