"""A task's page: the tasks it waits for and the tasks waiting for it, by name."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.engine import registry
from crm_apps.engine.display import record_url
from crm_apps.modules.projecttasks.models import ProjectTask


def dependencies_panel(task: ProjectTask, member: Member, request: HttpRequest) -> dict[str, Any]:
    """Predecessors and dependants the viewer may see, and (for members who may edit the task) the other
    tasks of the project to choose its predecessors from (one query)."""
    if task.project_id is None:
        return {}
    spec = registry.get("project-tasks")
    qs = spec.records().filter(project_id=task.project_id, deleted_at__isnull=True).exclude(pk=task.pk)
    depends = set(task.depends_on or [])
    before: list[tuple[str, str, Any, Any]] = []
    after: list[tuple[str, str, Any, Any]] = []
    choices: list[tuple[str, str, bool]] = []
    others = visibility.visible_records(actor=member, spec=spec, queryset=qs).order_by("start_date", "number")
    for other in others[:300]:
        row = (record_url(spec, other), str(other), other.start_date, other.end_date)
        if other.pk in depends:
            before.append(row)
        if task.pk in (other.depends_on or []):
            after.append(row)
        choices.append((str(other.pk), f"{other.number} {other}", other.pk in depends))
    can_edit = visibility.can_edit(actor=member, spec=spec, record=task)
    return {"before": before, "after": after, "task": task, "choices": choices if can_edit else []}
