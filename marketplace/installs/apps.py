from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InstallsConfig(AppConfig):
    """Inside each tenant schema: installed extensions, what they added, their webhooks and translations."""

    name = "marketplace.installs"
    label = "installs"
    verbose_name = _("Installed extensions")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm_apps.engine import events, metadata
        from marketplace.installs import selectors, webhooks

        events.listener_add(webhooks.record_event_queue)
        metadata.label_source_add(selectors.label_translations_for)
        metadata.name_source_add(selectors.name_translations_for)
