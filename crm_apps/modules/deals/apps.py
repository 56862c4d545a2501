from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DealsConfig(AppConfig):
    name = "crm_apps.modules.deals"
    label = "deals"
    verbose_name = _("Deals")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm_apps.modules.deals import module  # noqa: F401
