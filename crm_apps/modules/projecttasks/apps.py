from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProjectTasksConfig(AppConfig):
    name = "crm_apps.modules.projecttasks"
    label = "projecttasks"
    verbose_name = _("Project tasks")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm_apps.modules.projecttasks import module  # noqa: F401
