from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QuotesConfig(AppConfig):
    name = "crm_apps.modules.quotes"
    label = "quotes"
    verbose_name = _("Quotes")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm_apps.modules.quotes import module  # noqa: F401
