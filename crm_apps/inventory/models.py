"""The inventory core: abstract bases of the four documents and their rows, and the tenant tables the
documents share (stock ledger, PDF templates, per-module settings).

A document module (quotes, salesorders, purchaseorders, invoices) declares
`class Quote(InventoryDocument)`, `class QuoteLine(InventoryLine)` and `class QuoteTax(DocumentTax)`
with the foreign key to its parent, and its spec from `crm_apps.inventory.documents.document_spec`."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm_apps.engine.models import CrmRecord
from crm_apps.inventory.fields import MoneyField, money, percent
from crm_apps.modules.common import picklist_field, text_field
from saas.fields import ModuleKeyField

INDIVIDUAL = "individual"
GROUP = "group"
TAX_MODES = ((INDIVIDUAL, _("Individual (per line)")), (GROUP, _("Group (on the total)")))

ADDRESS_PARTS = ("street", "po_box", "city", "state", "postal_code", "country")


class InventoryDocument(CrmRecord):
    """Header, addresses, terms and totals shared by quotes, sales orders, purchase orders and invoices.
    `subtotal`, `discount_total`, `tax_total`, `grand_total` and `exchange_rate` are computed by the
    server (crm_apps.inventory.documents.document_totals_apply), never taken from a client."""

    subject = models.CharField(_("subject"), max_length=200)
    status = picklist_field(_("status"))
    organization = models.ForeignKey(
        "organizations.Organization",
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="%(class)s_documents",
    )
    contact = models.ForeignKey(
        "contacts.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="%(class)s_documents",
    )
    deal = models.ForeignKey(
        "deals.Deal",
        verbose_name=_("deal"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="%(class)s_documents",
    )
    carrier = picklist_field(_("carrier"))
    currency = models.CharField(
        _("currency"),
        max_length=3,
        blank=True,
        validators=[RegexValidator(r"^[A-Z]{3}$", _("Use a 3-letter ISO code."))],
    )
    # 1 unit of the document's currency = exchange_rate units of the base currency, when it was created.
    exchange_rate = models.DecimalField(_("exchange rate"), max_digits=20, decimal_places=10, default=1)
    price_book = models.ForeignKey(
        "pricebooks.PriceBook",
        verbose_name=_("price book"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    tax_mode = models.CharField(_("tax mode"), max_length=10, choices=TAX_MODES, default=INDIVIDUAL)
    discount_percent = percent(_("discount (%)"), null=True, blank=True)
    discount_amount = MoneyField(
        _("discount amount"), null=True, blank=True, validators=[MinValueValidator(Decimal(0))]
    )
    shipping = money(_("shipping and handling"), validators=[MinValueValidator(Decimal(0))])
    shipping_tax_percent = percent(_("shipping tax (%)"), default=0)
    adjustment = money(_("adjustment"))
    subtotal = money(_("subtotal"))
    discount_total = money(_("discount total"))
    tax_total = money(_("tax total"))
    grand_total = money(_("grand total"))
    terms_conditions = models.TextField(_("terms and conditions"), blank=True, max_length=20_000)
    description = models.TextField(_("description"), blank=True, max_length=20_000)

    billing_street = text_field(_("billing street"), 250)
    billing_po_box = text_field(_("billing PO box"), 30)
    billing_city = text_field(_("billing city"))
    billing_state = text_field(_("billing state"))
    billing_postal_code = text_field(_("billing postal code"), 30)
    billing_country = text_field(_("billing country"))
    shipping_street = text_field(_("shipping street"), 250)
    shipping_po_box = text_field(_("shipping PO box"), 30)
    shipping_city = text_field(_("shipping city"))
    shipping_state = text_field(_("shipping state"))
    shipping_postal_code = text_field(_("shipping postal code"), 30)
    shipping_country = text_field(_("shipping country"))

    class Meta(CrmRecord.Meta):
        abstract = True

    def __str__(self) -> str:
        return f"{self.number} {self.subject}".strip() if self.number else self.subject

    def clean(self) -> None:
        super().clean()
        if self.discount_percent is not None and self.discount_amount is not None:
            raise ValidationError(
                {"discount_amount": [_("Give the overall discount as a percentage or an amount, not both.")]}
            )


def _parse_taxes(value: Any) -> list[dict[str, Any]]:
    """A row's `taxes` as sent ([{"tax": id, "percent": "20"}]), checked for shape; amounts are computed."""
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        raise ValidationError(_("Send the taxes as a list of {tax, percent}."))
    items = []
    seen = set()
    for item in value:
        if not isinstance(item, dict):
            raise ValidationError(_("Send the taxes as a list of {tax, percent}."))
        try:
            tax_id = int(str(item.get("tax")))
        except ValueError:
            raise ValidationError(_("Choose an existing tax.")) from None
        if tax_id in seen:
            raise ValidationError(_("A tax is applied once per line."))
        seen.add(tax_id)
        raw = item.get("percent")
        try:
            rate = None if raw in (None, "") else Decimal(str(raw))
        except InvalidOperation:
            raise ValidationError(_("Enter a percentage between 0 and 100.")) from None
        if rate is not None and (not rate.is_finite() or rate < 0 or rate > 100 or rate.as_tuple().exponent < -3):  # type: ignore[operator]
            raise ValidationError(_("Enter a percentage between 0 and 100 (at most 3 decimals)."))
        items.append({"tax": tax_id, "percent": None if rate is None else str(rate)})
    if len(items) > 10:
        raise ValidationError(_("At most 10 taxes per line."))
    return items


