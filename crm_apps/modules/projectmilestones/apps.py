from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProjectMilestonesConfig(AppConfig):
    name = "crm_apps.modules.projectmilestones"
    label = "projectmilestones"
    verbose_name = _("Project milestones")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm_apps.modules.projectmilestones import module  # noqa: F401
