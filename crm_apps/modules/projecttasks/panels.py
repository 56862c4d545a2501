"""A task's page: the tasks it waits for and the tasks waiting for it, by name."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.http import HttpRequest

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.engine import registry
from crm_apps.engine.display import record_url
from crm_apps.modules.projecttasks.models import ProjectTask


def dependencies_panel(task: ProjectTask, member: Member, request: HttpRequest) -> dict[str, Any]:
    """Predecessors and dependants the viewer may see (one query)."""
    if task.project_id is None:
        return {}
    spec = registry.get("project-tasks")
    qs = spec.records().filter(
        Q(pk__in=list(task.depends_on or [])) | Q(depends_on__contains=[task.pk]),
        project_id=task.project_id,
        deleted_at__isnull=True,
    )
    before: list[tuple[str, str, Any, Any]] = []
    after: list[tuple[str, str, Any, Any]] = []
    for other in visibility.visible_records(actor=member, spec=spec, queryset=qs).order_by("start_date", "number"):
        row = (record_url(spec, other), str(other), other.start_date, other.end_date)
        (before if other.pk in (task.depends_on or []) else after).append(row)
    return {"before": before, "after": after, "task": task}
