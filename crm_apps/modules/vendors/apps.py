from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VendorsConfig(AppConfig):
    name = "crm_apps.modules.vendors"
    label = "vendors"
    verbose_name = _("Vendors")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm_apps.modules.vendors import module  # noqa: F401
