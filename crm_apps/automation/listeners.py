"""The engine's write events, turned into workflow runs and tenant webhook deliveries (after commit).

`record_changed` (inside the write's transaction) decides which enabled workflows of the module this save
triggers - from the trigger alone, no query: the list is memoised per metadata version - and queues one
evaluation task per workflow after commit, carrying the change and the automation depth of the write.
Date triggers re-plan their due row here. `record_event` queues the tenant's webhook fan-out.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from crm_apps.access.models import Member
from crm_apps.engine import events, metadata
from crm_apps.engine.models import CrmRecord
from crm_apps.engine.spec import ModuleSpec
from tenants.runtime import current_schema, in_public_schema

STAGE_CHANGED = "stage_changed"


def _workflows() -> dict[str, list[tuple[int, dict[str, Any]]]]:
    from crm_apps.automation.models import Workflow

    found: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    rows = Workflow.objects.filter(enabled=True, current__isnull=False).values_list(
        "pk", "module", "current__definition", "system_key"
    )
    for pk, module, definition, system_key in rows:
        trigger = definition.get("trigger", {})
        if system_key and trigger.get("type") == "manual":
            continue  # an approval's outcome: run by its process, never offered on the record page
        found.setdefault(module, []).append((pk, trigger))
    return found


def _webhook_events() -> frozenset[str]:
    from crm_apps.automation.models import TenantWebhook

    rows = TenantWebhook.objects.filter(active=True).values_list("events", flat=True)
    return frozenset(e for events_ in rows for e in events_)


def workflows_for(module: str) -> list[tuple[int, dict[str, Any]]]:
    return metadata.memoised(("automation_workflows",), _workflows).get(module, [])


def _same(a: Any, b: Any) -> bool:
    return str(a) == str(b) if a is not None and b is not None else a is b


def trigger_fires(trigger: dict[str, Any], changes: dict[str, list[Any]], created: bool) -> bool:
    kind = trigger.get("type")
    if kind == "created":
        return created
    if kind == "updated":
        return not created
    if kind in ("saved", "first_match"):
        return True
    if kind == "field_changed":
        name = trigger.get("field", "")
        if name not in changes or created:
            return False
        old, new = changes[name]
        if "from" in trigger and not _same(old, trigger["from"]):
            return False
        return "to" not in trigger or _same(new, trigger["to"])
    return False


def record_changed(
    spec: ModuleSpec, record: CrmRecord, changes: dict[str, list[Any]], actor: Member, created: bool
) -> None:
    if in_public_schema():
        return
    from crm_apps.automation.runner import current_depth

    depth = current_depth()
    for workflow_id, trigger in workflows_for(spec.key):
        if trigger.get("type") == "date" and (created or trigger.get("field") in changes):
            from crm_apps.automation.scheduling import due_row_plan

            due_row_plan(workflow_id=workflow_id, trigger=trigger, record=record)
        if trigger_fires(trigger, changes, created):
            _queue(workflow_id, spec.key, str(record.pk), trigger["type"], changes, actor.pk, depth)
    if not created and spec.kanban_field and spec.kanban_field in changes:
        events.record_event(module=spec.key, event=STAGE_CHANGED, record_ids=[record.pk])


def _queue(
    workflow_id: int,
    module: str,
    record_id: str,
    trigger: str,
    changes: dict[str, list[Any]],
    actor_id: int,
    depth: int,
) -> None:
    import json

    schema = current_schema()
    payload = json.loads(json.dumps(changes, default=str))

    def queue() -> None:
        from crm_apps.automation.tasks import workflow_evaluate_task

        if current_schema() != schema:
            return
        workflow_evaluate_task.delay(workflow_id, record_id, trigger, payload, actor_id, depth)

    transaction.on_commit(queue)


def record_event(module: str, event: str, record_ids: list[str]) -> None:
    """Tenant webhooks: after commit, fan out if an active webhook of this tenant wants the event."""
    if in_public_schema():
        return
    name = f"{module}.{event}"
    schema = current_schema()

    def queue() -> None:
        from crm_apps.automation.tasks import webhooks_fanout_task

        if current_schema() != schema:
            return
        if name in metadata.memoised(("automation_webhook_events",), _webhook_events):
            webhooks_fanout_task.delay(name, record_ids, dt.datetime.now(dt.UTC).isoformat())

    transaction.on_commit(queue)


def connect() -> None:
    from crm_apps.automation import approvals

    events.change_listener_add(record_changed)
    events.change_listener_add(approvals.record_changed)
    events.write_guard_add(approvals.write_guard)
    events.listener_add(record_event)
