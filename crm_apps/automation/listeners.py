"""The engine's write events, turned into workflow runs and tenant webhook deliveries (after commit).

`record_changed` (inside the write's transaction) decides which enabled workflows of the module this save
triggers - from the trigger alone, no query: the list is memoised per metadata version - and, after
commit, appends one evaluation per workflow (the change and the automation depth of the write) to the
tenant's fair queue (`fair`), drained in bounded batches per tenant.
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
    actor_id: int | None,
    depth: int,
    event: dict[str, Any] | None = None,
) -> None:
    import json

    schema = current_schema()
    payload = json.loads(json.dumps(changes, default=str))
    event_data = json.loads(json.dumps(event, default=str)) if event is not None else None

    args: list[Any] = [workflow_id, record_id, trigger, payload, actor_id, depth]
    if event_data is not None:
        args.append(event_data)

    def queue() -> None:
        from crm_apps.automation import fair

        if current_schema() != schema:
            return
        fair.enqueue([{"args": args}])

    transaction.on_commit(queue)


# Record events other apps announce through the engine (one line at the point of the event), turned into
# the event triggers: webforms' accepted submission, the portal's customer actions.
WEBFORM_SUBMITTED = "webform_submitted"
PORTAL_TICKET_OPENED = "portal_ticket_opened"
PORTAL_TICKET_ANSWERED = "portal_ticket_answered"


def _matches(trigger: dict[str, Any], data: dict[str, Any]) -> bool:
    kind = trigger.get("type")
    if kind == "webform_submitted":
        return "form" not in trigger or _same(trigger["form"], data.get("form"))
    if kind == "portal_event":
        return trigger.get("event") == data.get("event")
    if kind == "webhook_reply":
        if "workflow" in trigger and not _same(trigger["workflow"], data.get("workflow")):
            return False
        wanted = trigger.get("status", "any")
        return wanted == "any" or wanted == ("succeeded" if data.get("status") == "succeeded" else "failed")
    from crm_apps.automation import extension

    found = extension.trigger_type(str(kind))
    return found is None or found.matches is None or found.matches(trigger, data)


def event_fire(
    *,
    trigger: str,
    module: str,
    record_ids: list[str],
    data: dict[str, Any],
    actor: Member | None = None,
    depth: int | None = None,
) -> int:
    """Queue (after commit) the evaluation of every enabled workflow of `module` whose trigger is `trigger`
    and matches `data`, for each record; the run sees `data` as `steps.trigger.<key>`."""
    if in_public_schema():
        return 0
    from crm_apps.automation.runner import current_depth

    depth = current_depth() if depth is None else depth
    matching = [pk for pk, t in workflows_for(module) if t.get("type") == trigger and _matches(t, data)]
    for workflow_id in matching:
        for record_id in record_ids:
            _queue(workflow_id, module, record_id, trigger, {}, actor.pk if actor else None, depth, data)
    return len(matching)


def _event_data(module: str, event: str, record_id: str) -> tuple[str, dict[str, Any]] | None:
    """The trigger and its data for an app's announced event (read in the event's own transaction)."""
    if event == WEBFORM_SUBMITTED:
        from crm_apps.webforms.models import Submission

        row = (
            Submission.objects.filter(module=module, record_id=record_id)
            .order_by("-pk")
            .values("pk", "form_id", "form__name", "linked", "utm_source")
            .first()
        )
        if row is None:
            return None
        return "webform_submitted", {
            "form": row["form_id"],
            "form_name": row["form__name"],
            "submission": row["pk"],
            "linked": row["linked"],
            "utm_source": row["utm_source"],
        }
    if event in (PORTAL_TICKET_OPENED, PORTAL_TICKET_ANSWERED):
        data: dict[str, Any] = {"event": event.removeprefix("portal_")}
        if event == PORTAL_TICKET_ANSWERED:
            from crm_apps.modules.tickets.models import TicketReply

            reply = (
                TicketReply.objects.filter(ticket_id=record_id, kind=TicketReply.Kind.CUSTOMER)
                .order_by("-pk")
                .values("body", "from_address")
                .first()
            )
            if reply is not None:
                data.update(body=reply["body"][:2000], from_address=reply["from_address"])
        return "portal_event", data
    return None


def message_stored(message: Any) -> None:
    """The mail app kept a new message: an inbound one fires `email_received` for each record it is linked
    to (inside the storing transaction; the evaluation is queued after commit)."""
    if in_public_schema() or message.direction != "in":
        return
    data = {
        "message": message.pk,
        "subject": message.subject[:500],
        "from_address": message.from_address,
        "from_name": message.from_name,
        "body": (message.body_text or "")[:2000],
    }
    by_module: dict[str, list[str]] = {}
    for module, record_id in message.links.values_list("module", "record_id"):
        by_module.setdefault(module, []).append(str(record_id))
    for module, ids in by_module.items():
        if any(t.get("type") == "email_received" for _pk, t in workflows_for(module)):
            event_fire(trigger="email_received", module=module, record_ids=ids, data=data)


def record_event(module: str, event: str, record_ids: list[str]) -> None:
    """Tenant webhooks: after commit, fan out if an active webhook of this tenant wants the event. An
    app's announced event (a web form submission, a portal action) fires its event trigger."""
    if in_public_schema():
        return
    if event in (WEBFORM_SUBMITTED, PORTAL_TICKET_OPENED, PORTAL_TICKET_ANSWERED):
        for record_id in record_ids:
            found = _event_data(module, event, record_id)
            if found is not None:
                event_fire(trigger=found[0], module=module, record_ids=[record_id], data=found[1])
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
    from crm_apps.mail import store

    store.stored_listener_add(message_stored)
