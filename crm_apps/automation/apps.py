from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AutomationConfig(AppConfig):
    name = "crm_apps.automation"
    label = "automation"
    verbose_name = _("Automation")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm_apps.automation import listeners
        from crm_apps.automation.panels import automation_panel, panel_applies
        from crm_apps.engine import extensions
        from crm_apps.engine.spec import Panel

        listeners.connect()
        # The record page of a module with approval processes or manual workflows: a pending approval and
        # the "run workflow" buttons (decided from the per-tenant memo: no query).
        extensions.record_panel_add(
            Panel(key="automation", template="automation/_panel.html", context=automation_panel, slot="top"),
            applies=panel_applies,
        )
