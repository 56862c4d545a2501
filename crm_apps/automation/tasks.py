"""Celery entry points of automation; each runs inside the tenant schema it was queued from.

Fairness: a trigger appends its evaluations to the tenant's fair queue (`fair`), drained by at most one
`workflow_drain_task` per tenant at a time, BATCH entries per turn; scheduled workflows run in chunks of
scheduling.BATCH records, each chunk re-queued behind whatever other tenants queued meanwhile; the
minute's tick fans out one task per tenant, each doing at most BATCH items of each kind.
"""

from __future__ import annotations

from typing import Any

from saas.celery import app
from tenants.models import Tenant
from tenants.tasks import TenantOnlyTask


@app.task(base=TenantOnlyTask, name="automation.workflow_evaluate_task")
def workflow_evaluate_task(
    workflow_id: int,
    record_id: str,
    trigger: str,
    changes: dict[str, Any],
    actor_id: int | None,
    depth: int,
    event: dict[str, Any] | None = None,
) -> str:
    """Evaluate one triggered workflow for one record (first-match state kept per record); `event`: the
    data of an event trigger (an email, a web form submission...), seen by the run as `steps.trigger`."""
    from crm_apps.access.models import Member
    from crm_apps.automation.models import Workflow

    workflow = Workflow.objects.select_related("current", "owner").filter(pk=workflow_id, enabled=True).first()
    if workflow is None or workflow.current is None:
        return "disabled"
    actor = Member.objects.select_related("user", "role").filter(pk=actor_id).first() if actor_id else None
    if event is not None:
        from crm_apps.automation.runner import run_start

        return run_start(
            workflow=workflow, record_id=record_id, trigger=trigger, actor=actor, depth=depth, event=event
        ).status
    return _evaluate(workflow, record_id, trigger, changes, actor, depth)


def _evaluate(workflow: Any, record_id: str, trigger: str, changes: dict[str, Any], actor: Any, depth: int) -> str:
    from crm_apps.automation import expressions
    from crm_apps.automation.models import RecordState, RunStatus
    from crm_apps.automation.runner import RecordResolver, conditions_met, run_start, runner_for
    from crm_apps.engine import registry, selectors

    definition = workflow.current.definition
    if definition["trigger"]["type"] != "first_match":
        return run_start(
            workflow=workflow, record_id=record_id, trigger=trigger, actor=actor, changes=changes, depth=depth
        ).status
    spec = registry.get(workflow.module)
    record = spec.records().filter(pk=record_id, deleted_at__isnull=True).first()
    runner = runner_for(workflow, record)
    if record is None or runner is None:
        return "gone"
    record = selectors.access_record(spec=spec, actor=runner, record_id=record_id)
    if record is None:
        return "gone"
    resolver = RecordResolver(spec=spec, record=record, runner=runner, actor=actor, outputs={})
    try:
        met = conditions_met(definition.get("conditions"), resolver, changes)
    except expressions.ExpressionError:
        met = False
    state, _created = RecordState.objects.get_or_create(workflow=workflow, record_id=record_id)
    was = state.matched
    if was != met:
        RecordState.objects.filter(pk=state.pk).update(matched=met)
    if not met or was:
        return RunStatus.SKIPPED
    return run_start(
        workflow=workflow,
        record_id=record_id,
        trigger=trigger,
        actor=actor,
        changes=changes,
        depth=depth,
        check_conditions=False,
    ).status


@app.task(base=TenantOnlyTask, name="automation.workflow_schedule_chunk_task")
def workflow_schedule_chunk_task(workflow_id: int, tick: str, after: str) -> int:
    """One chunk of a schedule's records; the next chunk goes to the back of the queue."""
    from crm_apps.automation.scheduling import schedule_chunk

    count, cursor = schedule_chunk(workflow_id=workflow_id, tick=tick, after=after)
    if cursor is not None:
        workflow_schedule_chunk_task.delay(workflow_id, tick, cursor)
    return count


@app.task(base=TenantOnlyTask, name="automation.workflow_drain_task")
def workflow_drain_task() -> int:
    """One turn of the tenant's event evaluations (at most fair.BATCH); re-queued while more wait."""
    from crm_apps.automation import fair

    return fair.drain()


@app.task(base=TenantOnlyTask, name="automation.workflow_due_plan_task")
def workflow_due_plan_task(workflow_id: int, version_id: int, after: str) -> int:
    """Plan a date trigger's due rows for the next chunk of existing records; the next chunk goes to the
    back of the queue (a 1,000,000-record module is 200 short tasks, not one long transaction)."""
    from crm_apps.automation.scheduling import due_rows_plan_chunk

    count, cursor = due_rows_plan_chunk(workflow_id=workflow_id, version_id=version_id, after=after)
    if cursor is not None:
        workflow_due_plan_task.delay(workflow_id, version_id, cursor)
    return count


@app.task(base=TenantOnlyTask, name="automation.tick_task")
def tick_task() -> dict[str, int]:
    from crm_apps.automation.scheduling import tick

    return tick()


@app.task(name="automation.tick_all_task")
def tick_all_task() -> int:
    """Beat (every minute): one tick per tenant, each in its own schema."""
    count = 0
    for schema_name in Tenant.objects.values_list("schema_name", flat=True):
        tick_task.apply_async(args=(), headers={"_schema_name": schema_name})
        count += 1
    return count


@app.task(base=TenantOnlyTask, name="automation.webhooks_fanout_task")
def webhooks_fanout_task(event: str, record_ids: list[str], occurred_at: str) -> int:
    from crm_apps.automation.delivery import deliveries_create

    ids = deliveries_create(event=event, record_ids=record_ids, occurred_at=occurred_at)
    for delivery_id in ids:
        delivery_send_task.delay(delivery_id)
    return len(ids)


@app.task(base=TenantOnlyTask, name="automation.delivery_send_task")
def delivery_send_task(delivery_id: int) -> str:
    """Send one delivery; on failure queue the next attempt with exponential backoff."""
    from crm_apps.automation.delivery import RETRY_BASE_SECONDS, delivery_attempt, reply_settled

    status, retry = delivery_attempt(delivery_id=delivery_id)
    if retry is not None:
        delivery_send_task.apply_async(args=(delivery_id,), countdown=RETRY_BASE_SECONDS * 2**retry)
    elif status in ("succeeded", "failed", "refused"):
        reply_settled(delivery_id=delivery_id)
    return status
