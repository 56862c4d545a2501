from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "crm_apps.notifications"
    label = "notifications"
    verbose_name = _("Notifications")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm_apps.engine import events
        from crm_apps.notifications import kinds, listeners  # noqa: F401  (the built-in kinds register)

        events.change_listener_add(listeners.record_changed)
