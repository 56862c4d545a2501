"""Project screens: the Gantt chart (with a table that works by keyboard and on a phone), the members'
workload, a project from a won deal, and the admins' task templates."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from crm_apps.access import visibility
from crm_apps.access.decorators import admin_view
from crm_apps.access.middleware import request_member
from crm_apps.access.models import Member
from crm_apps.access.privileges import Privilege
from crm_apps.engine import registry
from crm_apps.engine.display import record_url
from crm_apps.engine.selectors import access_record
from crm_apps.modules.projects import selectors, services
from crm_apps.modules.projects.models import ProjectTemplate
from crm_apps.modules.projecttasks.models import ProjectTask, TaskMove
from crm_apps.modules.projecttasks.services import access_move, task_move, task_move_undo


def _errors_text(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return " ".join(str(m) for msgs in exc.message_dict.values() for m in msgs)
    return " ".join(exc.messages)


@require_GET
@login_required
def gantt(request: HttpRequest, record_id: uuid.UUID) -> HttpResponse:
    """The project's tasks on a timeline: drag to move, drag an end to resize (saved at once, with an undo),
    dependency arrows, milestones and today's line; the same plan as a table with date fields below."""
    member = request_member(request)
    plan = selectors.project_plan(actor=member, project_id=record_id)
    if plan is None:
        raise Http404
    last_move = None
    move_id = request.GET.get("move")
    if move_id:
        try:
            last_move = access_move(actor=member, move_id=move_id)
        except TaskMove.DoesNotExist:
            last_move = None
    return render(
        request,
        "projects/gantt.html",
        {
            "spec": registry.get("projects"),
            "project": plan.project,
            "project_url": record_url(registry.get("projects"), plan.project),
            "crumbs": [
                (reverse("engine:list", args=["projects"]), registry.get("projects").label_plural),
                (record_url(registry.get("projects"), plan.project), str(plan.project)),
            ],
            "plan": plan,
            "plan_json": plan.as_json(),
            "last_move": last_move if last_move and last_move.undone_at is None else None,
            "today": timezone.localdate(),
        },
    )


@require_POST
@login_required
def gantt_move(request: HttpRequest, record_id: uuid.UUID, task_id: uuid.UUID) -> HttpResponse:
    """The table's "Save" for one task (keyboard and phone): the same move as a drag on the chart."""
    member = request_member(request)
    target = reverse("projects:gantt", args=[record_id])
    try:
        move = task_move(
            actor=member,
            task_id=task_id,
            start_date=request.POST.get("start_date"),
            end_date=request.POST.get("end_date"),
        )
    except ValidationError as exc:
        messages.error(request, _errors_text(exc))
        return redirect(target)
    except PermissionDenied:
        messages.error(request, _("You may not change this record."))
        return redirect(target)
    except ProjectTask.DoesNotExist as exc:
        raise Http404 from exc
    if len(move.changes) > 1:
        others = len(move.changes) - 1
        messages.success(
            request,
            ngettext(
                "Saved. %(n)d task that depends on it moved too.",
                "Saved. %(n)d tasks that depend on it moved too.",
                others,
            )
            % {"n": others},
        )
    else:
        messages.success(request, _("Saved."))
    return redirect(f"{target}?move={move.pk}")


@require_POST
@login_required
def gantt_undo(request: HttpRequest, record_id: uuid.UUID, move_id: uuid.UUID) -> HttpResponse:
    """Undo the member's last move from the Gantt page."""
    member = request_member(request)
    try:
        task_move_undo(actor=member, move_id=move_id)
    except TaskMove.DoesNotExist as exc:
        raise Http404 from exc
    except ValidationError as exc:
        messages.error(request, _errors_text(exc))
    except PermissionDenied:
        messages.error(request, _("You may not change this record."))
    else:
        messages.success(request, _("The move was undone."))
    return redirect("projects:gantt", record_id=record_id)


