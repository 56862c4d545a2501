from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomModulesConfig(AppConfig):
    name = "crm_apps.custom_modules"
    label = "custom_modules"
    verbose_name = _("Custom modules")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm_apps.custom_modules import overlay
        from crm_apps.engine import registry

        registry.overlay_source_add(overlay.tenant_specs)
