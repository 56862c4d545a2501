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
        from django.db.models.signals import post_save

        from crm_apps.engine.models import CustomField

        post_save.connect(_custom_field_saved, sender=CustomField, dispatch_uid="portal.custom_field_archived")
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


def _custom_field_saved(sender: type, instance: object, **kwargs: object) -> None:
    """An archived custom field is taken out of the portal's published fields (PortalSettings)."""
    if getattr(instance, "archived_at", None) is None:
        return
    from crm_apps.portal.models import custom_field_archived

    custom_field_archived(module=str(instance.module), key=str(instance.key))  # type: ignore[attr-defined]
