"""Running a workflow version against one record: conditions, then actions step by step, each through the
engine's services as the workflow's owner (or, for a system workflow, the record's owner), logged in
RunStep rows. A wait stores the run with `resume_at` and a cursor; the tick continues it on the same
version. Writes a run makes carry its depth: a change it causes triggers other workflows one level
deeper, and past MAX_DEPTH the trigger is refused with a 'loop' run in the log instead.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import time
from decimal import Decimal
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_apps.access import visibility
from crm_apps.access.models import Group, Member
from crm_apps.audit import services as audit
from crm_apps.automation import action_types, expressions, notify
from crm_apps.automation.models import (
    Delivery,
    RunStatus,
    RunStep,
    Workflow,
    WorkflowRun,
    WorkflowVersion,
    shipped_text,
)
from crm_apps.engine import registry, selectors, services
from crm_apps.engine.models import CrmRecord
from crm_apps.engine.spec import ModuleSpec
from tenants.runtime import current_schema

_WRITES = ("update_fields", "create_record", "add_comment", "assign", "add_to_campaign", "webhook", "send_email")
MAX_DEPTH = 3
MAX_STEP_ATTEMPTS = 3
REPLY_TIMEOUT_HOURS = 24  # a webhook action that waits for its reply continues without it after this
RETRY_BASE_SECONDS = 30
_depth: contextvars.ContextVar[int] = contextvars.ContextVar("automation_depth", default=0)


class StepFailed(Exception):
    """A step that cannot succeed as defined (validation, permission, missing target): not retried."""


def current_depth() -> int:
    return _depth.get()


# ---------------------------------------------------------------------------------------------- values


def _plain(value: Any) -> Any:
    """An expression's value as the services take it (and as JSON stores it)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _member_fields(member: Member | None, name: str) -> Any:
    if member is None:
        return None
    return {
        "id": member.pk,
        "name": member.user.name,
        "email": member.user.email,
        "role": member.role.name if member.role is not None else None,
        "is_admin": member.is_admin,
    }.get(name, KeyError)


class RecordResolver:
    """Field paths of one record as `runner` may see them: its own fields and custom fields, the fields
    of a referenced record that is visible to the runner, the owner's and the acting member's public
    attributes, and `steps.<id>.<key>` outputs. Anything else is 'unknown field'."""

    def __init__(
        self, *, spec: ModuleSpec, record: CrmRecord, runner: Member, actor: Member | None, outputs: dict[str, Any]
    ) -> None:
        self.spec, self.record, self.runner, self.actor, self.outputs = spec, record, runner, actor, outputs
        self.hidden = visibility.hidden_fields(actor=runner, spec=spec)

    def _field(self, spec: ModuleSpec, record: Any, name: str) -> Any:
        if name in ("id", "pk"):
            return str(record.pk)
        try:
            field = spec.model._meta.get_field(name)
        except Exception:
            custom = record.custom_data or {}
            if name in custom:
                return custom[name]
            from crm_apps.engine import metadata

            if any(f.key == name for f in metadata.custom_fields(spec.key)):
                return None
            raise KeyError(name) from None
        if not getattr(field, "concrete", False) or name in ("search_vector", "custom_data"):
            raise KeyError(name)
        if isinstance(field, models.ForeignKey):
            target = getattr(record, name)
            return None if target is None else str(target)
        return getattr(record, field.attname)  # type: ignore[union-attr]

    def __call__(self, path: tuple[str, ...]) -> Any:
        head = path[0]
        if head == "steps" and len(path) in (3, 4):  # steps.<id>.<key>, or .<key>.<key> into a JSON answer
            value: Any = self.outputs.get(path[1])
            for part in path[2:]:
                if not isinstance(value, dict) or part not in value:
                    raise KeyError(".".join(path))
                value = value[part]
            return value
        if head == "actor" and len(path) == 2:
            value = _member_fields(self.actor, path[1])
            if value is KeyError:
                raise KeyError(".".join(path))
            return value
        if head in self.hidden:
            raise KeyError(head)
        if len(path) == 1:
            return self._field(self.spec, self.record, head)
        if len(path) != 2:
            raise KeyError(".".join(path))
        if head == "owner":
            value = _member_fields(getattr(self.record, "owner", None), path[1])
            if value is KeyError:
                raise KeyError(".".join(path))
            return value
        try:
            field = self.spec.model._meta.get_field(head)
        except Exception:
            raise KeyError(head) from None
        if not isinstance(field, models.ForeignKey):
            raise KeyError(".".join(path))
        target_id = getattr(self.record, field.attname)
        if target_id is None:
            return None
        target_spec = next((s for s in registry.all_specs() if s.model is field.related_model), None)
        if target_spec is None:  # a stage, a pipeline, a currency: its name only
            if path[1] != "name":
                raise KeyError(".".join(path))
            return str(getattr(self.record, head))
        target = selectors.access_record(spec=target_spec, actor=self.runner, record_id=target_id)
        if target is None:  # not visible to the workflow: as if empty
            return None
        if path[1] in visibility.hidden_fields(actor=self.runner, spec=target_spec):
            raise KeyError(".".join(path))
        return self._field(target_spec, target, path[1])


