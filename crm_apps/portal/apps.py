from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "crm_apps.portal"
    label = "portal"
    verbose_name = _("Customer portal")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm_apps.engine import extensions
        from crm_apps.engine.spec import Panel
        from crm_apps.portal import notify, panels

        notify.kind_install()
        # "Portal access" on each contact's page (status, give access, send again, disable).
        extensions.record_panel_add(
            Panel(
                key="portal_access",
                template="portal/_contact_panel.html",
                context=panels.contact_access_panel,
                slot="side",
            ),
            applies=panels.applies,
        )
