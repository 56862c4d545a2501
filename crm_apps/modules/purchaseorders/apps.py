from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PurchaseOrdersConfig(AppConfig):
    name = "crm_apps.modules.purchaseorders"
    label = "purchaseorders"
    verbose_name = _("Purchase orders")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm_apps.modules.purchaseorders import module  # noqa: F401
