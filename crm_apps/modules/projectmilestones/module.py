from django.utils.translation import gettext_lazy as _

from crm_apps.engine.registry import register
from crm_apps.engine.spec import Block, Menu, ModuleSpec
from crm_apps.modules.projectmilestones.models import ProjectMilestone
from crm_apps.modules.projects.picklists import PROJECT_TYPE
from crm_apps.modules.projects.sample import milestones_sample

SPEC = register(
    ModuleSpec(
        key="project-milestones",
        vtiger_module="ProjectMilestone",
        vtiger_fields={
            "number": "projectmilestone_no",
            "name": "projectmilestonename",
            "project": "projectid",
            "date": "projectmilestonedate",
            "type": "projectmilestonetype",
            "description": "description",
        },
        model=ProjectMilestone,
        label=_("Project milestone"),
        label_plural=_("Project milestones"),
        icon="flag",
        default_picklists={"project_milestone_type": PROJECT_TYPE},
        example={"name": "Go-live", "date": "2027-03-01"},
        number_prefix="PM",
        title_fields=("name",),
        blocks=(
            Block("main", _("Project milestone"), ("name", "project", "date", "reached", "type")),
            Block("description", _("Description"), ("description",)),
        ),
        list_columns=("name", "project", "date", "reached", "owner"),
        search_fields=("name",),
        filter_fields=("project", "date", "reached", "type"),
        picklists={"type": "project_milestone_type"},
        sharing_parent="project",
        sharing_follows_parent=True,
        menu=Menu(group="projects", position=30),
        sample_data=milestones_sample,
        sample_data_after=("projects",),
    )
)
