from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssetsConfig(AppConfig):
    name = "crm_apps.modules.assets"
    label = "assets"
    verbose_name = _("Assets")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm_apps.modules.assets import module  # noqa: F401
