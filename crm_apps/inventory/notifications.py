"""The notification kind of the inventory: a product fell to its reorder level."""

from django.utils.translation import gettext_lazy as _

from crm_apps.notifications.kinds import EMAIL, Kind, kind_register

LOW_STOCK = "low_stock"

kind_register(
    Kind(
        key=LOW_STOCK,
        label=_("Low stock"),
        title=_("%(record)s is at or below its reorder level (%(stock)s in stock)"),
        default=EMAIL,
        description=_("An invoice or an adjustment takes a product you own or handle to its reorder level."),
    )
)