def _context(resolver: RecordResolver, changes: dict[str, list[Any]]) -> expressions.Context:
    zone = resolver.runner.zone if hasattr(resolver.runner, "zone") else dt.UTC
    now = timezone.now()
    return expressions.Context(resolve=resolver, changes=changes, now=now, today=now.astimezone(zone).date())


def evaluate(source: str, resolver: RecordResolver, changes: dict[str, list[Any]]) -> Any:
    return expressions.evaluate_source(source, _context(resolver, changes))


def conditions_met(group: Any, resolver: RecordResolver, changes: dict[str, list[Any]]) -> bool:
    if not group or not group.get("rules"):
        return True
    results = (
        (
            conditions_met(rule, resolver, changes)
            if "rules" in rule
            else expressions.truthy(evaluate(rule["expr"], resolver, changes))
        )
        for rule in group["rules"]
    )
    return any(results) if group.get("match") == "any" else all(results)


def _value(value: Any, resolver: RecordResolver, changes: dict[str, list[Any]]) -> Any:
    if isinstance(value, dict) and "expr" in value:
        return _plain(evaluate(value["expr"], resolver, changes))
    return value


# ---------------------------------------------------------------------------------------------- runner


def runner_for(workflow: Workflow, record: CrmRecord | None) -> Member | None:
    """Whose rights a run uses: the workflow's owner, or for a system workflow the record's owner."""
    if workflow.owner_id is not None:
        owner = workflow.owner
        return owner if owner is not None and owner.active else None
    owner = getattr(record, "owner", None) if record is not None else None
    return owner if owner is not None and owner.active else None


def _load_record(spec: ModuleSpec, runner: Member, record_id: str) -> CrmRecord | None:
    return selectors.access_record(spec=spec, actor=runner, record_id=record_id)


def run_start(
    *,
    workflow: Workflow,
    record_id: str,
    trigger: str,
    actor: Member | None,
    changes: dict[str, list[Any]] | None = None,
    depth: int = 0,
    version: WorkflowVersion | None = None,
    check_conditions: bool = True,
    event: dict[str, Any] | None = None,
) -> WorkflowRun:
    """Run the workflow's current version (or `version`) for one record; the logged run. A run nobody
    started (a schedule, a date, an email...) is logged with the member it runs as as its actor: the
    workflow's owner, or for a system workflow the record's owner; `event` is an event trigger's data."""
    version = version or workflow.current
    assert version is not None
    spec = registry.get(workflow.module)
    if actor is None:
        actor = runner_for(workflow, spec.records().filter(pk=record_id).first() if workflow.owner_id is None else None)
    run = WorkflowRun.objects.create(
        workflow=workflow,
        version=version,
        module=spec.key,
        record_id=str(record_id),
        trigger=trigger,
        actor=actor,
        depth=depth,
        changes=_jsonable(changes or {}),
        outputs={"trigger": _jsonable(event)} if event is not None else {},
    )
    if depth > MAX_DEPTH:
        return _finish(
            run,
            RunStatus.LOOP,
            _("Stopped: this change was made by automation %(n)d levels deep (limit %(limit)d).")
            % {"n": depth, "limit": MAX_DEPTH},
        )
    return run_continue(run, check_conditions=check_conditions)


def _jsonable(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value, default=str))


def _finish(run: WorkflowRun, status: str, error: str = "") -> WorkflowRun:
    run.status = status
    run.error = error
    run.finished_at = timezone.now()
    run.resume_at = None
    run.save(update_fields=["status", "error", "finished_at", "resume_at", "cursor", "outputs"])
    return run


