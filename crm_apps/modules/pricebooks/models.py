from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from django.contrib.postgres.indexes import GinIndex
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm_apps.engine.models import CrmRecord
from crm_apps.finance.fields import currency_field


class PriceBook(CrmRecord):
    name = models.CharField(_("price book name"), max_length=200)
    currency = currency_field(_("currency"))
    active = models.BooleanField(_("active"), default=True)
    description = models.TextField(_("description"), blank=True, max_length=20_000)

    class Meta(CrmRecord.Meta):
        verbose_name = _("price book")
        verbose_name_plural = _("price books")
        indexes = [
            *CrmRecord.Meta.indexes,
            GinIndex(fields=["name"], name="pricebook_name_trgm", opclasses=["gin_trgm_ops"]),
            models.Index(fields=["name", "id"], name="pricebook_name"),
        ]

    def __str__(self) -> str:
        return self.name


class PriceBookEntry(models.Model):
    """The list price of one product or one service in a price book (vtiger's pricebookproductrel)."""

    price_book = models.ForeignKey(PriceBook, on_delete=models.CASCADE, related_name="prices")
    position = models.PositiveIntegerField(default=0)
    product = models.ForeignKey(
        "products.Product",
        verbose_name=_("product"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="price_book_entries",
    )
    service = models.ForeignKey(
        "services.Service",
        verbose_name=_("service"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="price_book_entries",
    )
    list_price = models.DecimalField(
        _("list price"), max_digits=16, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )

    objects: ClassVar[models.Manager[Any]] = models.Manager()

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("list price")
        verbose_name_plural = _("list prices")
        constraints = [
            models.CheckConstraint(
                condition=(Q(product__isnull=False) & Q(service__isnull=True))
                | (Q(product__isnull=True) & Q(service__isnull=False)),
                name="pricebook_entry_one_item",
            ),
            models.UniqueConstraint(
                fields=["price_book", "product"], condition=Q(product__isnull=False), name="pricebook_product_unique"
            ),
            models.UniqueConstraint(
                fields=["price_book", "service"], condition=Q(service__isnull=False), name="pricebook_service_unique"
            ),
            models.CheckConstraint(condition=Q(list_price__gte=0), name="pricebook_list_price_not_negative"),
        ]
        indexes = [
            models.Index(fields=["product"], name="pricebook_entry_product"),
            models.Index(fields=["service"], name="pricebook_entry_service"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id or self.service_id}: {self.list_price}"

    def clean(self) -> None:
        if (self.product_id is None) == (self.service_id is None):
            raise ValidationError(_("Choose a product or a service (one of them)."))
