from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "crm_apps.reports"
    label = "reports"
    verbose_name = _("Reports")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm_apps.engine import events
        from crm_apps.engine.extensions import AppLink, app_link_add
        from crm_apps.reports.cache import on_record_event

        # Cached widget results are keyed by a data version that every announced record write bumps.
        events.listener_add(on_record_event)

        app_link_add(AppLink("dashboards", _("Dashboards"), "dashboards:home", "layout-dashboard", position=10))
        app_link_add(AppLink("reports", _("Reports"), "reports:list", "chart-column", position=20))
