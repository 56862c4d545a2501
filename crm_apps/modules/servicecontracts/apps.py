from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServiceContractsConfig(AppConfig):
    name = "crm_apps.modules.servicecontracts"
    label = "servicecontracts"
    verbose_name = _("Service contracts")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm_apps.modules.servicecontracts import module  # noqa: F401
