"""An order with lines: the smallest parent/child pair that exercises every child-table rule."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models

from crm_apps.engine.models import CrmRecord


class SampleOrder(CrmRecord):
    name = models.CharField("name", max_length=200)
    organization = models.ForeignKey(
        "organizations.Organization", verbose_name="organization", null=True, blank=True, on_delete=models.SET_NULL
    )
    # Maintained by the totals hook from the lines.
    subtotal = models.DecimalField("subtotal", max_digits=16, decimal_places=2, default=Decimal("0.00"))
    line_count = models.PositiveIntegerField("line count", default=0)

    class Meta(CrmRecord.Meta):
        verbose_name = "sample order"

    def __str__(self) -> str:
        return self.name


class SampleOrderLine(models.Model):
    order = models.ForeignKey(SampleOrder, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(default=0)
    description = models.CharField("description", max_length=200)
    # A reference inside a row: resolved through the visibility filter like the parent's references.
    organization = models.ForeignKey(
        "organizations.Organization",
        verbose_name="supplier",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    quantity = models.DecimalField(
        "quantity", max_digits=12, decimal_places=3, validators=[MinValueValidator(Decimal("0.001"))]
    )
    unit_price = models.DecimalField(
        "unit price", max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    amount = models.DecimalField("amount", max_digits=16, decimal_places=2, default=Decimal("0.00"))

    # Declared so type checking (under the real settings, where this app is not installed) knows it.
    objects: ClassVar[models.Manager[Any]] = models.Manager()

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.description

    def clean(self) -> None:
        if self.description.strip().lower() == "forbidden":
            raise ValidationError("This line may not be sold.")
        if self.quantity is not None and self.unit_price is not None:
            self.amount = (self.quantity * self.unit_price).quantize(Decimal("0.01"))
