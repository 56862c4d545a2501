"""Panels: a project's plan at a glance, and on a won deal its projects with "Create project"."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.engine import extensions, registry
from crm_apps.engine.display import record_url
from crm_apps.engine.spec import ModuleSpec
from crm_apps.modules.projects.models import Project, ProjectTemplate
from crm_apps.modules.projects.selectors import deal_projects, project_hours, related_projects


def plan_panel(project: Project, member: Member, request: HttpRequest) -> dict[str, Any]:
    """Progress, hours planned and worked on the tasks the member sees, the links to the Gantt chart, the task
    board and the workload, and whether the project is late (one query)."""
    today = timezone.localdate()
    late = bool(project.target_end_date and project.target_end_date < today and not project.actual_end_date)
    return {"project": project, "late": late, "totals": project_hours(actor=member, project_id=project.pk)}


def deal_projects_panel(deal: Any, member: Member, request: HttpRequest) -> dict[str, Any]:
    """On a deal: its projects the member may see and, on a won deal, "Create project" (with a template)
    for members who may create projects."""
    projects = registry.get("projects")
    if not visibility.can_view_module(actor=member, spec=projects):
        return {}
    found = (
        deal_projects(actor=member, deal_id=deal.pk)
        if extensions.may_have_rows(deal, "deal_projects", "projects")
        else []
    )
    rows = [(record_url(projects, p), str(p), p.status, p.progress) for p in found]
    can_create = bool(deal.stage.is_won) and visibility.can_create(actor=member, spec=projects)
    templates = list(ProjectTemplate.objects.values_list("pk", "name")) if can_create else []
    return {"rows": rows, "can_create": can_create, "templates": templates, "record": deal}


def related_projects_panel(record: Any, member: Member, request: HttpRequest) -> dict[str, Any]:
    """On an organisation or a contact: the projects for it the member may see (one query)."""
    projects = registry.get("projects")
    if not visibility.can_view_module(actor=member, spec=projects) or not extensions.may_have_rows(
        record, "related_projects", "projects"
    ):
        return {}  # the panel is shown only when it lists projects
    field = "organization" if registry.spec_for_record(record).key == "organizations" else "contact"
    found = related_projects(actor=member, field=field, record_id=record.pk)
    rows = [(record_url(projects, p), str(p), p.status, p.progress) for p in found]
    return {"rows": rows, "field": field, "record": record}


def deal_projects_linked(spec: ModuleSpec) -> dict[str, QuerySet[Any]]:
    """A deal's live projects, whoever may see them (`Panel.linked`)."""
    return {"projects": Project.objects.filter(deleted_at__isnull=True, deal=OuterRef("pk"))}


def related_projects_linked(spec: ModuleSpec) -> dict[str, QuerySet[Any]]:
    """The live projects of an organisation or a contact, whoever may see them (`Panel.linked`)."""
    field = "organization" if spec.key == "organizations" else "contact"
    return {"projects": Project.objects.filter(deleted_at__isnull=True, **{field: OuterRef("pk")})}
