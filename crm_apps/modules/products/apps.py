from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProductsConfig(AppConfig):
    name = "crm_apps.modules.products"
    label = "products"
    verbose_name = _("Products")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm_apps.modules.products import module  # noqa: F401
