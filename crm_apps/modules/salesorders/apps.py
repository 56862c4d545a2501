from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesOrdersConfig(AppConfig):
    name = "crm_apps.modules.salesorders"
    label = "salesorders"
    verbose_name = _("Sales orders")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm_apps.modules.salesorders import module  # noqa: F401
