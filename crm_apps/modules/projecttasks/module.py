from django.utils.translation import gettext_lazy as _

from crm_apps.access.api.scopes import route_scopes_register
from crm_apps.engine import events
from crm_apps.engine.registry import register
from crm_apps.engine.spec import Block, Menu, ModuleHooks, ModuleSpec, Panel
from crm_apps.modules.projects.picklists import PROJECT_PRIORITY, PROJECT_TYPE, TASK_STATUS
from crm_apps.modules.projects.sample import tasks_sample
from crm_apps.modules.projecttasks.board import task_board
from crm_apps.modules.projecttasks.models import ProjectTask
from crm_apps.modules.projecttasks.panels import dependencies_panel
from crm_apps.modules.projecttasks.services import task_after_save, task_clean, tasks_deleted

SPEC = register(
    ModuleSpec(
        key="project-tasks",
        vtiger_module="ProjectTask",
        vtiger_fields={
            "number": "projecttask_no",
            "name": "projecttaskname",
            "project": "projectid",
            "status": "projecttaskstatus",
            "priority": "projecttaskpriority",
            "type": "projecttasktype",
            "start_date": "startdate",
            "end_date": "enddate",
            "hours_planned": "projecttaskhours",
            "description": "description",
        },
        model=ProjectTask,
        label=_("Project task"),
        label_plural=_("Project tasks"),
        icon="list-checks",
        default_picklists={
            "project_task_status": TASK_STATUS,
            "project_task_type": PROJECT_TYPE,
            "project_task_priority": PROJECT_PRIORITY,
        },
        example={"name": "Kick-off workshop", "status": "Not started", "start_date": "2027-01-04"},
        number_prefix="PT",
        title_fields=("name",),
        blocks=(
            Block("main", _("Project task"), ("name", "project", "status", "priority", "type", "progress")),
            Block(
                "plan",
                _("Plan"),
                ("start_date", "end_date", "hours_planned", "hours_worked", "depends_on"),
            ),
            Block("description", _("Description"), ("description",)),
        ),
        list_columns=("name", "project", "status", "start_date", "end_date", "owner"),
        search_fields=("name",),
        filter_fields=("project", "status", "priority", "type", "start_date", "end_date"),
        picklists={"status": "project_task_status", "type": "project_task_type", "priority": "project_task_priority"},
        kanban_field="status",
        hooks=ModuleHooks(clean=task_clean, after_save=task_after_save),  # type: ignore[arg-type]
        sharing_parent="project",
        sharing_follows_parent=True,
        menu=Menu(group="projects", position=20),
        api_urls="crm_apps.modules.projecttasks.api_urls",
        urls="crm_apps.modules.projecttasks.urls",
        board_columns=task_board,
        sample_data=tasks_sample,
        sample_data_after=("projects",),
        panels=(
            Panel(key="dependencies", template="projecttasks/_dependencies_panel.html", context=dependencies_panel),
        ),
    )
)

events.listener_add(tasks_deleted)

route_scopes_register("api-project-tasks-move", write=["project-tasks:write"])
route_scopes_register("api-project-task-moves-undo", write=["project-tasks:write"])