@require_GET
@login_required
def workload(request: HttpRequest) -> HttpResponse:
    """Planned hours per member per week (eight weeks from the chosen week), optionally for one project."""
    member = request_member(request)
    if not visibility.can_view_module(actor=member, spec=registry.get("project-tasks")):
        raise PermissionDenied
    try:
        first = dt.date.fromisoformat(request.GET.get("week", ""))
    except ValueError:
        first = timezone.localdate()
    project = None
    if request.GET.get("project"):
        project = access_record(spec=registry.get("projects"), actor=member, record_id=request.GET["project"])
    weeks, rows = selectors.workload(actor=member, first_week=first, project_id=project.pk if project else None)
    step = dt.timedelta(weeks=len(weeks))
    return render(
        request,
        "projects/workload.html",
        {
            "weeks": weeks,
            "rows": [(row, list(zip(weeks, row.hours, strict=True))) for row in rows],
            "project": project,
            "previous": (weeks[0] - step).isoformat(),
            "next": (weeks[0] + step).isoformat(),
            "spec": registry.get("projects"),
        },
    )


@require_POST
@login_required
def from_deal(request: HttpRequest, record_id: uuid.UUID) -> HttpResponse:
    """ "Create project" on a won deal's page."""
    member = request_member(request)
    try:
        project = services.project_create_from_deal(
            actor=member, deal_id=record_id, template_id=request.POST.get("template") or None
        )
    except ValidationError as exc:
        messages.error(request, _errors_text(exc))
        return redirect("engine:detail", module="deals", record_id=record_id)
    except PermissionDenied:
        messages.error(request, _("You may not create projects."))
        return redirect("engine:detail", module="deals", record_id=record_id)
    messages.success(request, _("Project created."))
    return redirect(record_url(registry.get("projects"), project))


# ---------------------------------------------------------------------------------------------
# Task templates (settings)


def _template_rows(text: str) -> list[dict[str, Any]]:
    """One task a line: "name; offset days; duration days; hours; depends on (line numbers, comma
    separated)". Lines that are empty are skipped."""
    rows: list[dict[str, Any]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(";")]
        parts += [""] * (5 - len(parts))
        depends = []
        for item in parts[4].split(","):
            item = item.strip()
            if item.isdigit():
                depends.append(int(item) - 1)
            elif item:
                depends.append(-1)  # refused by the service with the row's message
        rows.append(
            {
                "name": parts[0],
                "offset_days": parts[1] or 0,
                "duration_days": parts[2] or 1,
                "hours": parts[3] or None,
                "depends_on": depends,
            }
        )
    return rows


def _template_text(template: ProjectTemplate) -> str:
    lines = []
    for task in template.tasks:
        depends = ",".join(str(i + 1) for i in task.get("depends_on", []))
        lines.append(
            f"{task['name']}; {task['offset_days']}; {task['duration_days']}; {task.get('hours') or ''}; {depends}"
        )
    return "\n".join(lines)


@admin_view(privilege=Privilege.MANAGE_SETTINGS)
def templates(request: HttpRequest, actor: Member) -> HttpResponse:
    """List, add, change and remove task templates."""
    chosen = None
    if request.GET.get("template") or request.POST.get("template"):
        chosen = ProjectTemplate.objects.filter(
            pk=_int(request.GET.get("template") or request.POST.get("template"))
        ).first()
    errors: dict[str, list[str]] = {}
    values = {"name": chosen.name if chosen else "", "tasks": _template_text(chosen) if chosen else ""}
    if request.method == "POST":
        if request.POST.get("delete") and chosen is not None:
            services.project_template_delete(actor=actor, template=chosen)
            messages.success(request, _("Template removed."))
            return redirect("projects:templates")
        values = {"name": request.POST.get("name", ""), "tasks": request.POST.get("tasks", "")}
        try:
            saved = services.project_template_save(
                actor=actor, name=values["name"], tasks=_template_rows(values["tasks"]), template=chosen
            )
        except ValidationError as exc:
            errors = exc.message_dict
        else:
            messages.success(request, _("Template saved."))
            return redirect(f"{reverse('projects:templates')}?template={saved.pk}")
    return render(
        request,
        "projects/templates.html",
        {
            "spec": registry.get("projects"),
            "tab": "templates",
            "templates": ProjectTemplate.objects.all(),
            "chosen": chosen,
            "values": values,
            "errors": errors,
            "errors_json": json.dumps(errors),
        },
        status=400 if errors else 200,
    )


def _int(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0
