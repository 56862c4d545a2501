from __future__ import annotations

from decimal import Decimal

from django.contrib.postgres.indexes import GinIndex
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm_apps.engine.models import CrmRecord
from crm_apps.inventory.fields import MoneyField, money
from crm_apps.inventory.models import DocumentTax, InventoryDocument, InventoryLine
from crm_apps.modules.common import text_field


class PaymentStatus(models.TextChoices):
    UNPAID = "unpaid", _("Unpaid")
    PARTIALLY_PAID = "partially_paid", _("Partially paid")
    PAID = "paid", _("Paid")
    OVERDUE = "overdue", _("Overdue")


class Invoice(InventoryDocument):
    invoice_date = models.DateField(_("invoice date"), default=timezone.localdate)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    sales_order = models.ForeignKey(
        "salesorders.SalesOrder",
        verbose_name=_("sales order"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invoices",
    )
    customer_po = text_field(_("customer PO number"), 100)
    received = money(_("received"))
    balance = money(_("balance"))
    payment_status = models.CharField(
        _("payment status"), max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.UNPAID
    )

    class Meta(CrmRecord.Meta):
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        indexes = [
            *CrmRecord.Meta.indexes,
            GinIndex(fields=["subject"], name="invoice_subject_trgm", opclasses=["gin_trgm_ops"]),
            models.Index(fields=["subject", "id"], name="invoice_subject"),
            models.Index(fields=["organization", "-created_at"], name="invoice_org_recent"),
            models.Index(fields=["sales_order", "-created_at"], name="invoice_order_recent"),
            models.Index(
                fields=["due_date"],
                name="invoice_open_due",
                # An OR of equalities, not `__in`: PostgreSQL prints `IN (...)` back in a form that re-parses
                # differently, and the pool's schema clone must reproduce every index definition exactly.
                condition=models.Q(deleted_at__isnull=True)
                & (models.Q(payment_status="unpaid") | models.Q(payment_status="partially_paid")),
            ),
        ]


class InvoiceLine(InventoryLine):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")

    class Meta(InventoryLine.Meta):
        indexes = [models.Index(fields=["invoice", "position"], name="invoiceline_invoice")]


class InvoiceTax(DocumentTax):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="taxes")

    class Meta(DocumentTax.Meta):
        indexes = [models.Index(fields=["invoice", "position"], name="invoicetax_invoice")]


class Payment(models.Model):
    """A payment received on an invoice; the invoice's received, balance and payment status follow."""

    class Method(models.TextChoices):
        BANK_TRANSFER = "bank_transfer", _("Bank transfer")
        CARD = "card", _("Card")
        CASH = "cash", _("Cash")
        CHEQUE = "cheque", _("Cheque")
        OTHER = "other", _("Other")

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="payments")
    paid_on = models.DateField(_("date"), default=timezone.localdate)
    amount = MoneyField(_("amount"), validators=[MinValueValidator(Decimal("0.001"))])
    method = models.CharField(_("method"), max_length=20, choices=Method.choices, default=Method.BANK_TRANSFER)
    reference = models.CharField(_("reference"), max_length=200, blank=True)
    created_by = models.ForeignKey("access.Member", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["paid_on", "id"]
        indexes = [models.Index(fields=["invoice", "paid_on"], name="payment_invoice")]

    def __str__(self) -> str:
        return f"{self.amount} {self.paid_on}"


class RecurringInvoicePeriod(models.Model):
    """One row per (sales order, period) invoiced: the unique key that makes recurring generation
    exactly-once whatever the number of schedulers or the periods missed while one was down."""

    sales_order = models.ForeignKey("salesorders.SalesOrder", on_delete=models.CASCADE, related_name="+")
    period_start = models.DateField()
    invoice = models.ForeignKey(Invoice, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sales_order", "period_start"], name="recurring_one_invoice_per_period")
        ]

    def __str__(self) -> str:
        return f"{self.sales_order_id} {self.period_start}"
