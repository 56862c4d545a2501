from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from django.contrib.postgres.indexes import GinIndex
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm_apps.engine.models import CrmRecord
from crm_apps.finance.fields import currency_field, price_field, quantity_field
from crm_apps.finance.models import TaxRow
from crm_apps.modules.common import picklist_field, text_field


class Product(CrmRecord):
    name = models.CharField(_("product name"), max_length=200)
    code = text_field(_("product code"), 60)
    active = models.BooleanField(_("active"), default=True)
    category = picklist_field(_("category"))
    manufacturer = picklist_field(_("manufacturer"))
    vendor = models.ForeignKey(
        "vendors.Vendor",
        verbose_name=_("vendor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="products",
    )
    vendor_part_number = text_field(_("vendor part number"), 60)
    manufacturer_part_number = text_field(_("manufacturer part number"), 60)
    serial_number = text_field(_("serial number"), 60)
    website = models.URLField(_("website"), max_length=300, blank=True)
    gl_account = text_field(_("GL account"), 50)
    sales_start_date = models.DateField(_("sales start date"), null=True, blank=True)
    sales_end_date = models.DateField(_("sales end date"), null=True, blank=True)
    support_start_date = models.DateField(_("support start date"), null=True, blank=True)
    support_expiry_date = models.DateField(_("support expiry date"), null=True, blank=True)
    # Pricing
    unit_price = price_field(_("unit price"))
    currency = currency_field(_("currency"))
    commission_rate = models.DecimalField(
        _("commission rate (%)"),
        max_digits=6,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    # Stock
    usage_unit = picklist_field(_("usage unit"))
    qty_per_unit = quantity_field(_("quantity per unit"), default=None)
    # May go below 0 when more was invoiced than was in stock (the stock ledger shows why).
    qty_in_stock = quantity_field(_("quantity in stock"), not_negative=False)
    reorder_level = quantity_field(_("reorder level"))
    qty_in_demand = quantity_field(_("quantity in demand"))
    # Who is told when stock falls below the reorder level (the owner when empty).
    handler = models.ForeignKey(
        "access.Member",
        verbose_name=_("stock handler"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    description = models.TextField(_("description"), blank=True, max_length=20_000)

    class Meta(CrmRecord.Meta):
        verbose_name = _("product")
        verbose_name_plural = _("products")
        indexes = [
            *CrmRecord.Meta.indexes,
            GinIndex(fields=["name"], name="product_name_trgm", opclasses=["gin_trgm_ops"]),
            models.Index(fields=["name", "id"], name="product_name"),
            models.Index(fields=["code"], name="product_code"),
            models.Index(fields=["vendor", "-created_at"], name="product_vendor_recent"),
        ]
        constraints = [
            *CrmRecord.Meta.constraints,
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="product_unit_price_not_negative"),
            models.CheckConstraint(condition=Q(reorder_level__gte=0), name="product_reorder_level_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def below_reorder_level(self) -> bool:
        """Stock at or under the reorder level (a reorder level of 0 never flags)."""
        return bool(self.reorder_level) and self.qty_in_stock <= self.reorder_level


class ProductTax(TaxRow):
    """A tax class of a product: this tax applies to it (at `percent`)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="taxes")

    objects: ClassVar[models.Manager[Any]] = models.Manager()

    class Meta(TaxRow.Meta):
        constraints = [models.UniqueConstraint(fields=["product", "tax"], name="product_tax_unique")]


class ProductBundleItem(models.Model):
    """A product inside a bundle (vtiger's product bundles): `quantity` of `product` per bundle."""

    bundle = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="bundle_items")
    position = models.PositiveIntegerField(default=0)
    # RESTRICT: a product inside a bundle is not deleted for good on its own, but with its bundle it may be.
    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.RESTRICT, related_name="in_bundles"
    )
    quantity = models.DecimalField(
        _("quantity"),
        max_digits=14,
        decimal_places=3,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0.001"))],
    )

    objects: ClassVar[models.Manager[Any]] = models.Manager()

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["bundle", "product"], name="product_bundle_item_unique"),
            models.CheckConstraint(condition=~Q(bundle=models.F("product")), name="product_bundle_not_itself"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_id}"


class ProductImage(models.Model):
    """A picture of a product, in the tenant's storage under a generated name, served only by the
    permission-checked view (products:image)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    position = models.PositiveIntegerField(default=0)
    file_name = models.CharField(_("file name"), max_length=150)
    storage_name = models.CharField(max_length=200, unique=True)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField(default=0)
    uploaded_at = models.DateTimeField(default=timezone.now)
    uploaded_by = models.ForeignKey("access.Member", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    objects: ClassVar[models.Manager[Any]] = models.Manager()

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.file_name
