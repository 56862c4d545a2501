from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EngineConfig(AppConfig):
    name = "crm_apps.engine"
    label = "engine"
    verbose_name = _("CRM engine")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm_apps.engine import checks  # noqa: F401  (registers the system check)
