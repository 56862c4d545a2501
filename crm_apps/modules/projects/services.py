"""Project behaviour: progress rolled up from the tasks, task templates, a project from a won deal."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.access.privileges import Privilege
from crm_apps.audit import services as audit
from crm_apps.engine import registry
from crm_apps.engine.selectors import access_record
from crm_apps.engine.services import record_create
from crm_apps.modules.projects.models import Project, ProjectTemplate
from crm_apps.modules.projects.picklists import TASK_DONE, TASK_DROPPED

MAX_TEMPLATE_TASKS = 100
MAX_OFFSET_DAYS = 3650


def project_clean(project: Project) -> None:
    """A project ends (target or actual) on or after the day it starts."""
    errors: dict[str, list[str]] = {}
    start = project.start_date
    for name in ("target_end_date", "actual_end_date"):
        end = getattr(project, name)
        if start and end and end < start:
            errors[name] = [_("The end date cannot be before the start date.")]
    if errors:
        raise ValidationError(errors)


def task_weight_progress(tasks: Iterable[tuple[str, int, Decimal | None]]) -> int:
    """The roll-up rule: the average of the tasks' progress weighted by their planned hours, or by count when
    no task has planned hours. A completed task counts 100 %, a cancelled one not at all.
    `tasks`: (status, progress, hours planned)."""
    kept = [
        (100 if status == TASK_DONE else int(progress or 0), hours or Decimal(0))
        for status, progress, hours in tasks
        if status not in TASK_DROPPED
    ]
    if not kept:
        return 0
    total_hours = sum((hours for _p, hours in kept), Decimal(0))
    if total_hours > 0:
        weighted = sum((Decimal(p) * hours for p, hours in kept), Decimal(0)) / total_hours
    else:
        weighted = Decimal(sum(p for p, _h in kept)) / len(kept)
    return int(weighted.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def project_progress_refresh(*, project_ids: Iterable[Any]) -> None:
    """Keep each project's stored progress equal to the roll-up of its live tasks (an invariant, written
    inside the task write's transaction; no timeline entry of its own)."""
    tasks_spec = registry.get("project-tasks")
    for project_id in {pid for pid in project_ids if pid}:
        rows = list(
            tasks_spec.records()
            .filter(project_id=project_id, deleted_at__isnull=True)
            .values_list("status", "progress", "hours_planned")
        )
        Project.objects.filter(pk=project_id).update(progress=task_weight_progress(rows))


# ---------------------------------------------------------------------------------------------
# Task templates


def _template_tasks_clean(tasks: Any) -> list[dict[str, Any]]:
    """[{"name", "offset_days", "duration_days", "hours", "depends_on": [earlier indexes]}], checked."""
    if not isinstance(tasks, list) or not tasks:
        raise ValidationError({"tasks": [_("Add at least one task.")]})
    if len(tasks) > MAX_TEMPLATE_TASKS:
        raise ValidationError({"tasks": [_("At most %(n)d tasks.") % {"n": MAX_TEMPLATE_TASKS}]})
    cleaned: list[dict[str, Any]] = []
    errors: dict[str, list[str]] = {}
    for index, item in enumerate(tasks):
        if not isinstance(item, dict):
            errors[f"tasks.{index}"] = [_("Send an object of field values.")]
            continue
        name = str(item.get("name") or "").strip()
        if not name or len(name) > 200:
            errors[f"tasks.{index}.name"] = [_("Enter a name of at most 200 characters.")]
        try:
            offset = int(item.get("offset_days") or 0)
            duration = int(item.get("duration_days") or 1)
        except (TypeError, ValueError):
            errors[f"tasks.{index}.offset_days"] = [_("Enter whole numbers of days.")]
            continue
        if not 0 <= offset <= MAX_OFFSET_DAYS or not 1 <= duration <= MAX_OFFSET_DAYS:
            errors[f"tasks.{index}.offset_days"] = [
                _("The offset is 0 to %(n)d days, the duration 1 to %(n)d days.") % {"n": MAX_OFFSET_DAYS}
            ]
        hours = item.get("hours")
        try:
            hours_value = None if hours in (None, "") else Decimal(str(hours))
        except ArithmeticError:
            hours_value = Decimal(-1)
        if hours_value is not None and not Decimal(0) <= hours_value <= Decimal(100_000):
            errors[f"tasks.{index}.hours"] = [_("Enter a number of hours.")]
        depends = item.get("depends_on") or []
        if not isinstance(depends, list) or not all(isinstance(d, int) and 0 <= d < index for d in depends):
            errors[f"tasks.{index}.depends_on"] = [_("A task may depend only on tasks listed before it.")]
            depends = []
        cleaned.append(
            {
                "name": name,
                "offset_days": offset,
                "duration_days": duration,
                "hours": None if hours_value is None else str(hours_value),
                "depends_on": sorted(set(depends)),
            }
        )
    if errors:
        raise ValidationError(errors)
    return cleaned


