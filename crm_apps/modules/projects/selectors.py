"""Reads of the project screens: the Gantt plan of a project and the members' workload, always through
the visibility filter (a task or milestone the reader may not see is left out, with its dependency lines)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Sum
from django.utils import timezone

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.engine import registry
from crm_apps.engine.display import record_url
from crm_apps.engine.selectors import access_record
from crm_apps.modules.projects.models import Project
from crm_apps.modules.projects.picklists import TASK_DROPPED

MAX_GANTT_TASKS = 1000
WORKLOAD_WEEKS = 8


def _visible(module: str, actor: Member) -> Any:
    spec = registry.get(module)
    qs = spec.records().filter(deleted_at__isnull=True)
    return spec, visibility.visible_records(actor=actor, spec=spec, queryset=qs)


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


@dataclass
class Plan:
    project: Project
    tasks: list[dict[str, Any]]
    milestones: list[dict[str, Any]]
    can_edit: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "project": {
                "id": str(self.project.pk),
                "name": self.project.name,
                "start_date": _iso(self.project.start_date),
                "target_end_date": _iso(self.project.target_end_date),
                "progress": self.project.progress,
            },
            "today": timezone.localdate().isoformat(),
            "tasks": self.tasks,
            "milestones": self.milestones,
        }


def project_plan(*, actor: Member, project_id: Any) -> Plan | None:
    """The project's tasks (by start date, undated last) with their visible dependencies, and its
    milestones; None when the reader may not see the project (missing and forbidden alike)."""
    projects = registry.get("projects")
    project = access_record(spec=projects, actor=actor, record_id=project_id)
    if project is None:
        return None
    tasks_spec, tasks_qs = _visible("project-tasks", actor)
    tasks = list(
        tasks_qs.filter(project_id=project.pk)
        .select_related("owner__user")
        .order_by("start_date", "end_date", "number")[:MAX_GANTT_TASKS]
    )
    ids = {t.pk for t in tasks}
    tasks.sort(key=lambda t: (t.start_date is None, t.start_date or dt.date.min, t.number))
    task_rows = [
        {
            "id": str(t.pk),
            "number": t.number,
            "name": t.name,
            "status": t.status,
            "start_date": _iso(t.start_date),
            "end_date": _iso(t.end_date),
            "progress": 100 if t.status == "Completed" else t.progress,
            "hours_planned": str(t.hours_planned) if t.hours_planned is not None else None,
            "owner": t.owner.user.name if t.owner_id and t.owner else "",
            "depends_on": [str(d) for d in t.depends_on or [] if d in ids],
            "can_edit": visibility.can_edit(actor=actor, spec=tasks_spec, record=t),
            "url": record_url(tasks_spec, t),
        }
        for t in tasks
    ]
    milestones_spec, milestones_qs = _visible("project-milestones", actor)
    milestones = [
        {
            "id": str(m.pk),
            "name": m.name,
            "date": _iso(m.date),
            "reached": m.reached,
            "url": record_url(milestones_spec, m),
        }
        for m in milestones_qs.filter(project_id=project.pk).order_by("date", "number")[:200]
    ]
    return Plan(
        project=project,
        tasks=task_rows,
        milestones=milestones,
        can_edit=any(row["can_edit"] for row in task_rows),
    )


# ---------------------------------------------------------------------------------------------
# Workload


@dataclass
class WorkloadRow:
    member_id: int
    name: str
    hours: list[Decimal]

    @property
    def total(self) -> Decimal:
        return sum(self.hours, Decimal(0))


def _working_days(start: dt.date, end: dt.date) -> list[dt.date]:
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    weekdays = [d for d in days if d.weekday() < 5]
    return weekdays or days


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def workload(
    *, actor: Member, first_week: dt.date, weeks: int = WORKLOAD_WEEKS, project_id: Any = None
) -> tuple[list[dt.date], list[WorkloadRow]]:
    """Planned hours per task owner per week: each visible, dated, not-cancelled task's planned hours spread
    evenly over its working days (Monday to Friday; all its days when it has none), summed per ISO week.
    Returns the weeks' Mondays and one row per member, busiest first."""
    monday = week_start(first_week)
    mondays = [monday + dt.timedelta(weeks=i) for i in range(weeks)]
    window_end = mondays[-1] + dt.timedelta(days=6)
    _spec, qs = _visible("project-tasks", actor)
    qs = qs.filter(
        owner__isnull=False,
        hours_planned__gt=0,
        start_date__isnull=False,
        start_date__lte=window_end,
    ).exclude(status__in=TASK_DROPPED)
    if project_id:
        qs = qs.filter(project_id=project_id)
    rows: dict[int, WorkloadRow] = {}
    tasks = qs.select_related("owner__user").only(
        "start_date", "end_date", "hours_planned", "owner_id", "owner__user__name", "owner__user__email"
    )
    for task in tasks[:5000]:
        end = task.end_date if task.end_date and task.end_date >= task.start_date else task.start_date
        if end < monday:
            continue
        days = _working_days(task.start_date, end)
        share = Decimal(task.hours_planned) / len(days)
        row = rows.get(task.owner_id)
        if row is None:
            row = rows[task.owner_id] = WorkloadRow(task.owner_id, task.owner.user.name, [Decimal(0)] * weeks)
        for day in days:
            index = (day - monday).days // 7
            if 0 <= index < weeks:
                row.hours[index] += share
    for row in rows.values():
        row.hours = [h.quantize(Decimal("0.1")) for h in row.hours]
    return mondays, sorted(rows.values(), key=lambda r: (-r.total, r.name))


def deal_projects(*, actor: Member, deal_id: Any, limit: int = 20) -> list[Project]:
    """The visible projects made for a deal, newest first."""
    _spec, qs = _visible("projects", actor)
    return list(qs.filter(deal_id=deal_id).order_by("-created_at")[:limit])


def related_projects(*, actor: Member, field: str, record_id: Any, limit: int = 10) -> list[Project]:
    """The visible projects of an organisation or a contact (`field`), newest first."""
    _spec, qs = _visible("projects", actor)
    return list(qs.filter(**{field: record_id}).order_by("-created_at")[:limit])


def project_hours(*, actor: Member, project_id: Any) -> dict[str, Any]:
    """Tasks, hours planned and hours worked over the project's tasks the reader sees."""
    _spec, qs = _visible("project-tasks", actor)
    return qs.filter(project_id=project_id).aggregate(
        tasks=Count("id"), planned=Sum("hours_planned"), worked=Sum("hours_worked")
    )
