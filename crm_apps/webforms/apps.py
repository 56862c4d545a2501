from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebformsConfig(AppConfig):
    name = "crm_apps.webforms"
    label = "webforms"
    verbose_name = _("Web forms")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm_apps.webforms import notify

        notify.kind_install()