def _require_settings(actor: Member) -> None:
    if not visibility.has_privilege(actor=actor, privilege=Privilege.MANAGE_SETTINGS):
        raise PermissionDenied


@transaction.atomic
def project_template_save(
    *, actor: Member, name: str, tasks: Any, template: ProjectTemplate | None = None
) -> ProjectTemplate:
    """Admins keep named task lists (offsets and durations in days from the project's start)."""
    _require_settings(actor)
    errors: dict[str, list[str]] = {}
    name = str(name or "").strip()
    if not name or len(name) > 100:
        errors["name"] = [_("Enter a name of at most 100 characters.")]
    elif ProjectTemplate.objects.filter(name__iexact=name).exclude(pk=template.pk if template else 0).exists():
        errors["name"] = [_("A template with this name exists.")]
    try:
        cleaned = _template_tasks_clean(tasks)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    before = None if template is None else {"name": template.name, "tasks": template.tasks}
    template = template or ProjectTemplate()
    template.name, template.tasks = name, cleaned
    template.save()
    audit.audit_log(
        action=audit.SETTINGS_CHANGED,
        actor=actor,
        module="projects",
        record_label=name,
        changes={"template": [before, {"name": name, "tasks": cleaned}]},
        details={"setting": "project_template"},
    )
    return template


@transaction.atomic
def project_template_delete(*, actor: Member, template: ProjectTemplate) -> None:
    """Admins remove a template; projects made from it keep their tasks."""
    _require_settings(actor)
    audit.audit_log(
        action=audit.SETTINGS_CHANGED,
        actor=actor,
        module="projects",
        record_label=template.name,
        changes={"template": [{"name": template.name, "tasks": template.tasks}, None]},
        details={"setting": "project_template"},
    )
    template.delete()


# ---------------------------------------------------------------------------------------------
# A project from a won deal


@transaction.atomic
def project_create_from_deal(
    *,
    actor: Member,
    deal_id: Any,
    template_id: Any = None,
    name: str = "",
    start_date: dt.date | None = None,
) -> Project:
    """Deliver what sales sold: a won deal becomes a project with the deal's organisation and contact,
    and the tasks of a template scheduled from the start date (today when none is given)."""
    deals = registry.get("deals")
    deal = access_record(spec=deals, actor=actor, record_id=deal_id)
    if deal is None:
        raise ValidationError({"deal": [_("Choose an existing record.")]})
    if not deal.stage.is_won:
        raise ValidationError({"deal": [_("Only a won deal can become a project.")]})
    template = None
    if template_id not in (None, ""):
        template = ProjectTemplate.objects.filter(pk=_int(template_id)).first()
        if template is None:
            raise ValidationError({"template": [_("Choose an existing template.")]})
    start = start_date or timezone.localdate()
    tasks = template.tasks if template else []
    end = max((start + dt.timedelta(days=t["offset_days"] + t["duration_days"] - 1) for t in tasks), default=None)
    project = record_create(
        spec=registry.get("projects"),
        actor=actor,
        data={
            "name": (name or "").strip() or deal.name,
            "status": "Initiated",
            "organization": deal.organization_id,
            "contact": deal.contact_id,
            "deal": deal.pk,
            "start_date": start.isoformat(),
            "target_end_date": end.isoformat() if end else None,
            "budget": None if deal.amount is None else str(deal.amount),
        },
    )
    tasks_spec = registry.get("project-tasks")
    created: list[Any] = []
    for item in tasks:
        task_start = start + dt.timedelta(days=item["offset_days"])
        created.append(
            record_create(
                spec=tasks_spec,
                actor=actor,
                data={
                    "name": item["name"],
                    "project": project.pk,
                    "status": "Not started",
                    "start_date": task_start.isoformat(),
                    "end_date": (task_start + dt.timedelta(days=item["duration_days"] - 1)).isoformat(),
                    "hours_planned": item.get("hours"),
                    "depends_on": [created[i].pk for i in item.get("depends_on", [])],
                },
            )
        )
    project.refresh_from_db()
    return project


def _int(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0
