"""The extension point of automation: other packages add trigger types and action types here, without
editing this app (docs/automation.md, "Adding a trigger or an action type").

An **action type** is a key, a label, a validator of its JSON and a function that performs it:

    from crm_apps.automation.extension import ActionType, action_type_register

    def _validate(action, error):            # error(key, message): a per-path error of this action
        if not isinstance(action.get("app"), str):
            error("app", "Choose an app.")

    def _perform(context):                   # an ActionContext; return the step's output (JSON-able)
        payload = {"record": context.record_payload(), "text": context.value(context.action.get("text"))}
        context.inputs(payload)              # what the run log shows as the step's inputs
        if context.preview:
            return {"would_call": context.action["app"]}
        return {"status": 200}

    action_type_register(ActionType(key="app_call", label="Call an app", validate=_validate,
                                    perform=_perform, writes=True))

Register in your AppConfig.ready(). `perform` runs inside the step's savepoint as the workflow's runner:
raise ValidationError / PermissionDenied / StepFailed for a failure that must not be retried, any other
exception for a transient one (retried with backoff, 3 attempts). `writes=True` adds the audit event
naming the workflow, like the built-in writing actions. A test run calls `perform` with
`context.preview` true inside a rolled-back savepoint: do not leave the database (no network calls).

A **trigger type** is a key, a label, the modules it applies to (None: all) and a validator; the package
then fires it with `trigger_fire(...)` when its event happens (after commit is best: it queues one
evaluation task per matching workflow, each run carrying `data` as `steps.trigger.<key>`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crm_apps.access.models import Member
    from crm_apps.automation.models import RunStep, WorkflowRun
    from crm_apps.engine.models import CrmRecord
    from crm_apps.engine.spec import ModuleSpec

ErrorFn = Callable[[str, str], None]


@dataclass
class ActionContext:
    """What an action's `perform` gets: the action's JSON, the record (as the runner sees it), the module,
    the member the run acts as, the run and this step, and whether this is a test run."""

    action: dict[str, Any]
    record: CrmRecord
    spec: ModuleSpec
    runner: Member
    run: WorkflowRun
    step: RunStep
    preview: bool
    evaluate: Callable[[Any], Any]

    def value(self, value: Any) -> Any:
        """A plain value, or the result of {"expr": "..."} for this record (earlier steps' outputs included)."""
        return self.evaluate(value)

    def inputs(self, inputs: dict[str, Any]) -> None:
        self.step.inputs = inputs

    def record_payload(self) -> dict[str, Any]:
        """The record as the runner may see it through the API (hidden fields left out)."""
        from crm_apps.automation.runner import _record_payload

        return _record_payload(self.spec, self.record, self.runner)


@dataclass(frozen=True)
class ActionType:
    key: str
    label: Any
    validate: Callable[[dict[str, Any], ErrorFn], None]
    perform: Callable[[ActionContext], dict[str, Any]]
    writes: bool = True


@dataclass(frozen=True)
class TriggerType:
    key: str
    label: Any
    modules: tuple[str, ...] | None = None  # None: every module
    validate: Callable[[dict[str, Any], ErrorFn], None] | None = None
    # Whether a fired event matches a workflow's trigger JSON (e.g. its "form" filter); None: always.
    matches: Callable[[dict[str, Any], dict[str, Any]], bool] | None = None


_actions: dict[str, ActionType] = {}
_triggers: dict[str, TriggerType] = {}


def action_type_register(action_type: ActionType) -> None:
    """Add an action type (its key must not be a built-in one or another package's)."""
    from crm_apps.automation.definitions import BUILTIN_ACTIONS

    if action_type.key in BUILTIN_ACTIONS:
        raise ValueError(f"{action_type.key} is a built-in action")
    _actions[action_type.key] = action_type


def trigger_type_register(trigger_type: TriggerType) -> None:
    from crm_apps.automation.definitions import BUILTIN_TRIGGERS

    if trigger_type.key in BUILTIN_TRIGGERS:
        raise ValueError(f"{trigger_type.key} is a built-in trigger")
    _triggers[trigger_type.key] = trigger_type


def action_type(key: str) -> ActionType | None:
    return _actions.get(key)


def trigger_type(key: str) -> TriggerType | None:
    return _triggers.get(key)


def action_types() -> list[ActionType]:
    return list(_actions.values())


def trigger_types() -> list[TriggerType]:
    return list(_triggers.values())


def trigger_fire(
    *,
    trigger: str,
    module: str,
    record_ids: list[Any],
    data: dict[str, Any] | None = None,
    actor: Member | None = None,
) -> int:
    """An event of type `trigger` happened to these records of `module`: after commit, queue one evaluation
    per enabled workflow of the module with this trigger (and whose trigger JSON matches `data`). Each
    run sees `data` as `steps.trigger.<key>`. Returns the number of workflows considered."""
    from crm_apps.automation import listeners

    return listeners.event_fire(
        trigger=trigger, module=module, record_ids=[str(r) for r in record_ids], data=data or {}, actor=actor
    )
