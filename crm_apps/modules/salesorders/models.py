from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm_apps.engine.models import CrmRecord
from crm_apps.inventory.models import DocumentTax, InventoryDocument, InventoryLine
from crm_apps.modules.common import picklist_field, text_field


class Frequency(models.TextChoices):
    DAILY = "daily", _("Daily")
    WEEKLY = "weekly", _("Weekly")
    MONTHLY = "monthly", _("Monthly")
    QUARTERLY = "quarterly", _("Quarterly")
    YEARLY = "yearly", _("Yearly")


class SalesOrder(InventoryDocument):
    quote = models.ForeignKey(
        "quotes.Quote",
        verbose_name=_("quote"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sales_orders",
    )
    customer_po = text_field(_("customer PO number"), 100)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    # Recurring invoices (vtiger's recurring block): one invoice per period from start to end.
    recurring_enabled = models.BooleanField(_("recurring invoices"), default=False)
    recurring_frequency = models.CharField(_("frequency"), max_length=10, choices=Frequency.choices, blank=True)
    recurring_start = models.DateField(_("start period"), null=True, blank=True)
    recurring_end = models.DateField(_("end period"), null=True, blank=True)
    payment_terms_days = models.PositiveSmallIntegerField(
        _("payment terms (days)"), default=30, validators=[MaxValueValidator(365)]
    )
    recurring_invoice_status = picklist_field(_("invoice status"))
    last_recurring_date = models.DateField(_("last invoice period"), null=True, blank=True, editable=False)

    class Meta(CrmRecord.Meta):
        verbose_name = _("sales order")
        verbose_name_plural = _("sales orders")
        indexes = [
            *CrmRecord.Meta.indexes,
            GinIndex(fields=["subject"], name="salesorder_subject_trgm", opclasses=["gin_trgm_ops"]),
            models.Index(fields=["subject", "id"], name="salesorder_subject"),
            models.Index(fields=["organization", "-created_at"], name="salesorder_org_recent"),
            models.Index(
                fields=["recurring_start"],
                name="salesorder_recurring",
                condition=models.Q(recurring_enabled=True, deleted_at__isnull=True),
            ),
        ]

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        super().clean()
        if self.recurring_enabled:
            errors = {}
            if not self.recurring_frequency:
                errors["recurring_frequency"] = [_("Choose how often to invoice.")]
            if self.recurring_start is None:
                errors["recurring_start"] = [_("Choose the first period.")]
            if self.recurring_start and self.recurring_end and self.recurring_end < self.recurring_start:
                errors["recurring_end"] = [_("The end comes before the start.")]
            if errors:
                raise ValidationError(errors)


class SalesOrderLine(InventoryLine):
    sales_order = models.ForeignKey(SalesOrder, on_delete=models.CASCADE, related_name="lines")

    class Meta(InventoryLine.Meta):
        indexes = [models.Index(fields=["sales_order", "position"], name="salesorderline_order")]


class SalesOrderTax(DocumentTax):
    sales_order = models.ForeignKey(SalesOrder, on_delete=models.CASCADE, related_name="taxes")

    class Meta(DocumentTax.Meta):
        indexes = [models.Index(fields=["sales_order", "position"], name="salesordertax_order")]
