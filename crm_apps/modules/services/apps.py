from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServicesConfig(AppConfig):
    name = "crm_apps.modules.services"
    label = "services"
    verbose_name = _("Services")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm_apps.modules.services import module  # noqa: F401
