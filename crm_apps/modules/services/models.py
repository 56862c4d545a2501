from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from django.contrib.postgres.indexes import GinIndex
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm_apps.engine.models import CrmRecord
from crm_apps.finance.fields import currency_field, price_field, quantity_field
from crm_apps.finance.models import TaxRow
from crm_apps.modules.common import picklist_field, text_field


class Service(CrmRecord):
    name = models.CharField(_("service name"), max_length=200)
    code = text_field(_("service code"), 60)
    active = models.BooleanField(_("active"), default=True)
    category = picklist_field(_("category"))
    usage_unit = picklist_field(_("usage unit"))
    qty_per_unit = quantity_field(_("number of units"), default=None)
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
    website = models.URLField(_("website"), max_length=300, blank=True)
    sales_start_date = models.DateField(_("sales start date"), null=True, blank=True)
    sales_end_date = models.DateField(_("sales end date"), null=True, blank=True)
    support_start_date = models.DateField(_("support start date"), null=True, blank=True)
    support_expiry_date = models.DateField(_("support expiry date"), null=True, blank=True)
    description = models.TextField(_("description"), blank=True, max_length=20_000)

    class Meta(CrmRecord.Meta):
        verbose_name = _("service")
        verbose_name_plural = _("services")
        indexes = [
            *CrmRecord.Meta.indexes,
            GinIndex(fields=["name"], name="service_name_trgm", opclasses=["gin_trgm_ops"]),
            models.Index(fields=["name", "id"], name="service_name"),
            models.Index(fields=["code"], name="service_code"),
        ]
        constraints = [
            *CrmRecord.Meta.constraints,
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="service_unit_price_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name


class ServiceTax(TaxRow):
    """A tax class of a service: this tax applies to it (at `percent`)."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="taxes")

    objects: ClassVar[models.Manager[Any]] = models.Manager()

    class Meta(TaxRow.Meta):
        constraints = [models.UniqueConstraint(fields=["service", "tax"], name="service_tax_unique")]
