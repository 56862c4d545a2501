"""Outgoing calls of this tenant: its own webhooks' record events and workflows' webhook actions.

The transport (HMAC signature, the SSRF address check, connecting to the checked address) is
saas/webhooks.py, shared with the marketplace's extension subscriptions; the retry policy is the same
(exponential backoff, MAX_ATTEMPTS). Payloads carry the record as the webhook's creator may see it.
"""

from __future__ import annotations

import json
import time
from typing import Any

from django.db import transaction

from crm_apps.access import visibility
from crm_apps.automation.models import Delivery, DeliveryStatus, TenantWebhook
from crm_apps.engine import registry
from saas.webhooks import SIGNATURE_HEADER, attempt_settle, post, sign
from tenants.runtime import current_schema

RETRY_BASE_SECONDS = 30


def deliveries_create(*, event: str, record_ids: list[str], occurred_at: str) -> list[int]:
    """One delivery per active webhook wanting `event`, per record its creator may see (deleted: id only)."""
    from crm_apps.automation.runner import _record_payload

    module = event.split(".")[0]
    spec = registry.get(module)
    created: list[int] = []
    for hook in TenantWebhook.objects.select_related("created_by").filter(active=True, events__contains=[event]):
        member = hook.created_by
        if not member.active:
            continue
        deleted = event.endswith(".deleted")
        records: dict[str, Any] = {}
        if not deleted:
            queryset = spec.records().filter(pk__in=record_ids)
            records = {str(r.pk): r for r in visibility.visible_records(actor=member, spec=spec, queryset=queryset)}
        for record_id in record_ids:
            if not deleted and record_id not in records:
                continue
            data = {"id": record_id} if deleted else _record_payload(spec, records[record_id], member)
            payload = {
                "event": event,
                "workspace": current_schema(),
                "webhook": hook.pk,
                "occurred_at": occurred_at,
                "record": data,
            }
            delivery = Delivery.objects.create(
                webhook=hook,
                url=hook.url,
                secret=hook.secret,
                event=event,
                module=spec.key,
                record_id=record_id,
                payload=payload,
            )
            created.append(delivery.pk)
    return created


def body_and_headers(delivery: Delivery) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"delivery": delivery.pk, **delivery.payload}, separators=(",", ":")).encode()
    return body, {
        "Content-Type": "application/json",
        "User-Agent": "CRM-Webhooks/1",
        "X-CRM-Event": delivery.event,
        "X-CRM-Delivery": str(delivery.pk),
        SIGNATURE_HEADER: sign(delivery.secret, body, int(time.time())),
    }


def delivery_attempt(*, delivery_id: int) -> tuple[str, int | None]:
    """Try once; (status, attempt number to retry after) - None when done."""
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(of=("self",)).select_related("webhook").filter(pk=delivery_id).first()
        )
        if delivery is None or delivery.status != DeliveryStatus.PENDING:
            return (delivery.status if delivery else "missing"), None
        if delivery.webhook is not None and not delivery.webhook.active:
            delivery.status = DeliveryStatus.FAILED
            delivery.error = "webhook no longer active"
            delivery.save(update_fields=["status", "error"])
            return delivery.status, None
        delivery.attempts += 1
        delivery.save(update_fields=["attempts"])
    body, headers = body_and_headers(delivery)
    if delivery.run_step_id is None:
        return attempt_settle(
            model=Delivery, delivery=delivery, url=delivery.url, body=body, headers=headers, post_fn=post
        )
    reply: dict[str, Any] = {}
    outcome = attempt_settle(
        model=Delivery,
        delivery=delivery,
        url=delivery.url,
        body=body,
        headers=headers,
        post_fn=lambda url, body, headers: post(url, body, headers, reply=reply),
    )
    if "body" in reply:
        text = bytes(reply["body"]).decode("utf-8", errors="replace").replace("\x00", "")
        Delivery.objects.filter(pk=delivery.pk).update(response_body=text)
    return outcome


def _reply_value(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text[:10000]


def reply_settled(*, delivery_id: int) -> None:
    """A workflow's webhook call is settled (delivered, failed for good, or refused): its step's output gets
    the answer (`status`, `response_status`, `body`: parsed JSON or text), a run waiting for it continues,
    and the `webhook_reply` workflows of the record's module are fired one automation level deeper."""
    from crm_apps.automation import listeners, runner
    from crm_apps.automation.models import RunStatus, RunStep, WorkflowRun

    delivery = Delivery.objects.select_related("run_step", "run_step__run").filter(pk=delivery_id).first()
    if delivery is None or delivery.run_step is None or delivery.status == DeliveryStatus.PENDING:
        return
    step = delivery.run_step
    run = step.run
    answer = {
        "delivery": delivery.pk,
        "status": str(delivery.status),
        "response_status": delivery.response_status,
        "body": _reply_value(delivery.response_body),
    }
    with transaction.atomic():
        step.output = {**step.output, **answer}
        step.save(update_fields=["output"])
        locked = WorkflowRun.objects.select_for_update().get(pk=run.pk)
        locked.outputs = {**locked.outputs, step.step_id: step.output}
        locked.save(update_fields=["outputs"])
        resume = (
            step.status == "waiting"
            and WorkflowRun.objects.filter(pk=run.pk, status=RunStatus.WAITING).update(status=RunStatus.RUNNING) == 1
        )
        if resume:
            RunStep.objects.filter(pk=step.pk).update(status="succeeded")
        listeners.event_fire(
            trigger="webhook_reply",
            module=delivery.module,
            record_ids=[delivery.record_id],
            data={"workflow": run.workflow_id, "run": run.pk, "step": step.step_id, **answer},
            depth=run.depth + 1,
        )
    if resume:
        runner.run_continue(WorkflowRun.objects.select_related("workflow", "version", "actor").get(pk=run.pk))
