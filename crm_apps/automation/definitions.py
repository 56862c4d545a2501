"""The JSON definition of a workflow (what the API takes and the designer produces) and its validation.

    {"trigger": {"type": "field_changed", "field": "stage", "to": "Negotiation"},
     "conditions": {"match": "all", "rules": [{"expr": "amount > 1000"}]},
     "actions": [{"id": "task", "type": "create_record", "module": "tasks",
                  "values": {"subject": "Call", "due_date": {"expr": "add_days(today(), 2)"}}},
                 {"id": "tell", "type": "notify", "to": ["manager"], "message": "Negotiation started"}]}

Errors come back as {"<path>": ["message"]} (e.g. "actions.1.values.due_date"), so the designer can put
each one beside the box it belongs to.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from crm_apps.automation import action_types, expressions
from crm_apps.engine import registry

BUILTIN_TRIGGERS = (
    "created",
    "updated",
    "saved",
    "first_match",
    "field_changed",
    "date",
    "schedule",
    "manual",
    # Events of other apps (docs/automation.md, "Event triggers"): fired through listeners.event_fire.
    "email_received",
    "webform_submitted",
    "portal_event",
    "webhook_reply",
)
PORTAL_EVENTS = ("ticket_opened", "ticket_answered")
BUILTIN_ACTIONS = (
    "update_fields",
    "create_record",
    "notify",
    "send_email",
    "assign",
    "add_comment",
    "add_to_campaign",
    "webhook",
    "wait",
    "branch",
    "run_workflow",
)
# Kept for callers of the first version; the registered types are added by trigger_keys() / action_keys().
TRIGGERS = BUILTIN_TRIGGERS
ACTIONS = BUILTIN_ACTIONS
RECIPIENTS = re.compile(r"^(owner|manager|actor|member:\d+|group:\d+)$")
MAX_ACTIONS = 50
_STEP_ID = re.compile(r"^[a-z][a-z0-9_]{0,30}$")


def trigger_keys() -> tuple[str, ...]:
    from crm_apps.automation import extension

    return BUILTIN_TRIGGERS + tuple(t.key for t in extension.trigger_types())


def action_keys() -> tuple[str, ...]:
    from crm_apps.automation import extension

    return BUILTIN_ACTIONS + tuple(a.key for a in extension.action_types())


class _Errors:
    def __init__(self) -> None:
        self.items: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.items.setdefault(path, []).append(message)


def _expr(errors: _Errors, path: str, source: Any) -> None:
    if not isinstance(source, str):
        errors.add(path, _("Write an expression as text."))
        return
    try:
        expressions.parse(source)
    except expressions.ExpressionError as exc:
        errors.add(path, str(exc))


def _value(errors: _Errors, path: str, value: Any) -> None:
    """A value is a JSON scalar or {"expr": "..."}."""
    if isinstance(value, dict):
        if set(value) != {"expr"}:
            errors.add(path, _('Send a plain value or {"expr": "..."}.'))
        else:
            _expr(errors, path, value["expr"])
    elif not (value is None or isinstance(value, (str, int, float, bool))):
        errors.add(path, _('Send a plain value or {"expr": "..."}.'))


def _field_names(module: str) -> set[str]:
    spec = registry.get(module)
    names = {f.name for f in spec.model._meta.concrete_fields}
    from crm_apps.engine import metadata

    return names | {f.key for f in metadata.custom_fields(module)}


def _conditions(errors: _Errors, path: str, group: Any, depth: int = 0) -> None:
    if group in (None, {}):
        return
    if not isinstance(group, dict) or group.get("match", "all") not in ("all", "any"):
        errors.add(path, _('Conditions are {"match": "all" or "any", "rules": [...]}.'))
        return
    rules = group.get("rules", [])
    if not isinstance(rules, list) or depth > 4:
        errors.add(path, _("Rules are a list (groups nest at most 4 deep)."))
        return
    for index, rule in enumerate(rules):
        here = f"{path}.rules.{index}"
        if isinstance(rule, dict) and "expr" in rule:
            _expr(errors, here, rule["expr"])
        elif isinstance(rule, dict) and "rules" in rule:
            _conditions(errors, here, rule, depth + 1)
        else:
            errors.add(here, _('A rule is {"expr": "..."} or a nested group.'))


def _trigger(errors: _Errors, module: str, trigger: Any) -> None:
    external = action_types.external_triggers(module)  # installed apps' events (action_types.py)
    if isinstance(trigger, dict) and trigger.get("type") in external:
        return
    if not isinstance(trigger, dict) or trigger.get("type") not in trigger_keys():
        types = [*trigger_keys(), *sorted(external)]
        errors.add("trigger.type", _("Choose one of: %(types)s.") % {"types": ", ".join(types)})
        return
    kind = trigger["type"]
    if kind not in BUILTIN_TRIGGERS:
        _registered_trigger(errors, module, trigger)
        return
    fields = _field_names(module)
    if kind in ("field_changed", "date") and trigger.get("field") not in fields:
        errors.add("trigger.field", _("Choose a field of this module."))
    if kind == "field_changed":
        for key in ("from", "to"):
            if key in trigger:
                _value(errors, f"trigger.{key}", trigger[key])
    if kind == "date":
        offset = trigger.get("offset_days", 0)
        if not isinstance(offset, int) or isinstance(offset, bool) or abs(offset) > 3650:
            errors.add("trigger.offset_days", _("A whole number of days between -3650 and 3650."))
        at = trigger.get("at", "09:00")
        if not isinstance(at, str) or not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", at):
            errors.add("trigger.at", _("A time as HH:MM."))
    _event_trigger(errors, module, trigger)
    if kind == "schedule":
        _schedule_trigger(errors, trigger)


def _event_trigger(errors: _Errors, module: str, trigger: dict[str, Any]) -> None:
    kind = trigger["type"]
    if kind == "webform_submitted" and "form" in trigger and not _whole(trigger["form"]):
        errors.add("trigger.form", _("Choose a web form."))
    if kind == "portal_event":
        if module != "tickets":
            errors.add("trigger.type", _("Portal events happen to tickets."))
        if trigger.get("event") not in PORTAL_EVENTS:
            errors.add("trigger.event", _("Choose one of: %(types)s.") % {"types": ", ".join(PORTAL_EVENTS)})
    if kind == "webhook_reply":
        if "workflow" in trigger and not _whole(trigger["workflow"]):
            errors.add("trigger.workflow", _("Choose a workflow."))
        if trigger.get("status", "any") not in ("any", "succeeded", "failed"):
            errors.add("trigger.status", _("any, succeeded or failed."))


def _schedule_trigger(errors: _Errors, trigger: dict[str, Any]) -> None:
    """One kind of schedule: every_minutes, daily_at (either or both, as before), weekly, monthly or cron."""
    from crm_apps.automation import schedules

    kinds = [key for key in schedules.KINDS if trigger.get(key) is not None]
    if not kinds:
        errors.add("trigger.every_minutes", _("Choose when it runs: every N minutes, daily, weekly, monthly or cron."))
    elif len(kinds) > 1 and set(kinds) != {"every_minutes", "daily_at"}:
        for key in kinds[1:]:
            errors.add(f"trigger.{key}", _("A schedule has one kind: remove this one or the other."))
    for path, message in schedules.schedule_errors(trigger):
        errors.add(f"trigger.{path}", str(message))
    if "filter" in trigger:
        _expr(errors, "trigger.filter", trigger["filter"])


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _registered_trigger(errors: _Errors, module: str, trigger: dict[str, Any]) -> None:
    from crm_apps.automation import extension

    found = extension.trigger_type(trigger["type"])
    assert found is not None
    if found.modules is not None and module not in found.modules:
        errors.add("trigger.type", _("This trigger is for: %(modules)s.") % {"modules": ", ".join(found.modules)})
    if found.validate is not None:
        found.validate(trigger, lambda key, message: errors.add(f"trigger.{key}", str(message)))


def _actions(errors: _Errors, module: str, actions: Any, path: str, seen: set[str], count: list[int]) -> None:
    if not isinstance(actions, list):
        errors.add(path, _("Actions are a list."))
        return
    for index, action in enumerate(actions):
        here = f"{path}.{index}"
        count[0] += 1
        if count[0] > MAX_ACTIONS:
            errors.add(here, _("A workflow has at most %(n)d actions.") % {"n": MAX_ACTIONS})
            return
        external = action_types.external_actions(module) if isinstance(action, dict) else {}
        known = (*action_keys(), *sorted(external))
        if not isinstance(action, dict) or action.get("type") not in known:
            types = list(known)
            errors.add(f"{here}.type", _("Choose one of: %(types)s.") % {"types": ", ".join(types)})
            continue
        step_id = action.get("id")
        if not isinstance(step_id, str) or not _STEP_ID.match(step_id) or step_id in seen | {"trigger"}:
            errors.add(f"{here}.id", _("A unique id of lower-case letters, digits and _."))
        else:
            seen.add(step_id)
        _action(errors, module, action, here, seen, count)


def _action(  # noqa: C901 - one branch per action type
    errors: _Errors, module: str, action: dict[str, Any], here: str, seen: set[str], count: list[int]
) -> None:
    kind = action["type"]
    if kind not in BUILTIN_ACTIONS:
        from crm_apps.automation import extension

        found = extension.action_type(kind)
        if found is None:  # an installed app's action (action_types.py): it takes no settings of its own
            return
        found.validate(action, lambda key, message: errors.add(f"{here}.{key}", str(message)))
        return
    if kind in ("update_fields", "create_record"):
        target = action.get("module", module) if kind == "create_record" else module
        try:
            fields = _field_names(target)
        except registry.UnknownModule:
            errors.add(f"{here}.module", _("Unknown module."))
            return
        values = action.get("values")
        if not isinstance(values, dict) or (kind == "update_fields" and not values):
            errors.add(f"{here}.values", _("Give the fields and their values."))
            return
        for name, value in values.items():
            if name not in fields or name in ("id", "number", "created_by", "updated_by", "version", "custom_data"):
                errors.add(f"{here}.values.{name}", _("Not a field that can be set."))
            else:
                _value(errors, f"{here}.values.{name}", value)
    elif kind == "notify":
        to = action.get("to")
        if not isinstance(to, list) or not to or not all(isinstance(t, str) and RECIPIENTS.match(t) for t in to):
            errors.add(f"{here}.to", _("Recipients: owner, manager, actor, member:<id>, group:<id>."))
        _value(errors, f"{here}.message", action.get("message", ""))
    elif kind == "send_email":
        if not isinstance(action.get("template"), int) or isinstance(action.get("template"), bool):
            errors.add(f"{here}.template", _("Choose an email template."))
        if action.get("to", "owner") not in ("owner", "record"):
            errors.add(f"{here}.to", _("Send to the owner or to the record's own address."))
    elif kind == "assign":
        if not isinstance(action.get("group"), int):
            errors.add(f"{here}.group", _("Choose a group."))
        if action.get("strategy", "round_robin") not in ("round_robin", "least_loaded"):
            errors.add(f"{here}.strategy", _("round_robin or least_loaded."))
    elif kind == "add_comment":
        _value(errors, f"{here}.body", action.get("body"))
        if action.get("body") in (None, ""):
            errors.add(f"{here}.body", _("Write the comment."))
    elif kind == "add_to_campaign":
        if not isinstance(action.get("campaign"), str) or not action.get("campaign"):
            errors.add(f"{here}.campaign", _("Choose a campaign."))
    elif kind == "webhook":
        url = action.get("url")
        if not isinstance(url, str) or not re.match(r"^https?://[^\s/]+", url):
            errors.add(f"{here}.url", _("An http(s) address."))
        if not isinstance(action.get("wait_for_reply", False), bool):
            errors.add(f"{here}.wait_for_reply", _("true or false."))
    elif kind == "wait":
        total = 0
        for unit in ("days", "hours", "minutes"):
            value = action.get(unit, 0)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                errors.add(f"{here}.{unit}", _("A whole number, 0 or more."))
            else:
                total += value
        if total == 0:
            errors.add(f"{here}.days", _("Wait for some time."))
    elif kind == "branch":
        _expr(errors, f"{here}.if", action.get("if"))
        _actions(errors, module, action.get("then", []), f"{here}.then", seen, count)
        _actions(errors, module, action.get("else", []), f"{here}.else", seen, count)
    elif kind == "run_workflow" and not isinstance(action.get("workflow"), int):
        errors.add(f"{here}.workflow", _("Choose a workflow."))


def definition_clean(*, module: str, definition: Any) -> dict[str, Any]:
    """The definition when valid; ValidationError({path: [messages]}) when not."""
    errors = _Errors()
    if not isinstance(definition, dict):
        raise ValidationError({"definition": [_("Send an object with trigger, conditions and actions.")]})
    unknown = set(definition) - {"trigger", "conditions", "actions", "layout"}
    for key in sorted(unknown):
        errors.add(key, _("Unknown key."))
    _trigger(errors, module, definition.get("trigger"))
    _conditions(errors, "conditions", definition.get("conditions"))
    _actions(errors, module, definition.get("actions"), "actions", set(), [0])
    if not definition.get("actions"):
        errors.add("actions", _("Add at least one action."))
    if errors.items:
        raise ValidationError(errors.items)
    return definition