def run_continue(run: WorkflowRun, *, check_conditions: bool = False, preview: bool = False) -> WorkflowRun:
    """Evaluate (on a new run) and execute from the run's cursor until the end, a wait, or a failure."""
    workflow = run.workflow
    spec = registry.get(run.module)
    definition = run.version.definition
    record = spec.records().select_related().filter(pk=run.record_id, deleted_at__isnull=True).first()
    runner = runner_for(workflow, record)
    if runner is None:
        return _finish(run, RunStatus.FAILED, _("Nobody to run as: the workflow's owner is inactive."))
    record = _load_record(spec, runner, run.record_id) if record is not None else None
    if record is None:
        return _finish(run, RunStatus.FAILED, _("The record is gone or not visible to the workflow's owner."))
    resolver = RecordResolver(spec=spec, record=record, runner=runner, actor=run.actor, outputs=run.outputs)
    if check_conditions:
        try:
            met = conditions_met(definition.get("conditions"), resolver, run.changes)
        except expressions.ExpressionError as exc:
            return _finish(run, RunStatus.FAILED, _("Conditions: %(error)s") % {"error": exc})
        if not met:
            return _finish(run, RunStatus.SKIPPED)
    run.status = RunStatus.RUNNING
    depth_token = _depth.set(run.depth + 1)
    try:
        return _execute(run, spec, runner, resolver, definition.get("actions", []), preview=preview)
    finally:
        _depth.reset(depth_token)


def _at(actions: list[Any], cursor: list[Any]) -> tuple[list[Any], int]:
    """The action list and index a cursor points at (cursor: [i, "then", j, ...])."""
    current = actions
    for position in range(0, len(cursor) - 1, 2):
        current = current[cursor[position]][cursor[position + 1]]
    return current, cursor[-1] if cursor else 0


def _advance(actions: list[Any], cursor: list[Any]) -> list[Any] | None:
    """The cursor of the action after the one at `cursor` (leaving finished branches); None at the end."""
    current, index = _at(actions, cursor)
    if index + 1 < len(current):
        return [*cursor[:-1], index + 1]
    if len(cursor) == 1:
        return None
    return _advance(actions, cursor[:-2])


def _execute(
    run: WorkflowRun, spec: ModuleSpec, runner: Member, resolver: RecordResolver, actions: list[Any], *, preview: bool
) -> WorkflowRun:
    cursor: list[Any] | None = list(run.cursor) or ([0] if actions else None)
    position = run.steps.count()
    while cursor is not None:
        current, index = _at(actions, cursor)
        if index >= len(current):  # a definition shorter than the cursor: nothing left to do
            break
        action = current[index]
        started = time.monotonic()
        step = RunStep(run=run, position=position, step_id=action.get("id", ""), action=action["type"])
        position += 1
        previous = run.steps.filter(step_id=step.step_id, status="failed").order_by("-position").first()
        step.attempts = (previous.attempts + 1) if previous else 1
        next_cursor = _advance(actions, cursor)
        try:
            with transaction.atomic():
                outcome = _do(action, run, spec, runner, resolver, step, preview=preview)
        except (ValidationError, PermissionDenied, ObjectDoesNotExist, StepFailed, expressions.ExpressionError) as exc:
            step.status = "failed"
            step.error = _error_text(exc)
            step.duration_ms = int((time.monotonic() - started) * 1000)
            step.save()
            run.cursor = cursor
            return _finish(run, RunStatus.FAILED, step.error)
        except Exception as exc:  # a transient failure (network, database): retried with backoff
            step.status = "failed"
            step.error = f"{type(exc).__name__}: {exc}"[:1000]
            step.duration_ms = int((time.monotonic() - started) * 1000)
            step.save()
            run.cursor = cursor
            if step.attempts >= MAX_STEP_ATTEMPTS or preview:
                return _finish(run, RunStatus.FAILED, step.error)
            run.status = RunStatus.WAITING
            run.resume_at = timezone.now() + dt.timedelta(seconds=RETRY_BASE_SECONDS * 2**step.attempts)
            run.save(update_fields=["status", "resume_at", "cursor"])
            return run
        step.duration_ms = int((time.monotonic() - started) * 1000)
        kind = outcome.pop("_kind", None)
        step.output = _jsonable(outcome)
        if action.get("id"):
            run.outputs[action["id"]] = step.output
        if kind == "branch":
            step.status = "preview" if preview else "succeeded"
            step.save()
            chosen = "then" if outcome["taken"] == "then" else "else"
            cursor = [*cursor, chosen, 0] if action.get(chosen) else next_cursor
            continue
        if kind in ("wait", "await") and not preview:
            step.status = "waiting"
            step.save()
            if kind == "await":
                _audit(run, spec, runner, resolver, step, action)
            run.cursor = next_cursor or []
            run.status = RunStatus.WAITING
            run.resume_at = dt.datetime.fromisoformat(outcome["until"])
            if next_cursor is None:
                run = _finish(run, RunStatus.SUCCEEDED)
            else:
                run.save(update_fields=["status", "resume_at", "cursor", "outputs"])
            if kind == "await":  # only now: the answer may arrive at once and must find the run waiting
                _send_after_commit(outcome["delivery"])
            return run
        step.status = "preview" if preview else "succeeded"
        step.save()
        if not preview and (_writes(action["type"]) or "." in action["type"]):  # ".": an app's action
            _audit(run, spec, runner, resolver, step, action)
        cursor = next_cursor
    run.cursor = []
    return _finish(run, RunStatus.PREVIEW if preview else RunStatus.SUCCEEDED)


