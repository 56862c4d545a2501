from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketplaceUiConfig(AppConfig):
    """Inside each tenant schema: what an installed app (manifest schema 2) brings beyond the declarative
    kinds: its secret, UI extensions as sandboxed frames with a signed context, its workflow actions, and
    the document/email templates and reports it installed (ADR 0046)."""

    name = "marketplace.ui"
    label = "marketplace_ui"
    verbose_name = _("App extensions")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm_apps.automation import action_types
        from crm_apps.engine import extensions
        from crm_apps.engine.spec import Panel
        from marketplace.ui import panels

        # One panel on every module's record page; it draws the frames of the installed apps that
        # declared a panel for that module (nothing, and one memoised query, when none did).
        extensions.record_panel_add(
            Panel(key="app_panels", template="marketplace_ui/_panels.html", context=panels.record_panels, slot="side"),
            applies=panels.panels_apply,
        )
        action_types.provider_add(panels.workflow_actions_for)
        from marketplace.ui.triggers import app_triggers_for

        action_types.trigger_provider_add(app_triggers_for)
        # Dashboard widgets, record/list actions (settings pages are linked from the Extensions pages).
        from crm_apps.reports.widgets import widget_source_add
        from marketplace.ui import surfaces

        widget_source_add(surfaces.WIDGETS)
        extensions.record_action_provider_add(surfaces.record_action_buttons)
        extensions.selection_action_provider_add(surfaces.selection_action_buttons)
        # Apps that declare `telephony`: their signed call events and click-to-call pages.
        from crm_apps.modules.calls.providers import provider_source_add
        from marketplace.ui.telephony import app_telephony_providers

        provider_source_add(app_telephony_providers)
