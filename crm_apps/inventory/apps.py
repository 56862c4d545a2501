from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InventoryConfig(AppConfig):
    """The shared core of the inventory documents (quotes, sales/purchase orders, invoices): line-item
    base models, the totals calculator, PDF rendering, the stock ledger and document settings."""

    name = "crm_apps.inventory"
    label = "inventory"
    verbose_name = _("Inventory documents")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm_apps.engine import events
        from crm_apps.inventory import notifications  # noqa: F401  (registers the low-stock kind)
        from crm_apps.inventory.stock import stock_change_listener, stock_delete_listener

        events.change_listener_add(stock_change_listener)
        events.listener_add(stock_delete_listener)