def _send_after_commit(delivery_id: int) -> None:
    from crm_apps.automation.tasks import delivery_send_task

    transaction.on_commit(lambda: delivery_send_task.delay(delivery_id))


def _writes(kind: str) -> bool:
    if kind in _WRITES:
        return True
    from crm_apps.automation import extension

    found = extension.action_type(kind)
    return found is not None and found.writes


def _audit(
    run: WorkflowRun, spec: ModuleSpec, runner: Member, resolver: RecordResolver, step: RunStep, action: dict[str, Any]
) -> None:
    audit.audit_log(
        action=audit.RECORD_UPDATED,
        actor=runner,
        module=spec.key,
        record_id=run.record_id,
        record_label=str(resolver.record),
        actor_label=_("Workflow “%(name)s”") % {"name": run.workflow.name},
        details={"workflow": run.workflow_id, "run": run.pk, "step": step.step_id, "action": action["type"]},
    )


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())[:1000]
        return " ".join(exc.messages)[:1000]
    if isinstance(exc, PermissionDenied):
        return _("Not allowed for the member the workflow runs as.")
    if isinstance(exc, ObjectDoesNotExist):
        return _("Not found or not visible to the member the workflow runs as.")
    return str(exc)[:1000]


# --------------------------------------------------------------------------------------------- actions


