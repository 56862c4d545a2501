from django.utils.translation import gettext_lazy as _

from crm_apps.access.api.scopes import route_scopes_register
from crm_apps.engine import extensions
from crm_apps.engine.registry import register
from crm_apps.engine.spec import Action, Block, Menu, ModuleHooks, ModuleSpec, Panel, Related, SettingsPage
from crm_apps.modules.projects.models import Project
from crm_apps.modules.projects.panels import (
    deal_projects_linked,
    deal_projects_panel,
    plan_panel,
    related_projects_linked,
    related_projects_panel,
)
from crm_apps.modules.projects.picklists import PROJECT_PRIORITY, PROJECT_STATUS, PROJECT_TYPE
from crm_apps.modules.projects.sample import projects_sample
from crm_apps.modules.projects.services import project_clean

SPEC = register(
    ModuleSpec(
        key="projects",
        vtiger_module="Project",
        vtiger_fields={
            "number": "project_no",
            "name": "projectname",
            "status": "projectstatus",
            "type": "projecttype",
            "priority": "projectpriority",
            "start_date": "startdate",
            "target_end_date": "targetenddate",
            "actual_end_date": "actualenddate",
            "budget": "targetbudget",
            "organization": "linktoaccountscontacts",
            "url": "projecturl",
            "description": "description",
        },
        model=Project,
        label=_("Project"),
        label_plural=_("Projects"),
        icon="folder-kanban",
        default_picklists={
            "project_status": PROJECT_STATUS,
            "project_type": PROJECT_TYPE,
            "project_priority": PROJECT_PRIORITY,
        },
        example={"name": "Globex rollout", "status": "Initiated", "start_date": "2027-01-04"},
        number_prefix="PROJ",
        title_fields=("name",),
        blocks=(
            Block(
                "main",
                _("Project"),
                ("name", "status", "type", "priority", "organization", "contact", "deal", "budget", "url"),
            ),
            Block("dates", _("Dates and progress"), ("start_date", "target_end_date", "actual_end_date", "progress")),
            Block("description", _("Description"), ("description",)),
        ),
        list_columns=("name", "organization", "status", "target_end_date", "progress", "owner"),
        search_fields=("name",),
        filter_fields=("status", "type", "priority", "organization", "contact", "deal", "target_end_date"),
        picklists={"status": "project_status", "type": "project_type", "priority": "project_priority"},
        related=(
            Related("project-tasks", via="project"),
            Related("project-milestones", via="project"),
        ),
        kanban_field="status",
        duplicate_rules=(("name", "organization"),),
        readonly_fields=("progress",),
        hooks=ModuleHooks(clean=project_clean),  # type: ignore[arg-type]
        sharing_parent="organization",
        menu=Menu(group="projects", position=10),
        urls="crm_apps.modules.projects.urls",
        api_urls="crm_apps.modules.projects.api_urls",
        record_actions=(
            Action(key="gantt", label=_("Gantt chart"), url_name="projects:gantt", requires="view", primary=True),
        ),
        list_actions=(Action(key="workload", label=_("Workload"), url_name="projects:workload", requires="view"),),
        panels=(Panel(key="plan", template="projects/_plan_panel.html", context=plan_panel, slot="top"),),
        settings_pages=(
            SettingsPage(
                key="templates",
                label=_("Task templates"),
                url_name="projects:templates",
                description=_("Named lists of tasks a project can start with"),
            ),
        ),
        sample_data=projects_sample,
        sample_data_after=("organizations", "contacts", "deals"),
    )
)

# A deal's page lists its projects and offers "Create project" (the deals package stays untouched).
extensions.record_panel_add(
    Panel(
        key="deal_projects",
        template="projects/_deal_projects_panel.html",
        context=deal_projects_panel,
        slot="main",
        linked=deal_projects_linked,
    ),
    applies=lambda spec: spec.key == "deals",
)

# Organisations and contacts list their projects (vtiger's "Projects" related list).
extensions.record_panel_add(
    Panel(
        key="related_projects",
        template="projects/_related_projects_panel.html",
        context=related_projects_panel,
        linked=related_projects_linked,
    ),
    applies=lambda spec: spec.key in ("organizations", "contacts"),
)

route_scopes_register("api-projects-gantt", read=["projects:read", "project-tasks:read", "project-milestones:read"])
route_scopes_register("api-projects-from-deal", write=["projects:write", "project-tasks:write"])
route_scopes_register("api-project-templates", read=["projects:read"], write=["projects:write"])
route_scopes_register("api-projects-workload", read=["project-tasks:read"])
