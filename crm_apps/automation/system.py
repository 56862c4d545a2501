"""System workflows shipped with every workspace (created by migration 0002, disabled-able, not editable).

`notify_owner` (contacts, organisations): when someone other than the owner changes a record whose
"notify owner" box is ticked, the owner gets an in-app notification. It runs as the record's owner
(system workflows have no owner of their own), and the notification names the member who changed it.
"""

from __future__ import annotations

from typing import Any

NOTIFY_OWNER_MODULES = ("contacts", "organizations")


def notify_owner_definition() -> dict[str, Any]:
    return {
        "trigger": {"type": "updated"},
        "conditions": {"match": "all", "rules": [{"expr": "notify_owner and actor.id != owner.id"}]},
        "actions": [
            {
                "id": "tell_owner",
                "type": "notify",
                "to": ["owner"],
                "message": {"expr": "'changed by ' & actor.name"},
            }
        ],
    }


def system_workflows_create(workflow_model: Any, version_model: Any) -> None:
    for module in NOTIFY_OWNER_MODULES:
        key = f"notify_owner:{module}"
        if workflow_model.objects.filter(system_key=key).exists():
            continue
        definition = notify_owner_definition()
        workflow = workflow_model.objects.create(
            name="Notify the owner of changes by others",
            module=module,
            system_key=key,
            trigger_type=definition["trigger"]["type"],
        )
        version = version_model.objects.create(workflow=workflow, number=1, definition=definition)
        workflow.current = version
        workflow.save(update_fields=["current"])
