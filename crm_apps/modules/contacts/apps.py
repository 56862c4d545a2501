from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContactsConfig(AppConfig):
    name = "crm_apps.modules.contacts"
    label = "contacts"
    verbose_name = _("Contacts")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm_apps.modules.contacts import module  # noqa: F401
