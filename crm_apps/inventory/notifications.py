"""The notification kinds of the inventory: a product fell to its reorder level; a PDF could not be sent."""

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

SEND_FAILED = "document_send_failed"

kind_register(
    Kind(
        key=SEND_FAILED,
        label=_("Document not sent"),
        title=_("%(record)s could not be sent to %(to)s: %(error)s"),
        default=EMAIL,
        description=_("Emailing a quote, order or invoice PDF failed after you pressed Send."),
    )
)
