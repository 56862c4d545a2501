"""Time: due rows of date triggers, waiting runs, and schedules - all advanced by one tick per tenant.

A tick handles at most BATCH items of each kind for its tenant and leaves the rest for the next tick,
so a tenant with 100,000 due records takes many short turns while every other tenant's tick still runs
each minute (fairness). A schedule's firing is claimed by inserting its (workflow, tick) row: two
schedulers running the same tick cannot both fire it.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from crm_apps.automation import expressions, schedules
from crm_apps.automation.models import DueRow, RunStatus, ScheduleTick, Workflow, WorkflowRun
from crm_apps.engine import registry

BATCH = 200


def _zone(workflow: Workflow, trigger: dict[str, Any]) -> dt.tzinfo:
    name = trigger.get("timezone") or (workflow.owner.timezone if workflow.owner_id and workflow.owner else "UTC")
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def due_moment(*, workflow: Workflow, trigger: dict[str, Any], value: Any) -> dt.datetime | None:
    """When a date trigger fires for a date field holding `value` (offset days, at HH:MM local time)."""
    if value is None:
        return None
    day = value.date() if isinstance(value, dt.datetime) else value
    if not isinstance(day, dt.date):
        return None
    hour, minute = (int(p) for p in trigger.get("at", "09:00").split(":"))
    day = day + dt.timedelta(days=int(trigger.get("offset_days", 0)))
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=_zone(workflow, trigger))


def due_row_plan(*, workflow_id: int, trigger: dict[str, Any], record: Any) -> None:
    """(Re)plan a record's due row after its date field was set or moved; none when it was cleared."""
    workflow = Workflow.objects.select_related("owner").get(pk=workflow_id)
    name = trigger.get("field", "")
    value = getattr(record, name, None) if hasattr(record, name) else (record.custom_data or {}).get(name)
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value[:10])
        except ValueError:
            value = None
    moment = due_moment(workflow=workflow, trigger=trigger, value=value)
    if moment is None:
        DueRow.objects.filter(workflow_id=workflow_id, record_id=str(record.pk)).delete()
        return
    DueRow.objects.update_or_create(
        workflow_id=workflow_id, record_id=str(record.pk), defaults={"due_at": moment, "fired_at": None}
    )


PLAN_CHUNK = 5000


def due_rows_replan(workflow: Workflow) -> None:
    """After a workflow was created, published (new version), enabled or disabled (inside that write's
    transaction): drop its pending due rows, and for an enabled date trigger queue (after commit) the
    set-based planning of every live record's row, PLAN_CHUNK records per task (`due_rows_plan_chunk`)."""
    DueRow.objects.filter(workflow_id=workflow.pk, fired_at__isnull=True).delete()
    version = workflow.current
    if not workflow.enabled or version is None or version.definition.get("trigger", {}).get("type") != "date":
        return
    workflow_id, version_id = workflow.pk, version.pk

    def queue() -> None:
        from crm_apps.automation.tasks import workflow_due_plan_task

        workflow_due_plan_task.delay(workflow_id, version_id, "")

    transaction.on_commit(queue)


def _day_sql(spec: Any, name: str) -> tuple[str, list[Any]] | None:
    """SQL for the date a record's trigger field holds (NULL when empty or not a date), over alias `t`."""
    from django.db import connection
    from django.db import models as dj_models

    try:
        field = spec.model._meta.get_field(name)
    except Exception:
        field = None
    if field is None:  # a custom field: an ISO date string in custom_data
        text = "(t.custom_data ->> %s)"
        return (
            f"CASE WHEN {text} ~ '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}' THEN substr({text}, 1, 10)::date END",
            [name, name, name],
        )
    column = "t." + connection.ops.quote_name(field.column)
    if isinstance(field, dj_models.DateTimeField):
        return f"({column} AT TIME ZONE 'UTC')::date", []
    if isinstance(field, dj_models.DateField):
        return column, []
    return None


