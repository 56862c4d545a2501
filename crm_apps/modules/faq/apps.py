from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FaqConfig(AppConfig):
    name = "crm_apps.modules.faq"
    label = "faq"
    verbose_name = _("FAQ")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm_apps.modules.faq import module  # noqa: F401
