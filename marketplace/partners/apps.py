from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PartnersConfig(AppConfig):
    name = "marketplace.partners"
    label = "partners"
    verbose_name = _("Partners")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from billing.events import register_connect, register_kind
        from marketplace.partners import connect, listing

        register_kind(listing.KIND, listing.HANDLERS)
        register_connect(connect.HANDLERS)