def due_rows_plan_chunk(*, workflow_id: int, version_id: int, after: str) -> tuple[int, str | None]:
    """Plan the due rows of the next PLAN_CHUNK live records (by id after `after`) in one INSERT ... SELECT:
    rows whose moment is still to come; a row already there is moved (and re-armed) only when its moment
    changed, so re-enabling does not fire a record twice. (rows written, next cursor or None when done)."""
    from django.db import connection

    workflow = Workflow.objects.select_related("owner", "current").filter(pk=workflow_id, enabled=True).first()
    if workflow is None or workflow.current_id != version_id:
        return 0, None  # disabled or re-published meanwhile: the newer plan (if any) does the work
    trigger = workflow.current.definition["trigger"] if workflow.current else {}
    try:
        spec = registry.get(workflow.module)
    except registry.UnknownModule:
        return 0, None
    day = _day_sql(spec, trigger.get("field", ""))
    if day is None:
        return 0, None
    day_sql, day_params = day
    ids = spec.records().filter(deleted_at__isnull=True).order_by("pk").values("pk")
    if after:
        ids = ids.filter(pk__gt=after)
    ids_sql, ids_params = ids[:PLAN_CHUNK].query.sql_with_params()
    zone = _zone(workflow, trigger)
    zone_name = getattr(zone, "key", "UTC")
    at = trigger.get("at", "09:00")
    offset = int(trigger.get("offset_days", 0))
    table = connection.ops.quote_name(spec.model._meta.db_table)
    due_table = connection.ops.quote_name(DueRow._meta.db_table)
    moment = "((c.day + %s) + %s::time) AT TIME ZONE %s"
    # Only quoted identifiers and the fixed day expression are formatted in; every value is a parameter.
    sql = f"""
        WITH c AS (SELECT t.id, {day_sql} AS day FROM {table} t WHERE t.id IN ({ids_sql})),
        ins AS (
            INSERT INTO {due_table} (workflow_id, record_id, due_at, fired_at)
            SELECT %s, c.id::text, {moment}, NULL FROM c
            WHERE c.day IS NOT NULL AND {moment} > %s
            ON CONFLICT (workflow_id, record_id) DO UPDATE SET due_at = EXCLUDED.due_at, fired_at = NULL
            WHERE {due_table}.due_at <> EXCLUDED.due_at
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM c),
            (SELECT c.id::text FROM c ORDER BY c.id DESC LIMIT 1)
    """  # noqa: S608
    params = [
        *day_params,
        *ids_params,
        workflow_id,
        offset,
        at,
        zone_name,
        offset,
        at,
        zone_name,
        timezone.now(),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        written, seen, last = cursor.fetchone()
    return written, (last if seen == PLAN_CHUNK else None)


def schedule_zone(trigger: dict[str, Any]) -> dt.tzinfo:
    """A schedule's clock: its own "timezone" when it names one, else the workspace's."""
    from tenants.selectors import workspace_zone

    if trigger.get("timezone"):
        try:
            return zoneinfo.ZoneInfo(trigger["timezone"])
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
    return workspace_zone()


def _schedule_tick(workflow: Workflow, trigger: dict[str, Any], now: dt.datetime) -> dt.datetime | None:
    """The latest tick of a schedule at or before `now`; none when that tick came before the published
    version did (a new or edited schedule does not fire at once for a moment already past)."""
    tick = schedules.latest_tick(trigger=trigger, zone=schedule_zone(trigger), now=now)
    if tick is None or (
        workflow.current is not None and tick < workflow.current.created_at.replace(second=0, microsecond=0)
    ):
        return None
    return tick


def schedules_fire(now: dt.datetime | None = None) -> list[int]:
    """Claim and fire every schedule tick that is due; the workflow ids fired by this call."""
    now = now or timezone.now()
    fired: list[int] = []
    for workflow in Workflow.objects.select_related("owner", "current").filter(enabled=True, trigger_type="schedule"):
        trigger = workflow.current.definition["trigger"] if workflow.current else {}
        tick = _schedule_tick(workflow, trigger, now)
        if tick is None:
            continue
        try:
            with transaction.atomic():
                ScheduleTick.objects.create(workflow=workflow, tick=tick)
        except IntegrityError:
            continue  # another scheduler fired this tick
        fired.append(workflow.pk)
        transaction.on_commit(_queue_chunk(workflow.pk, tick.isoformat()))
    return fired


def _queue_chunk(workflow_id: int, tick: str) -> Any:
    from crm_apps.automation.tasks import workflow_schedule_chunk_task

    return lambda: workflow_schedule_chunk_task.delay(workflow_id, tick, "")


def schedule_chunk(*, workflow_id: int, tick: str, after: str) -> tuple[int, str | None]:
    """Run a schedule over the next BATCH matching records (by id after `after`): (runs, next cursor)."""
    from crm_apps.automation.runner import RecordResolver, run_start, runner_for

    workflow = Workflow.objects.select_related("owner", "current").filter(pk=workflow_id, enabled=True).first()
    if workflow is None or workflow.current is None:
        return 0, None
    spec = registry.get(workflow.module)
    runner = runner_for(workflow, None)
    if runner is None:
        return 0, None
    from crm_apps.access import visibility

    queryset = visibility.visible_records(
        actor=runner, spec=spec, queryset=spec.records().filter(deleted_at__isnull=True)
    ).order_by("pk")
    if after:
        queryset = queryset.filter(pk__gt=after)
    records = list(queryset[:BATCH])
    trigger = workflow.current.definition["trigger"]
    count = 0
    for record in records:
        if trigger.get("filter"):
            resolver = RecordResolver(spec=spec, record=record, runner=runner, actor=None, outputs={})
            try:
                if not expressions.truthy(
                    expressions.evaluate_source(trigger["filter"], expressions.Context(resolve=resolver))
                ):
                    continue
            except expressions.ExpressionError:
                continue
        run_start(workflow=workflow, record_id=str(record.pk), trigger="schedule", actor=None)
        count += 1
    ScheduleTick.objects.filter(workflow=workflow, tick=tick).update(records=F("records") + count)
    return count, (str(records[-1].pk) if len(records) == BATCH else None)


def due_rows_fire(now: dt.datetime | None = None) -> int:
    """Start the runs of up to BATCH due rows (each claimed once by marking it fired)."""
    from crm_apps.automation.runner import run_start

    now = now or timezone.now()
    count = 0
    ids = list(
        DueRow.objects.filter(fired_at__isnull=True, due_at__lte=now, workflow__enabled=True)
        .order_by("due_at")
        .values_list("pk", flat=True)[:BATCH]
    )
    for pk in ids:
        claimed = DueRow.objects.filter(pk=pk, fired_at__isnull=True).update(fired_at=now)
        if not claimed:
            continue
        row = DueRow.objects.select_related("workflow", "workflow__current", "workflow__owner").get(pk=pk)
        run_start(workflow=row.workflow, record_id=row.record_id, trigger="date", actor=None)
        count += 1
    return count


def waiting_runs_resume(now: dt.datetime | None = None) -> int:
    """Continue up to BATCH waiting runs whose time has come, each on the version it started on."""
    from crm_apps.automation.runner import run_continue

    now = now or timezone.now()
    count = 0
    ids = list(
        WorkflowRun.objects.filter(status=RunStatus.WAITING, resume_at__lte=now)
        .order_by("resume_at")
        .values_list("pk", flat=True)[:BATCH]
    )
    for pk in ids:
        claimed = WorkflowRun.objects.filter(pk=pk, status=RunStatus.WAITING).update(status=RunStatus.RUNNING)
        if not claimed:
            continue
        run = WorkflowRun.objects.select_related("workflow", "version", "actor").get(pk=pk)
        run_continue(run)
        count += 1
    return count


def tick(now: dt.datetime | None = None) -> dict[str, int]:
    """One tenant's turn: schedules, due rows and waiting runs (each at most BATCH); and a drain of the
    event evaluations re-queued if one died with entries left (fair.kick_if_pending)."""
    from crm_apps.automation import fair
    from crm_apps.automation.approvals import escalations_due

    return {
        "drain_kicked": int(fair.kick_if_pending()),
        "escalations": escalations_due(now),
        "schedules": len(schedules_fire(now)),
        "due": due_rows_fire(now),
        "resumed": waiting_runs_resume(now),
    }