def _do(  # noqa: C901 - one branch per action type
    action: dict[str, Any],
    run: WorkflowRun,
    spec: ModuleSpec,
    runner: Member,
    resolver: RecordResolver,
    step: RunStep,
    *,
    preview: bool,
) -> dict[str, Any]:
    changes = run.changes
    kind = action["type"]
    record = resolver.record
    if kind == "update_fields":
        values = {name: _value(v, resolver, changes) for name, v in action["values"].items()}
        step.inputs = _jsonable(values)
        core, custom = _split(spec, values)
        updated = services.record_update(spec=spec, actor=runner, record=record, data=core, custom=custom or None)
        resolver.record = updated
        return {"id": str(updated.pk), "version": updated.version}
    if kind == "create_record":
        target = registry.get(action.get("module", spec.key))
        values = {name: _value(v, resolver, changes) for name, v in action["values"].items()}
        step.inputs = _jsonable({"module": target.key, **values})
        core, custom = _split(target, values)
        if target.key == "tasks":
            from crm_apps.modules.calendar.services import task_create

            created = task_create(
                actor=runner, data=core, custom=custom or None, related_to={"module": spec.key, "id": str(record.pk)}
            )
        else:
            created = services.record_create(spec=target, actor=runner, data=core, custom=custom or None)
        return {"id": str(created.pk), "module": target.key, "number": created.number, "name": str(created)}
    if kind == "notify":
        message = _value(action.get("message", ""), resolver, changes)
        recipients = notify.recipients(action["to"], record=record, actor=run.actor)
        step.inputs = {"to": [m.pk for m in recipients], "message": str(message or "")}
        sent = notify.send(
            recipients=recipients,
            spec=spec,
            record=record,
            actor=run.actor,
            message=str(message or ""),
            dedupe=f"wf:{run.pk}:{step.step_id}",
            system=bool(run.workflow.system_key),
        )
        return {"notified": sent}
    if kind == "send_email":
        from crm_apps.mail.services import email_send

        if action.get("to", "owner") == "owner":
            owner = getattr(record, "owner", None)
            address = owner.user.email if owner is not None else ""
        else:
            address = str(getattr(record, "email", "") or "")
        if not address:
            raise StepFailed(_("There is no address to send to."))
        step.inputs = {"template": action["template"], "to": address}
        message = email_send(
            actor=runner, to=[address], template_id=action["template"], related_to=[f"{spec.key}:{record.pk}"]
        )
        return {"message": message.pk, "subject": message.subject}
    if kind == "add_comment":
        body = str(_value(action["body"], resolver, changes) or "")
        if run.workflow.system_key:  # a shipped example's text: in the workspace's language
            from django.utils.translation import override

            from saas.value_labels import workspace_language

            with override(workspace_language()):
                body = shipped_text(body, system=True)
        step.inputs = {"body": body}
        comment = services.comment_add(spec=spec, actor=runner, record=record, body=body)
        return {"id": comment.pk}
    if kind == "assign":
        member = _assignee(action, spec)
        step.inputs = {"group": action["group"], "strategy": action.get("strategy", "round_robin")}
        updated = services.record_update(spec=spec, actor=runner, record=record, data={"owner": member.pk})
        resolver.record = updated
        return {"member": member.pk, "name": member.user.name}
    if kind == "add_to_campaign":
        from crm_apps.modules.campaigns.models import Campaign
        from crm_apps.modules.campaigns.services import campaign_member_add

        campaign = Campaign.objects.filter(pk=action["campaign"], deleted_at__isnull=True).first()
        if campaign is None:
            raise StepFailed(_("No such campaign."))
        step.inputs = {"campaign": str(campaign.pk)}
        membership = campaign_member_add(actor=runner, campaign=campaign, module=spec.key, record_id=record.pk)
        return {"membership": membership.pk}
    if kind == "webhook":
        payload = {
            "event": "workflow.webhook",
            "workflow": run.workflow_id,
            "run": run.pk,
            "module": spec.key,
            "record": _record_payload(spec, record, runner),
            "outputs": run.outputs,
        }
        step.inputs = {"url": action["url"]}
        if preview:
            return {"would_post_to": action["url"]}
        step.save()
        delivery = Delivery.objects.create(
            run_step=step,
            url=action["url"],
            secret=action.get("secret") or run.workflow.webhook_secret(),
            event="workflow.webhook",
            module=spec.key,
            record_id=str(record.pk),
            payload=_jsonable(payload),
        )
        if action.get("wait_for_reply"):  # sent once the run is saved as waiting for it (_execute)
            until = timezone.now() + dt.timedelta(hours=REPLY_TIMEOUT_HOURS)
            return {"_kind": "await", "delivery": delivery.pk, "until": until.isoformat()}
        _send_after_commit(delivery.pk)
        return {"delivery": delivery.pk}
    if kind == "wait":
        delta = dt.timedelta(days=action.get("days", 0), hours=action.get("hours", 0), minutes=action.get("minutes", 0))
        until = timezone.now() + delta
        step.inputs = {
            "days": action.get("days", 0),
            "hours": action.get("hours", 0),
            "minutes": action.get("minutes", 0),
        }
        return {"_kind": "wait", "until": until.isoformat()}
    if kind == "branch":
        taken = "then" if expressions.truthy(evaluate(action["if"], resolver, changes)) else "else"
        step.inputs = {"if": action["if"]}
        return {"_kind": "branch", "taken": taken}
    if kind == "run_workflow":
        other = Workflow.objects.filter(pk=action["workflow"], enabled=True, module=spec.key).first()
        if other is None or other.current is None:
            raise StepFailed(_("No such enabled workflow of this module."))
        step.inputs = {"workflow": other.pk}
        if preview:
            return {"would_run": other.pk}
        child = run_start(
            workflow=other, record_id=str(record.pk), trigger="workflow", actor=run.actor, depth=run.depth + 1
        )
        return {"run": child.pk, "status": child.status}
    from crm_apps.automation import extension

    registered = extension.action_type(kind)
    if registered is None:  # an installed app's action, or one whose app was removed
        return _external(action, run, spec, runner, record, step, preview=preview)
    return registered.perform(
        extension.ActionContext(
            action=action,
            record=record,
            spec=spec,
            runner=runner,
            run=run,
            step=step,
            preview=preview,
            evaluate=lambda value: _value(value, resolver, changes),
        )
    )


