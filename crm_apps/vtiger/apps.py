from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VtigerConfig(AppConfig):
    name = "crm_apps.vtiger"
    label = "vtiger"
    verbose_name = _("vtiger-compatible API")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm_apps.access.me import me_field_add
        from crm_apps.vtiger.services import me_access_key

        me_field_add("access_key", me_access_key)
