from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DavConfig(AppConfig):
    name = "crm_apps.dav"
    label = "dav"
    verbose_name = _("Calendar and contact sync")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm_apps.dav import collections
        from crm_apps.dav.carddav import ContactsBackend

        collections.collection_register(ContactsBackend())
        # The events and tasks calendars, once the calendar module is installed (calendar_module.py).
        from django.apps import apps

        if apps.is_installed("crm_apps.modules.calendar"):
            from crm_apps.dav import calendar_module

            calendar_module.register()