def _external(
    action: dict[str, Any],
    run: WorkflowRun,
    spec: ModuleSpec,
    runner: Member,
    record: Any,
    step: RunStep,
    *,
    preview: bool,
) -> dict[str, Any]:
    """An action type from `action_types` (an installed app's): the record POSTed to it, signed, with retries."""
    kind = action["type"]
    external = action_types.external_actions(spec.key).get(kind)
    if external is None:
        raise StepFailed(_("Unknown action (an app that provided it may have been removed)."))
    step.inputs = {"url": external.url}
    if preview:
        return {"would_post_to": external.url}
    step.save()
    delivery = Delivery.objects.create(
        run_step=step,
        url=external.url,
        secret=external.secret,
        event=external.event,
        module=spec.key,
        record_id=str(record.pk),
        payload=_jsonable(
            {
                "event": external.event,
                "action": kind,
                "workspace": current_schema(),
                "workflow": run.workflow_id,
                "run": run.pk,
                "module": spec.key,
                "record": _record_payload(spec, record, runner),
                "outputs": run.outputs,
            }
        ),
    )
    from crm_apps.automation.tasks import delivery_send_task

    transaction.on_commit(lambda: delivery_send_task.delay(delivery.pk))
    return {"delivery": delivery.pk}


def _split(spec: ModuleSpec, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    concrete = {f.name for f in spec.model._meta.concrete_fields}
    core = {k: v for k, v in values.items() if k in concrete}
    return core, {k: v for k, v in values.items() if k not in concrete}


def _assignee(action: dict[str, Any], spec: ModuleSpec) -> Member:
    group = Group.objects.filter(pk=action["group"]).first()
    if group is None:
        raise StepFailed(_("No such group."))
    members = list(group.members.filter(active=True).select_related("user").order_by("pk"))
    if not members:
        raise StepFailed(_("The group has no active members."))
    if action.get("strategy") == "least_loaded":
        loads = dict(
            spec.records()
            .filter(deleted_at__isnull=True, owner__in=members)
            .values_list("owner")
            .annotate(n=Count("pk"))
            .values_list("owner", "n")
        )
        return min(members, key=lambda m: (loads.get(m.pk, 0), m.pk))
    from crm_apps.automation.models import RoundRobin

    with transaction.atomic():
        state, _created = RoundRobin.objects.select_for_update().get_or_create(group_id=group.pk, module=spec.key)
        after = [m for m in members if m.pk > state.last_member_id]
        chosen = after[0] if after else members[0]
        state.last_member_id = chosen.pk
        state.save(update_fields=["last_member_id"])
    return chosen


def _record_payload(spec: ModuleSpec, record: CrmRecord, runner: Member) -> dict[str, Any]:
    from crm_apps.engine import metadata
    from crm_apps.engine.api.representation import api_fields, record_to_api
    from crm_apps.engine.fieldaccess import field_rules

    rules = field_rules(actor=runner, spec=spec)
    data = record_to_api(spec, record, rules.custom(metadata.custom_fields(spec.key)), rules.visible(api_fields(spec)))
    return _jsonable(data)


def preview(
    *, workflow: Workflow, record_id: str, actor: Member, definition: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What a run would do for this record, without writing: the run executes inside a savepoint that is
    rolled back (with every notification and queued call), then its log is returned."""
    result: dict[str, Any] = {}

    class _Rollback(Exception):
        pass

    try:
        with transaction.atomic():
            version = workflow.current
            if definition is not None:
                version = WorkflowVersion.objects.create(
                    workflow=workflow,
                    number=(workflow.current.number + 1 if workflow.current else 1),
                    definition=definition,
                )
            assert version is not None
            spec = registry.get(workflow.module)
            run = WorkflowRun.objects.create(
                workflow=workflow,
                version=version,
                module=spec.key,
                record_id=str(record_id),
                trigger="test",
                actor=actor,
            )
            run = run_continue(run, check_conditions=True, preview=True)
            result = {
                "status": run.status,
                "error": run.error,
                "steps": [
                    {
                        "id": s.step_id,
                        "action": s.action,
                        "inputs": s.inputs,
                        "output": s.output,
                        "status": s.status,
                        "error": s.error,
                    }
                    for s in run.steps.order_by("position")
                ],
            }
            raise _Rollback
    except _Rollback:
        pass
    return result


def due_filter() -> Q:
    return Q(status=RunStatus.WAITING, resume_at__lte=timezone.now())