class InventoryLine(models.Model):
    """A line item: a product, a service or free text; quantity x list price - discount, and taxes.
    `net_amount`, `tax_amount` and the amounts in `taxes` are computed with the document's totals."""

    position = models.PositiveIntegerField(default=0)
    product = models.ForeignKey(
        "products.Product",
        verbose_name=_("product"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    service = models.ForeignKey(
        "services.Service",
        verbose_name=_("service"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    description = models.TextField(_("description"), blank=True, max_length=5000)
    quantity = models.DecimalField(
        _("quantity"),
        max_digits=14,
        decimal_places=3,
        default=Decimal(1),
        validators=[MinValueValidator(Decimal("0.001"))],
    )
    # Empty: the price book's list price in the document's currency, or the item's unit price.
    list_price = MoneyField(_("list price"), null=True, blank=True, validators=[MinValueValidator(Decimal(0))])
    discount_percent = percent(_("discount (%)"), null=True, blank=True)
    discount_amount = MoneyField(_("discount"), null=True, blank=True, validators=[MinValueValidator(Decimal(0))])
    # [{"tax": id, "percent": "20", "amount": "2.00"}]; None: the item's tax classes (individual mode).
    taxes = models.JSONField(_("taxes"), null=True, blank=True)
    net_amount = money(_("net"), editable=False)
    tax_amount = money(_("tax"), editable=False)

    class Meta:
        abstract = True
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.description or str(self.product or self.service or "")

    def clean(self) -> None:
        if self.product_id is not None and self.service_id is not None:
            raise ValidationError({"service": [_("A line is a product or a service, not both.")]})
        if self.product_id is None and self.service_id is None and not (self.description or "").strip():
            raise ValidationError({"description": [_("Describe a line without a product or service.")]})
        if self.product_id is None and self.service_id is None and self.list_price is None:
            raise ValidationError({"list_price": [_("Give the price of a line without a product or service.")]})
        if self.discount_percent is not None and self.discount_amount is not None:
            raise ValidationError({"discount_amount": [_("Give the discount as a percentage or an amount, not both.")]})
        if self.taxes is not None:
            try:
                self.taxes = _parse_taxes(self.taxes)
            except ValidationError as exc:
                raise ValidationError({"taxes": exc.messages}) from exc


class DocumentTax(models.Model):
    """A tax on the net total of a document in group mode (the document's `taxes` table): one of the
    workspace's taxes, or a one-off tax named on the document."""

    position = models.PositiveIntegerField(default=0)
    tax = models.ForeignKey(
        "finance.Tax", verbose_name=_("tax"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(_("name"), max_length=100, blank=True)
    # Empty: the tax's current percentage.
    percent = percent(_("percentage"), null=True, blank=True)
    amount = money(_("amount"), editable=False)

    class Meta:
        abstract = True
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return str(self.tax) if self.tax_id else self.name

    def clean(self) -> None:
        if self.tax_id is None and not self.name.strip():
            raise ValidationError({"tax": [_("Choose a tax or name one.")]})
        if self.tax_id is None and self.percent is None:
            raise ValidationError({"percent": [_("Give the percentage of a tax named on the document.")]})


class StockMovement(models.Model):
    """The stock ledger: every change of a product's stock on hand, with the document that caused it.
    A product's stock on hand moves by the same set-based UPDATE that writes these rows
    (crm_apps.inventory.stock), so the ledger sums to it."""

    class Kind(models.TextChoices):
        OUT = "out", _("Shipped (invoice)")
        IN = "in", _("Received (purchase order)")
        REVERSAL = "reversal", _("Reversal (cancelled)")
        ADJUSTMENT = "adjustment", _("Adjustment")

    product = models.ForeignKey("products.Product", on_delete=models.CASCADE, related_name="+")
    quantity = models.DecimalField(_("quantity"), max_digits=14, decimal_places=3)  # + in, - out
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    module = ModuleKeyField()
    record_id = models.UUIDField()
    document_number = models.CharField(_("document"), max_length=40, blank=True)
    actor = models.ForeignKey("access.Member", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["product", "-created_at"], name="stockmove_product"),
            models.Index(fields=["module", "record_id"], name="stockmove_record"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} {self.document_number}"


class DocumentStockState(models.Model):
    """Whether a document's lines are currently applied to stock (out for an invoice, in for a purchase
    order): the one row per document that makes applying and reversing idempotent."""

    module = ModuleKeyField()
    record_id = models.UUIDField()
    applied = models.BooleanField(default=False)
    # product id -> quantity applied (what a reversal puts back, whatever the lines became since).
    quantities = models.JSONField(default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["module", "record_id"], name="stockstate_one_per_document")]

    def __str__(self) -> str:
        return f"{self.module}:{self.record_id} {'applied' if self.applied else 'not applied'}"


class DocumentSettings(models.Model):
    """Per document module: default terms and conditions, and (invoices) the status that ships stock."""

    module = ModuleKeyField(primary_key=True)
    terms_conditions = models.TextField(_("default terms and conditions"), blank=True, max_length=20_000)
    stock_status = models.CharField(_("status that takes stock out"), max_length=100, blank=True)

    def __str__(self) -> str:
        return self.module


class PdfTemplate(models.Model):
    """A tenant's HTML template of a document module's PDF in one language (crm_apps.inventory.pdf);
    without one the built-in default of the module and language is used."""

    module = ModuleKeyField()
    language = models.CharField(_("language"), max_length=10)
    html = models.TextField(_("template"), max_length=200_000)
    updated_by = models.ForeignKey("access.Member", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["module", "language"], name="pdftemplate_one_per_language")]

    def __str__(self) -> str:
        return f"{self.module} ({self.language})"
