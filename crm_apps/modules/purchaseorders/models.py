from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm_apps.engine.models import CrmRecord
from crm_apps.inventory.models import DocumentTax, InventoryDocument, InventoryLine
from crm_apps.modules.common import text_field


class PurchaseOrder(InventoryDocument):
    vendor = models.ForeignKey(
        "vendors.Vendor",
        verbose_name=_("vendor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="purchase_orders",
    )
    sales_order = models.ForeignKey(
        "salesorders.SalesOrder",
        verbose_name=_("sales order"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="purchase_orders",
    )
    requisition_number = text_field(_("requisition number"), 100)
    tracking_number = text_field(_("tracking number"), 100)
    due_date = models.DateField(_("due date"), null=True, blank=True)

    class Meta(CrmRecord.Meta):
        verbose_name = _("purchase order")
        verbose_name_plural = _("purchase orders")
        indexes = [
            *CrmRecord.Meta.indexes,
            GinIndex(fields=["subject"], name="purchaseorder_subject_trgm", opclasses=["gin_trgm_ops"]),
            models.Index(fields=["subject", "id"], name="purchaseorder_subject"),
            models.Index(fields=["vendor", "-created_at"], name="purchaseorder_vendor_recent"),
        ]


class PurchaseOrderLine(InventoryLine):
    purchase_order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="lines")

    class Meta(InventoryLine.Meta):
        indexes = [models.Index(fields=["purchase_order", "position"], name="purchaseorderline_order")]


class PurchaseOrderTax(DocumentTax):
    purchase_order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="taxes")

    class Meta(DocumentTax.Meta):
        indexes = [models.Index(fields=["purchase_order", "position"], name="purchaseordertax_order")]
