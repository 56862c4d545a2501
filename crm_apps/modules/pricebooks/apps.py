from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PriceBooksConfig(AppConfig):
    name = "crm_apps.modules.pricebooks"
    label = "pricebooks"
    verbose_name = _("Price books")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm_apps.modules.pricebooks import module  # noqa: F401
