from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CallsConfig(AppConfig):
    name = "crm_apps.modules.calls"
    label = "calls"
    verbose_name = _("Calls")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm_apps.modules.calls import module  # noqa: F401
        from crm_apps.modules.calls.notify import missed_call_kind_register

        missed_call_kind_register()
